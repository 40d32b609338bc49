"""One image in, one aligned face (or a named reject) out."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from robustface.align.boxes import Box, shape_box
from robustface.align.detect import DETECTORS, choose_face, make_detector
from robustface.align.landmarks import Dlib68
from robustface.align.quality import QualityLimits, measure, problem
from robustface.align.template import alignment_matrix, five_from_68, transform_points, warp
from robustface.config_schema import schema_defaults

MIN_IMAGE_PX = 32
_ALIGN = schema_defaults("align")
DEFAULT_DETECTORS = tuple(_ALIGN["detectors"])


class Reject(Exception):
    """A named, recorded reason why an input yields no aligned face."""

    def __init__(self, reason: str, detail: str = "", chain: bool = False, keypoints: np.ndarray | None = None):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.chain = chain  # True: the image decoded but no detector of the chain gave a good face
        self.keypoints = keypoints  # a chain member's eye keypoints, for a later box (median box) there


@dataclass
class AlignedFace:
    image: np.ndarray  # (S, S, 3) uint8 RGB on the ArcFace template
    landmarks: np.ndarray  # (68, 2) float32, aligned coordinates
    landmarks5: np.ndarray  # (5, 2) float32, aligned coordinates
    box: tuple[float, float, float, float]  # box given to the 68-point predictor (HOG convention), source pixels
    score: float
    yaw: float
    roll: float
    detector: str = ""  # chain member (or `median_box`) that produced the face
    image_shape: tuple[int, int] = (0, 0)  # decoded source image (h, w)
    source_mode: str = "RGB"
    notes: list[str] = field(default_factory=list)


# Images above this many pixels (from the header, before decoding) are `image_too_large`.
# 64 MP = 8000 x 8000: above every camera's usual output; decoding a PNG/TIFF that size takes ~200 MB.
DEFAULT_MAX_IMAGE_PX = int(_ALIGN["max_image_px"])


def load_rgb(path: str | Path, max_side: int = 0, max_pixels: int = DEFAULT_MAX_IMAGE_PX) -> tuple[np.ndarray, str]:
    """Decode any PIL-readable image to RGB uint8, upright: the EXIF orientation tag is applied.
    Grey, palette, CMYK, 16-bit and alpha inputs are converted (alpha is dropped).

    Memory stays bounded: an image whose header says more than `max_pixels` pixels (0 = PIL's own
    decompression-bomb limit only) is rejected as `image_too_large` before any pixel is decoded.
    `max_side` > 0: a larger image is decoded at a reduced scale whose longer side stays >= max_side
    (and < 2 max_side): JPEGs through libjpeg's DCT scaling (PIL `draft`, 1/2 .. 1/8) without a
    full-size decode, other formats by an integer box reduction after decoding."""
    path = Path(path)
    if not path.exists():
        raise Reject("missing_file", str(path))
    if path.stat().st_size == 0:
        raise Reject("empty_file", str(path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # `max_pixels` is the policy
            with Image.open(path) as im:
                if max_pixels and im.width * im.height > max_pixels:
                    raise Reject("image_too_large", f"{im.width}x{im.height} = {im.width * im.height} px > "
                                                    f"align.max_image_px = {max_pixels}")
                mode = im.mode
                im.draft("RGB", _draft_size(im.width, im.height, max_side))
                im = _reduce(_upright(im), max_side)
                if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                    arr = np.asarray(im, dtype=np.float64)
                    arr = (255 * (arr - arr.min()) / max(arr.max() - arr.min(), 1)).astype(np.uint8)
                    rgb = np.repeat(arr[..., None], 3, axis=2)
                else:
                    rgb = np.asarray(im if im.mode == "RGB" else im.convert("RGB"))  # RGB: no extra copy
    except Image.DecompressionBombError as exc:
        raise Reject("image_too_large", f"{path}: {exc}") from None
    except UnidentifiedImageError:
        raise Reject("not_an_image", str(path)) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise Reject("unreadable_image", f"{path}: {exc}") from None
    if min(rgb.shape[:2]) < MIN_IMAGE_PX:
        raise Reject("image_too_small", f"{rgb.shape[1]}x{rgb.shape[0]} < {MIN_IMAGE_PX}px")
    return np.ascontiguousarray(rgb), mode


def _draft_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    if max_side <= 0 or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, int(np.ceil(width * scale))), max(1, int(np.ceil(height * scale)))


def _reduce(im: Image.Image, max_side: int) -> Image.Image:
    """Integer box reduction of a decoded image to a longer side in [max_side, 2 max_side)."""
    factor = max(im.width, im.height) // max_side if max_side > 0 else 1
    if factor < 2:
        return im
    if im.mode.startswith("I;16"):
        im = im.convert("I")  # keeps the 16-bit values (reduce has no I;16 mode)
    elif im.mode not in ("L", "LA", "RGB", "RGBA", "CMYK", "YCbCr", "I", "F"):
        im = im.convert("RGB")  # palette, 1-bit
    return im.reduce(factor)


EXIF_ORIENTATION = 0x0112


def _upright(im: Image.Image) -> Image.Image:
    """The image as it is meant to be seen: the EXIF orientation (phone photos, rotated scans) applied."""
    try:
        orientation = im.getexif().get(EXIF_ORIENTATION, 1)
    except Exception:  # a malformed EXIF block: the pixels are still usable as stored
        return im
    return ImageOps.exif_transpose(im) if orientation in (2, 3, 4, 5, 6, 7, 8) else im


class FaceAligner:
    """Detector chain -> face nearest the centre -> box in the predictor's convention -> 68 points
    -> quality check -> similarity warp onto the ArcFace template. A detector that finds nothing,
    or whose face fails the quality check, hands over to the next one of `detectors`."""

    # defaults: the config schema's `align` section, except max_decode_px (the schema's 1024 comes
    # through aligner_from_params; a FaceAligner made directly decodes at full size)
    def __init__(self, detectors: list[str] | tuple[str, ...] | None = None, hr_size: int = _ALIGN["hr_size"],
                 min_face_px: int = _ALIGN["min_face_px"], max_yaw_deg: float = float(_ALIGN["max_yaw_deg"]),
                 max_roll_deg: float = float(_ALIGN["max_roll_deg"]), max_decode_px: int = 0,
                 detector: str | None = None, convert_boxes: bool = True, max_image_px: int = DEFAULT_MAX_IMAGE_PX):
        if detectors is None:
            detectors = [detector] if detector else list(DEFAULT_DETECTORS)
        if not detectors:
            raise ValueError("align.detectors is empty: name at least one detector")
        unknown = [name for name in detectors if name not in DETECTORS]
        if unknown:
            raise ValueError(f"unknown detector(s) {unknown}; choose from {sorted(DETECTORS)}")
        self.detector_names = list(detectors)
        self._detectors: dict = {}
        self._detector(self.detector_names[0])  # load the first one now: fail early on a missing model
        self.landmarker = Dlib68()
        self.hr_size = hr_size
        self.min_face_px = min_face_px
        self.limits = QualityLimits(max_yaw_deg=max_yaw_deg, max_roll_deg=max_roll_deg)
        self.max_decode_px = max_decode_px
        self.max_image_px = max_image_px
        self.convert_boxes = convert_boxes

    def load_detectors(self, names: list[str] | None = None) -> None:
        """Load detector models now (they load lazily, on first use, otherwise)."""
        for name in names or self.detector_names:
            self._detector(name)

    def _detector(self, name: str):
        if name not in self._detectors:
            self._detectors[name] = make_detector(name)
        return self._detectors[name]

    def close(self) -> None:
        for detector in self._detectors.values():
            detector.close()
        self._detectors = {}

    def __enter__(self) -> "FaceAligner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def load(self, path: str | Path) -> tuple[np.ndarray, str]:
        return load_rgb(path, self.max_decode_px, self.max_image_px)

    def align_path(self, path: str | Path) -> AlignedFace:
        rgb, mode = self.load(path)
        return with_source_mode(self.align_image(rgb), mode)

    def align_image(self, rgb: np.ndarray) -> AlignedFace:
        failures: list[tuple[str, str, str]] = []
        seen_eyes = None  # eye keypoints of an earlier member (BlazeFace): members without any are checked against them
        for name in self.detector_names:
            detections = self._detector(name).detect(rgb)
            if not detections:
                failures.append((name, "no_face", ""))
                continue
            chosen, note = choose_face(detections, rgb.shape)
            if chosen.keypoints is not None:
                seen_eyes = chosen.keypoints
            if min(chosen.box[2], chosen.box[3]) < self.min_face_px:
                failures.append((name, "face_too_small", f"box {chosen.box[2]:.0f}x{chosen.box[3]:.0f} < {self.min_face_px}px"))
                continue
            box = shape_box(name, chosen) if self.convert_boxes else chosen.box
            keypoints = chosen.keypoints if chosen.keypoints is not None else eyes_in_box(seen_eyes, box)
            try:
                face = self.align_box(rgb, box, name, chosen.score, keypoints)
            except Reject as r:
                failures.append((name, r.reason, r.detail))
                continue
            face.notes = ([note] if note else []) + [_retry_note(failures)] * bool(failures)
            return face
        raise chain_reject(failures, seen_eyes)

    def align_box(self, rgb: np.ndarray, box: Box, detector: str, score: float = 0.0,
                  keypoints: np.ndarray | None = None) -> AlignedFace:
        """68 points from a box in the predictor's convention, quality check (against the detector's
        eye keypoints too, when it gives them), warp."""
        lm68 = self.landmarker.predict(rgb, box)
        quality = measure(lm68, box, rgb, keypoints)
        failed = problem(quality, self.limits)
        if failed:
            raise Reject(*failed)
        five = five_from_68(lm68)
        matrix = alignment_matrix(five, self.hr_size)
        aligned = warp(rgb, matrix, self.hr_size)
        return AlignedFace(
            image=aligned,
            landmarks=transform_points(lm68, matrix).astype(np.float32),
            landmarks5=transform_points(five, matrix).astype(np.float32),
            box=tuple(float(v) for v in box),
            score=score,
            yaw=quality.yaw,
            roll=quality.roll,
            detector=detector,
            image_shape=(int(rgb.shape[0]), int(rgb.shape[1])),
        )


def with_source_mode(face: AlignedFace, mode: str) -> AlignedFace:
    face.source_mode = mode
    if mode != "RGB":
        face.notes.append(f"converted from {mode}")
    return face


def _retry_note(failures: list[tuple[str, str, str]]) -> str:
    return "retried after " + ", ".join(f"{name}: {reason}" for name, reason, _ in failures)


def eyes_in_box(keypoints: np.ndarray | None, box: Box) -> np.ndarray | None:
    """The keypoints when both eyes (rows 0, 1) lie inside `box` (the same face), else None."""
    if keypoints is None:
        return None
    x, y, w, h = box
    eyes = np.asarray(keypoints)[:2]
    inside = (eyes[:, 0] >= x) & (eyes[:, 0] <= x + w) & (eyes[:, 1] >= y) & (eyes[:, 1] <= y + h)
    return keypoints if inside.all() else None


def chain_reject(failures: list[tuple[str, str, str]], keypoints: np.ndarray | None = None) -> Reject:
    """One named reject for a chain where every member failed: the first reason other than
    `no_face` (a found face that failed a check says more than detectors that found nothing),
    with every member's outcome in the detail."""
    found = [f for f in failures if f[1] != "no_face"]
    reason = found[0][1] if found else "no_face"
    detail = "; ".join(f"{name}: {reason_}" + (f" ({detail})" if detail else "") for name, reason_, detail in failures)
    return Reject(reason, detail, chain=True, keypoints=keypoints)
