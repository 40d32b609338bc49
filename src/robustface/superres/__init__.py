"""Face super-resolution models: a registry of architectures + official weights, and one inference API.

Names load on first use (PEP 562), so the planner can read `superres.registry` without torch.
"""
from importlib import import_module

_EXPORTS = {
    "SRModel": "inference", "TileConfig": "inference", "bare_forward": "inference", "load_model": "inference",
    "MODELS": "registry", "ModelEntry": "registry", "get_entry": "registry",
    "IncompatibleWeightsError": "weights", "MissingWeightsError": "weights", "WeightSpec": "weights",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
