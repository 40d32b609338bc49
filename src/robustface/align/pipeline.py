"""One image in, one aligned face (or a named reject) out."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from robustface.align.detect import choose_face, make_detector
from robustface.align.landmarks import Dlib68, estimate_roll, estimate_yaw
from robustface.align.template import alignment_matrix, five_from_68, transform_points, warp

MIN_IMAGE_PX = 32


class Reject(Exception):
    """A named, recorded reason why an input yields no aligned face."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass
class AlignedFace:
    image: np.ndarray  # (S, S, 3) uint8 RGB on the ArcFace template
    landmarks: np.ndarray  # (68, 2) float32, aligned coordinates
    landmarks5: np.ndarray  # (5, 2) float32, aligned coordinates
    box: tuple[float, float, float, float]  # detection box in the source image
    score: float
    yaw: float
    roll: float
    source_mode: str = "RGB"
    notes: list[str] = field(default_factory=list)


def load_rgb(path: str | Path) -> tuple[np.ndarray, str]:
    """Decode any PIL-readable image to RGB uint8; grey, palette, CMYK, 16-bit and alpha inputs
    are converted (alpha composited on black-free white is not assumed: alpha is dropped)."""
    path = Path(path)
    if not path.exists():
        raise Reject("missing_file", str(path))
    if path.stat().st_size == 0:
        raise Reject("empty_file", str(path))
    try:
        with Image.open(path) as im:
            im.draft("RGB", (im.width, im.height))
            mode = im.mode
            if mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(im, dtype=np.float64)
                arr = (255 * (arr - arr.min()) / max(arr.max() - arr.min(), 1)).astype(np.uint8)
                rgb = np.repeat(arr[..., None], 3, axis=2)
            else:
                rgb = np.asarray(im.convert("RGB"))
    except UnidentifiedImageError:
        raise Reject("not_an_image", str(path)) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise Reject("unreadable_image", f"{path}: {exc}") from None
    if min(rgb.shape[:2]) < MIN_IMAGE_PX:
        raise Reject("image_too_small", f"{rgb.shape[1]}x{rgb.shape[0]} < {MIN_IMAGE_PX}px")
    return np.ascontiguousarray(rgb), mode


class FaceAligner:
    def __init__(self, detector: str = "blazeface", hr_size: int = 112, min_face_px: int = 24, max_yaw_deg: float = 60.0):
        self.detector = make_detector(detector)
        self.landmarker = Dlib68()
        self.hr_size = hr_size
        self.min_face_px = min_face_px
        self.max_yaw_deg = max_yaw_deg

    def close(self) -> None:
        self.detector.close()

    def __enter__(self) -> "FaceAligner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def align_path(self, path: str | Path) -> AlignedFace:
        rgb, mode = load_rgb(path)
        face = self.align_image(rgb)
        face.source_mode = mode
        if mode != "RGB":
            face.notes.append(f"converted from {mode}")
        return face

    def align_image(self, rgb: np.ndarray) -> AlignedFace:
        detections = self.detector.detect(rgb)
        if not detections:
            raise Reject("no_face")
        chosen, note = choose_face(detections, rgb.shape)
        if min(chosen.box[2], chosen.box[3]) < self.min_face_px:
            raise Reject("face_too_small", f"box {chosen.box[2]:.0f}x{chosen.box[3]:.0f} < {self.min_face_px}px")
        lm68 = self.landmarker.predict(rgb, chosen.box)
        yaw, roll = estimate_yaw(lm68), estimate_roll(lm68)
        if abs(yaw) > self.max_yaw_deg:
            raise Reject("profile_face", f"estimated yaw {yaw:.0f} deg > {self.max_yaw_deg:.0f}")
        matrix = alignment_matrix(five_from_68(lm68), self.hr_size)
        aligned = warp(rgb, matrix, self.hr_size)
        lm_aligned = transform_points(lm68, matrix).astype(np.float32)
        return AlignedFace(
            image=aligned,
            landmarks=lm_aligned,
            landmarks5=five_from_68(lm_aligned).astype(np.float32),
            box=chosen.box,
            score=chosen.score,
            yaw=yaw,
            roll=roll,
            notes=[note] if note else [],
        )
