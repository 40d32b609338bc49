"""Landmark-driven synthetic occlusion of aligned faces (masks, glasses, scarves, hands, ...).

Names load on first use (PEP 562): importing one submodule does not load cv2 for the rest.
"""
from robustface.lazy import lazy_getattr

_EXPORTS = {
    "Occluded": "core", "OcclusionReject": "core", "Occluder": "core", "composite": "core",
    "face_seed": "core", "occluded_fraction": "core", "RENDERERS": "renderers",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
