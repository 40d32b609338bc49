"""Face super-resolution models: a registry of architectures + official weights, and one inference API.

Names load on first use (PEP 562), so the planner can read `superres.registry` without torch.
"""
from robustface.lazy import lazy_getattr

_EXPORTS = {
    "SRModel": "inference", "TileConfig": "inference", "bare_forward": "inference", "load_model": "inference",
    "MODELS": "registry", "ModelEntry": "registry", "get_entry": "registry",
    "IncompatibleWeightsError": "weights", "MissingWeightsError": "weights", "WeightSpec": "weights",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
