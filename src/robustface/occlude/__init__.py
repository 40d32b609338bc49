"""Landmark-driven synthetic occlusion of aligned faces (masks, glasses, scarves, hands, ...)."""
from robustface.occlude.core import Occluded, OcclusionReject, Occluder, composite, face_seed, occluded_fraction
from robustface.occlude.renderers import RENDERERS

__all__ = ["Occluded", "OcclusionReject", "Occluder", "RENDERERS", "composite", "face_seed", "occluded_fraction"]
