"""Occlude one aligned face: validate its landmarks, jitter the geometry from a per-face seed,
render the occluder layer and alpha-composite it: I_occ = a * I_obj + (1 - a) * I_face."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from robustface.config_schema import schema_default
from robustface.occlude.geometry import FaceFrame, face_region, jitter_landmarks, mean_shape, validate_landmarks
from robustface.occlude.renderers import RenderContext, get_renderer

DEFAULT_MAX_YAW_DEG = float(schema_default("occlusion.max_yaw_deg"))


class OcclusionReject(Exception):
    """A face that is not rendered, with the reason recorded in the rejects CSV."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Occluded:
    image: np.ndarray  # (S, S, 3) uint8
    mask: np.ndarray  # (S, S) uint8, the occluder's alpha 0..255
    fraction: float  # alpha-weighted fraction of the face region covered
    otype: str


def face_seed(seed: int, otype: str, image_id: str) -> int:
    """Per-face seed from (run seed, type, image id): independent of shard assignment and order."""
    digest = hashlib.sha256(f"{int(seed)}\x1f{otype}\x1f{image_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def composite(face: np.ndarray, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """uint8 face, float occluder colour (0..1) and alpha (0..1) -> uint8 composite."""
    a = np.clip(alpha, 0.0, 1.0)[..., None]
    out = a * (rgb * 255.0) + (1.0 - a) * face.astype(np.float32)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def occluded_fraction(alpha: np.ndarray, region: np.ndarray) -> float:
    n = int(region.sum())
    return float(alpha[region].sum() / n) if n else 0.0


class Occluder:
    """One configured occlusion type. Call it on (image, landmarks, image_id)."""

    def __init__(self, otype: str, params: Mapping | None = None, seed: int = 0, max_yaw_deg: float = DEFAULT_MAX_YAW_DEG):
        self.otype = otype
        self.renderer = get_renderer(otype, dict(params or {}))
        self.params = self.renderer.resolve_params(params)
        self.seed = int(seed)
        self.max_yaw_deg = float(max_yaw_deg)
        self._dry_run()

    def _dry_run(self) -> None:
        """Render once on the mean face so bad parameters fail now, not mid-shard."""
        size = 112
        ctx = RenderContext(face=np.full((size, size, 3), 128, np.uint8), frame=FaceFrame.from_landmarks(mean_shape(size), size),
                            rng=np.random.default_rng(0), params=self.params)
        self.renderer.draw(ctx)

    def __call__(self, image: np.ndarray, landmarks: np.ndarray, image_id: str, yaw: float | None = None) -> Occluded:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] != image.shape[1] or image.dtype != np.uint8:
            raise ValueError(f"expected a square uint8 RGB face (S, S, 3), got {image.dtype} {image.shape}")
        size = image.shape[0]
        reason = validate_landmarks(landmarks, size, yaw, self.max_yaw_deg)
        if reason:
            raise OcclusionReject(reason)
        rng = np.random.default_rng(face_seed(self.seed, self.otype, image_id))
        p = self.params
        moved = jitter_landmarks(landmarks, rng, float(p["scale_jitter"]), float(p["rotation_jitter_deg"]), float(p["shift_jitter"]))
        ctx = RenderContext(face=image, frame=FaceFrame.from_landmarks(moved, size), rng=rng, params=p)
        rgb, alpha = self.renderer.draw(ctx)
        out = composite(image, rgb, alpha)
        mask = np.clip(np.rint(alpha * 255.0), 0, 255).astype(np.uint8)
        fraction = occluded_fraction(mask.astype(np.float32) / 255.0, face_region(landmarks, size))
        return Occluded(out, mask, fraction, self.otype)
