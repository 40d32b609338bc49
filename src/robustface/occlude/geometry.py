"""Face geometry from iBUG-68 landmarks on an aligned crop of any size S.

Everything a renderer needs is expressed in units of the inter-ocular distance and along the
eye line, so shapes scale with S and follow the head's roll; yaw is followed because the shapes
are built from the (foreshortened) landmark positions themselves.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

JAW = slice(0, 17)
BROW_LEFT, BROW_RIGHT = slice(17, 22), slice(22, 27)  # image-left / image-right
NOSE_BRIDGE, NOSE_BOTTOM = slice(27, 31), slice(31, 36)
EYE_LEFT, EYE_RIGHT = slice(36, 42), slice(42, 48)
MOUTH_OUTER, MOUTH = slice(48, 60), slice(48, 68)
CHIN = 8
NOSE_TIP = 30
NOSE_BASE = 33

# Mean iBUG-68 shape of ~260 LFW faces aligned on the ArcFace 112 template (this project's
# align stage). Used by the benchmark and by tests that need a plausible face without dlib.
MEAN_SHAPE_112 = np.array([
    [15.1, 53.7], [15.7, 64.6], [16.8, 75.4], [18.7, 86.0], [22.4, 96.1], [28.5, 104.9], [36.4, 112.4],
    [45.7, 118.2], [56.2, 119.9], [66.9, 118.2], [76.2, 112.5], [84.2, 105.3], [90.4, 96.3], [94.2, 86.2],
    [96.1, 75.4], [97.2, 64.3], [97.7, 53.3], [23.5, 46.2], [28.2, 41.4], [35.1, 39.9], [42.3, 40.7],
    [49.1, 43.4], [62.3, 43.3], [69.2, 40.5], [76.5, 39.6], [83.4, 41.2], [88.3, 46.0], [55.8, 51.3],
    [55.8, 58.2], [55.8, 65.0], [55.8, 72.1], [47.8, 76.8], [51.7, 78.3], [55.9, 79.6], [60.2, 78.3],
    [64.1, 76.8], [31.7, 52.9], [35.9, 50.6], [40.9, 50.6], [45.3, 53.5], [40.7, 54.4], [35.8, 54.4],
    [66.5, 53.4], [70.9, 50.5], [75.9, 50.5], [80.1, 52.8], [76.1, 54.3], [71.2, 54.3], [40.5, 91.1],
    [46.1, 88.2], [51.7, 86.9], [56.0, 87.8], [60.4, 87.0], [66.2, 88.2], [72.0, 91.0], [66.4, 96.3],
    [60.7, 98.6], [56.1, 99.0], [51.5, 98.5], [45.8, 96.3], [42.9, 91.2], [51.7, 90.1], [56.1, 90.5],
    [60.4, 90.1], [69.5, 91.2], [60.5, 93.6], [56.0, 94.1], [51.6, 93.6],
], dtype=np.float32)

AA_SHIFT = 4  # cv2 sub-pixel bits for anti-aliased drawing
AA_SCALE = 1 << AA_SHIFT


def mean_shape(size: int = 112) -> np.ndarray:
    return MEAN_SHAPE_112 * (size / 112.0)


@dataclass(frozen=True)
class FaceFrame:
    """A face's own coordinate frame: origin between the eyes, x along the eye line
    (image-left eye -> image-right eye), unit = inter-ocular distance."""

    landmarks: np.ndarray  # (68, 2) float64
    size: int
    eye_left: np.ndarray
    eye_right: np.ndarray
    iod: float
    x_axis: np.ndarray  # unit vector along the eye line
    y_axis: np.ndarray  # unit vector pointing down the face

    @classmethod
    def from_landmarks(cls, landmarks: np.ndarray, size: int) -> "FaceFrame":
        lm = np.asarray(landmarks, np.float64)
        eye_left, eye_right = lm[EYE_LEFT].mean(0), lm[EYE_RIGHT].mean(0)
        axis = eye_right - eye_left
        iod = float(np.linalg.norm(axis))
        x_axis = axis / max(iod, 1e-9)
        y_axis = np.array([-x_axis[1], x_axis[0]])
        return cls(lm, size, eye_left, eye_right, iod, x_axis, y_axis)

    @property
    def roll_deg(self) -> float:
        return float(np.degrees(np.arctan2(self.x_axis[1], self.x_axis[0])))

    @property
    def eye_mid(self) -> np.ndarray:
        return (self.eye_left + self.eye_right) / 2

    def point(self, origin: np.ndarray, u: float, v: float) -> np.ndarray:
        """origin + (u along the eye line, v down the face), in inter-ocular units."""
        return origin + self.iod * (u * self.x_axis + v * self.y_axis)

    def outward(self, points: np.ndarray, amount: float, centre: np.ndarray | None = None) -> np.ndarray:
        """Push points away from `centre` (default: nose tip) by `amount` inter-ocular units."""
        centre = self.landmarks[NOSE_TIP] if centre is None else centre
        d = points - centre
        n = np.linalg.norm(d, axis=-1, keepdims=True)
        return points + amount * self.iod * d / np.maximum(n, 1e-9)


def validate_landmarks(landmarks: np.ndarray, size: int, yaw_deg: float | None, max_yaw_deg: float) -> str | None:
    """Reason why a face must not be rendered, or None. Profile faces and broken landmarks
    would give occluders in wrong places, so they are rejected instead."""
    lm = np.asarray(landmarks, np.float64)
    if lm.shape != (68, 2):
        return f"landmarks_shape_{'x'.join(map(str, lm.shape))}"
    if not np.all(np.isfinite(lm)):
        return "missing_landmarks"
    if yaw_deg is None or not np.isfinite(yaw_deg):
        yaw_deg = estimate_yaw(lm)
    if abs(yaw_deg) > max_yaw_deg:
        return "profile_face"
    frame = FaceFrame.from_landmarks(lm, size)
    if frame.iod < 0.15 * size:
        return "degenerate_landmarks"
    core = np.concatenate([lm[EYE_LEFT], lm[EYE_RIGHT], lm[NOSE_BRIDGE], lm[MOUTH_OUTER]])
    if np.any(core < -0.1 * size) or np.any(core > 1.1 * size):
        return "landmarks_outside_crop"
    # In the face frame the eyes must be above the nose base, the nose base above the mouth.
    rel = (lm - frame.eye_mid) @ frame.y_axis
    if not (rel[NOSE_BASE] > 0.15 * frame.iod and rel[MOUTH_OUTER].mean() > rel[NOSE_BASE]):
        return "implausible_landmarks"
    return None


def estimate_yaw(landmarks: np.ndarray) -> float:
    """Yaw from the nose tip's position between the jaw ends (same estimate as the align stage)."""
    lm = np.asarray(landmarks, np.float64)
    a, b, nose = lm[0], lm[16], lm[NOSE_TIP]
    axis = b - a
    width = float(np.linalg.norm(axis))
    if width < 1e-6:
        return 90.0
    t = float(np.dot(nose - a, axis)) / width**2
    return float(np.degrees(np.arcsin(np.clip(2 * t - 1, -1.0, 1.0))))


