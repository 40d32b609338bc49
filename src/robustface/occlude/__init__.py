"""Landmark-driven synthetic occlusion of aligned faces (masks, glasses, scarves, hands, ...).

Names load on first use (PEP 562): importing one submodule does not load cv2 for the rest.
"""
from importlib import import_module

_EXPORTS = {
    "Occluded": "core", "OcclusionReject": "core", "Occluder": "core", "composite": "core",
    "face_seed": "core", "occluded_fraction": "core", "RENDERERS": "renderers",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
