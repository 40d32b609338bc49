"""Boxes for dlib's 68-point shape predictor, in the convention it was trained on.

The predictor was trained on dlib HOG detector boxes (square, from the brows to the chin); its
cascade starts from the mean shape placed in that box, so a box framed differently (BlazeFace's
box sits lower and is framed on the whole head) starts it off the face, and on hard images it
converges to a shifted or squashed shape. Every detector's box is therefore converted to a
HOG-convention box before the predictor sees it:

- `dlib_hog*`: unchanged.
- `blazeface`: from its keypoints (eye centres e1, e2, mouth centre m; e = (e1 + e2) / 2,
  v = m - e, v⊥ = (-v_y, v_x)): centre = e + 0.404 v + 0.086 v⊥, side = 0.962 |v| + 1.376 |e2 - e1|.
  Fitted by least squares to the HOG (upsample 1) boxes of the same faces on 3416 LFW DevTrain
  photos: centre error median 0.048 sides (the raw BlazeFace box: 0.098, p95 0.20, i.e. ~20 px
  on LFW), side error 8.7 %. Without keypoints the box is shifted by (-0.031, -0.053) of its width.
- `dlib_mmod`: the MMOD CNN box is framed higher-left and tighter than HOG's: centre shifted by
  (+0.055, +0.082) MMOD widths, side x 1.09 (medians over 32 LFW photos; spread 0.07 widths, 9 %).
- `median_box`: already in the HOG convention (it is a median of converted boxes).
"""
from __future__ import annotations

import numpy as np

from robustface.align.detect import Detection

Box = tuple[float, float, float, float]

# BlazeFace keypoints -> HOG box (see module docstring)
KP_ALONG, KP_ACROSS = 0.404, 0.086
KP_SIDE_EYE_MOUTH, KP_SIDE_EYES = 0.962, 1.376
BLAZE_BOX_SHIFT = (-0.031, -0.053)
# MMOD box -> HOG box: centre shift in MMOD widths, side scale
MMOD_TO_HOG = {"shift": (0.055, 0.082), "scale": 1.09}


def square(centre: np.ndarray, side: float) -> Box:
    return (float(centre[0] - side / 2), float(centre[1] - side / 2), float(side), float(side))


def from_blazeface_keypoints(keypoints: np.ndarray) -> Box:
    kp = np.asarray(keypoints, np.float64)
    eyes = kp[:2].mean(0)
    v = kp[3] - eyes
    across = np.array([-v[1], v[0]])
    centre = eyes + KP_ALONG * v + KP_ACROSS * across
    side = KP_SIDE_EYE_MOUTH * np.linalg.norm(v) + KP_SIDE_EYES * np.linalg.norm(kp[1] - kp[0])
    return square(centre, side)


def shifted(box: Box, shift: tuple[float, float], scale: float = 1.0) -> Box:
    x, y, w, h = box
    centre = np.array([x + w / 2, y + h / 2]) + np.array(shift) * w
    return square(centre, scale * np.sqrt(w * h))


def shape_box(detector: str, det: Detection) -> Box:
    """The detection's box in the HOG convention the 68-point predictor expects."""
    if detector == "blazeface":
        if det.keypoints is not None and len(det.keypoints) >= 4:
            return from_blazeface_keypoints(det.keypoints)
        return shifted(det.box, BLAZE_BOX_SHIFT)
    if detector == "dlib_mmod":
        return shifted(det.box, MMOD_TO_HOG["shift"], MMOD_TO_HOG["scale"])
    return det.box


def median_box(boxes: list[Box], max_spread: float = 0.1) -> Box | None:
    """The median of boxes (HOG convention) seen in images of one size, or None when they are
    not consistent (median distance of their centres from the median centre above `max_spread`
    median sides): only where faces sit at one place in same-size images (pre-cropped face
    datasets such as LFW) is that place a sound guess for an image where no detector fired."""
    if not boxes:
        return None
    b = np.asarray(boxes, np.float64)
    centres = b[:, :2] + b[:, 2:] / 2
    side = float(np.median(np.sqrt(b[:, 2] * b[:, 3])))
    centre = np.median(centres, axis=0)
    if np.median(np.linalg.norm(centres - centre, axis=1)) > max_spread * side:
        return None
    return square(centre, side)
