"""Face detectors behind one small interface: `detect(rgb) -> list[Detection]`."""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from robustface.assets import blazeface_model


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x, y, w, h in pixels
    score: float

    @property
    def area(self) -> float:
        return self.box[2] * self.box[3]

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
        found = self._run(self._detectors[0], image)
        if not found:
            found = self._run(self._detectors[1], image)
        return found

    @staticmethod
    def _run(detector, image) -> list[Detection]:
        result = detector.detect(image)
        out = []
        for d in result.detections:
            b = d.bounding_box
            score = d.categories[0].score if d.categories else 0.0
            out.append(Detection((float(b.origin_x), float(b.origin_y), float(b.width), float(b.height)), float(score)))
        return out


def _mp_image_factory():
    import mediapipe as mp

    return lambda rgb: mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)


class DlibHogDetector:
    name = "dlib"

    def __init__(self, upsample: int = 0):
        import dlib

        self._detector = dlib.get_frontal_face_detector()
        self._upsample = upsample

    def close(self) -> None:
        pass

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        rects, scores, _ = self._detector.run(np.ascontiguousarray(rgb), self._upsample, 0.0)
        return [Detection((float(r.left()), float(r.top()), float(r.width()), float(r.height())), float(s))
                for r, s in zip(rects, scores)]


DETECTORS = {"blazeface": BlazeFaceDetector, "dlib": DlibHogDetector}


def make_detector(name: str):
    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}; choose one of {sorted(DETECTORS)}")
    return DETECTORS[name]()


def choose_face(detections: list[Detection], image_shape: tuple[int, ...]) -> tuple[Detection, str]:
    """The largest face, discounted by its distance from the image centre. Returns the chosen
    detection and a note recording the choice when there were several."""
    if len(detections) == 1:
        return detections[0], ""
    h, w = image_shape[:2]
    centre = np.array([w / 2, h / 2])
    diag = np.hypot(w, h)

    def merit(d: Detection) -> float:
        return d.area * (1.0 - np.linalg.norm(d.centre - centre) / diag)

    best = max(detections, key=merit)
    return best, f"{len(detections)} faces; kept the largest/most central at box {tuple(round(v) for v in best.box)}"
