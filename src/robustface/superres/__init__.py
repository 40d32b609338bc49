"""Face super-resolution models: a registry of architectures + official weights, and one inference API."""
from .inference import SRModel, TileConfig, bare_forward, load_model
from .registry import MODELS, ModelEntry, get_entry
from .weights import IncompatibleWeightsError, MissingWeightsError, WeightSpec

__all__ = [
    "MODELS", "ModelEntry", "SRModel", "TileConfig", "WeightSpec", "IncompatibleWeightsError",
    "MissingWeightsError", "bare_forward", "get_entry", "load_model",
]
