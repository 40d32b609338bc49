"""Crop-quality check: are the 68 landmarks a plausible face inside the box they came from?

dlib's shape predictor always returns 68 points, even from a box that holds no face or only
part of one. Measured against the box in dlib's HOG convention (square, brows to chin; see
`align.boxes`), a real face has its eye centres about 0.4 box sides apart, its landmarks spread
over about a third of a side (RMS) and centred near the box centre. Measured on 3418 LFW
DevTrain photos with HOG boxes: eye distance 0.22-0.53 (median 0.39), spread 0.27-0.46 (0.34),
centre offset <= 0.20 (0.07), |roll| <= 29 deg. The limits are wider bands around those ranges:
they catch collapsed, shifted or exploded landmark sets (wrong box, non-face), not ordinary pose
or expression.

Yaw (nose tip between the jaw ends) is checked only when `align.max_yaw_deg` < 90: on the same
photos it exceeds 60 deg on 29 three-quarter views whose 32 pairs SFace still verifies (31 right),
so a 60 deg limit lost good faces; 90 (the default) turns the profile check off. Each failure has a name; the chain
retries with the next detector and, when none passes, the image is rejected with that name.

On a featureless region (a false detection on a wall or sky) the predictor returns its mean
shape, which is geometrically perfect: the box's contrast (grey-level std on a 24 x 24 grid) is
checked first (`featureless_box`).

The predictor also fits an upright face shape onto a face lying sideways (a photo rotated 90 deg
without an EXIF orientation tag): every check above passes and the crop comes out sideways. A
detector with eye keypoints (BlazeFace) sees the real eyes, so the predicted eye centres are
compared with them (`landmarks_disagree_with_detector`): offset in inter-ocular distances (of the
keypoints) and angle between the two eye lines. On 3175 upright LFW DevTrain photos the offset
is 0.08 (median, p99 0.21) and the angle 1.7 deg (p99 7.8); on 478 of the same photos turned 90 deg
either way it is 0.95 (median, min 0.39) and 80 deg. Limits 0.6 and 40 deg reject 469/478 sideways
faces and 2/3175 upright ones (which the next detector of the chain then gets). A later member
without keypoints (dlib's detectors, which find some sideways faces too; the median box) is
checked against the eyes BlazeFace saw, when both lie inside its box.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robustface.align.landmarks import estimate_roll, estimate_yaw


@dataclass(frozen=True)
class QualityLimits:
    eye_distance: tuple[float, float] = (0.18, 0.65)  # eye-centre distance / box side
    spread: tuple[float, float] = (0.20, 0.55)  # RMS distance of the 68 points from their mean / box side
    max_offset: float = 0.30  # |landmark centroid - box centre| / box side
    max_roll_deg: float = 50.0
    max_yaw_deg: float = 90.0  # 90 = off (the estimate saturates at ±90)
    min_contrast: float = 6.0  # standard deviation of the box's grey levels (0..255)
    max_eye_offset: float = 0.6  # predicted eye centres vs the detector's eye keypoints / keypoint eye distance
    max_eye_angle_deg: float = 40.0  # angle between the predicted and the detector's eye lines


@dataclass(frozen=True)
class Quality:
    eye_distance: float
    spread: float
    offset: float
    roll: float
    yaw: float
    contrast: float = float("nan")  # NaN: not measured (no image given)
    eye_offset: float = float("nan")  # NaN: not measured (no detector keypoints)
    eye_angle: float = float("nan")


def box_contrast(rgb: np.ndarray, box: tuple[float, float, float, float], samples: int = 24) -> float:
    """Standard deviation of the mean of R, G, B over a samples x samples grid inside the box
    (clipped to the image); 0 for a box outside it."""
    x, y, w, h = box
    ih, iw = rgb.shape[:2]
    xs = np.clip(np.linspace(x, x + w, samples), 0, iw - 1).astype(int)
    ys = np.clip(np.linspace(y, y + h, samples), 0, ih - 1).astype(int)
    grid = rgb[np.ix_(ys, xs)].astype(np.float32).mean(-1)
    return float(grid.std())


def eye_agreement(landmarks68: np.ndarray, keypoints: np.ndarray) -> tuple[float, float]:
    """(offset, angle in degrees) between the predicted eye centres (points 36-41: image-left eye,
    42-47) and a detector's eye keypoints (rows 0 and 1, in the same order, as BlazeFace gives them)."""
    lm = np.asarray(landmarks68, np.float64)
    kp = np.asarray(keypoints, np.float64)[:2]
    eyes = np.stack([lm[36:42].mean(0), lm[42:48].mean(0)])
    span = max(float(np.linalg.norm(kp[1] - kp[0])), 1e-6)
    offset = float(np.linalg.norm(eyes - kp, axis=1).max()) / span
    a, b = eyes[1] - eyes[0], kp[1] - kp[0]
    angle = float(np.degrees(np.arctan2(a[0] * b[1] - a[1] * b[0], a @ b)))
    return offset, abs(angle)