FOREHEAD_RATIO = 1.0


def face_region(landmarks: np.ndarray, size: int) -> np.ndarray:
    """Binary (S, S) mask of the visible face: the jawline and, above the brows, a forehead one
    brow-to-nose-base distance high (the facial thirds), clipped to the crop.
    The denominator of the occluded fraction."""
    frame = FaceFrame.from_landmarks(landmarks, size)
    lm = frame.landmarks
    brows = np.concatenate([lm[BROW_RIGHT][::-1], lm[BROW_LEFT][::-1]])
    middle_third = float((lm[NOSE_BASE] - brows.mean(0)) @ frame.y_axis)
    forehead = brows - FOREHEAD_RATIO * max(middle_third, 0.0) * frame.y_axis
    polygon = np.concatenate([lm[JAW], forehead])
    region = np.zeros((size, size), np.uint8)
    fill_polygon(region, polygon, 1, antialias=False)
    return region.astype(bool)


def bezier(p0, p1, p2, n: int = 12) -> np.ndarray:
    """Quadratic Bezier from p0 to p2 with control p1, n points."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


def resample_polyline(points: np.ndarray, n: int) -> np.ndarray:
    """n points evenly spaced by arc length along a polyline."""
    points = np.asarray(points, np.float64)
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.linspace(0.0, s[-1], n)
    return np.stack([np.interp(t, s, points[:, 0]), np.interp(t, s, points[:, 1])], axis=1)


def ellipse_points(centre, half_w: float, half_h: float, angle_rad: float, n: int = 40, squareness: float = 2.0) -> np.ndarray:
    """Superellipse outline (squareness 2 = ellipse, larger = rounded rectangle), rotated."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    e = 2.0 / squareness
    x = half_w * np.sign(c) * np.abs(c) ** e
    y = half_h * np.sign(s) * np.abs(s) ** e
    ca, sa = np.cos(angle_rad), np.sin(angle_rad)
    return np.stack([centre[0] + ca * x - sa * y, centre[1] + sa * x + ca * y], axis=1)


def _fixed(points: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(points, np.float64) * AA_SCALE).astype(np.int32).reshape(-1, 1, 2)


def fill_polygon(canvas: np.ndarray, points: np.ndarray, value, antialias: bool = True) -> np.ndarray:
    cv2.fillPoly(canvas, [_fixed(points)], value, cv2.LINE_AA if antialias else cv2.LINE_8, AA_SHIFT)
    return canvas


def draw_polyline(canvas: np.ndarray, points: np.ndarray | list[np.ndarray], value, thickness: float, closed: bool = False) -> np.ndarray:
    """One polyline (N, 2) or several (a list) in one call."""
    lines = points if isinstance(points, list) else [points]
    cv2.polylines(canvas, [_fixed(p) for p in lines], closed, value, max(1, int(round(thickness))), cv2.LINE_AA, AA_SHIFT)
    return canvas


def jitter_landmarks(landmarks: np.ndarray, rng: np.random.Generator, scale: float, rotation_deg: float, shift: float) -> np.ndarray:
    """Random similarity about the face centre: scale in [1-scale, 1+scale], rotation in
    +-rotation_deg, shift up to `shift` inter-ocular units. Moves the occluder, not the face."""
    lm = np.asarray(landmarks, np.float64)
    frame = FaceFrame.from_landmarks(lm, 0)
    centre = lm[NOSE_TIP]
    s = 1.0 + rng.uniform(-scale, scale)
    a = np.radians(rng.uniform(-rotation_deg, rotation_deg))
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    t = rng.uniform(-shift, shift, size=2) * frame.iod
    return (lm - centre) @ (s * rot).T + centre + t