def measure(landmarks68: np.ndarray, box: tuple[float, float, float, float], rgb: np.ndarray | None = None,
            keypoints: np.ndarray | None = None) -> Quality:
    lm = np.asarray(landmarks68, np.float64)
    x, y, w, h = box
    side = max(float(np.sqrt(w * h)), 1e-6)
    eyes = lm[36:42].mean(0), lm[42:48].mean(0)
    centroid = lm.mean(0)
    return Quality(
        eye_distance=float(np.linalg.norm(eyes[1] - eyes[0]) / side),
        spread=float(np.sqrt(((lm - centroid) ** 2).sum(1).mean()) / side),
        offset=float(np.linalg.norm(centroid - (x + w / 2, y + h / 2)) / side),
        roll=estimate_roll(lm),
        yaw=estimate_yaw(lm),
        contrast=box_contrast(rgb, box) if rgb is not None else float("nan"),
        **(dict(zip(("eye_offset", "eye_angle"), eye_agreement(lm, keypoints))) if keypoints is not None else {}),
    )


def problem(q: Quality, limits: QualityLimits) -> tuple[str, str] | None:
    """(reason, detail) of the first failed check, or None when the landmarks are plausible."""
    if q.contrast < limits.min_contrast:  # NaN (not measured) passes
        return "featureless_box", f"grey-level std {q.contrast:.1f} in the box < {limits.min_contrast}"
    lo, hi = limits.eye_distance
    if not lo <= q.eye_distance <= hi:
        return "implausible_eye_distance", f"eye distance {q.eye_distance:.2f} box sides, outside [{lo}, {hi}]"
    lo, hi = limits.spread
    if not lo <= q.spread <= hi:
        return "implausible_landmark_spread", f"landmark spread {q.spread:.2f} box sides, outside [{lo}, {hi}]"
    if q.offset > limits.max_offset:
        return "landmarks_off_box", f"landmark centre {q.offset:.2f} box sides from the box centre > {limits.max_offset}"
    if q.eye_offset > limits.max_eye_offset or q.eye_angle > limits.max_eye_angle_deg:  # NaN passes
        return "landmarks_disagree_with_detector", (
            f"predicted eyes {q.eye_offset:.2f} eye distances from the detector's eye keypoints (limit {limits.max_eye_offset}), "
            f"eye lines {q.eye_angle:.0f} deg apart (limit {limits.max_eye_angle_deg:.0f}): a sideways face?")
    if abs(q.roll) > limits.max_roll_deg:
        return "excessive_roll", f"eye-line roll {q.roll:.0f} deg > {limits.max_roll_deg:.0f}"
    if abs(q.yaw) > limits.max_yaw_deg:
        return "profile_face", f"estimated yaw {q.yaw:.0f} deg > {limits.max_yaw_deg:.0f}"
    return None
