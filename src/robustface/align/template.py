"""The ArcFace 112×112 five-point template and the similarity transform onto it
(the same estimate as insightface's `norm_crop`: Umeyama least squares, no reflection)."""
from __future__ import annotations

import cv2
import numpy as np

ARCFACE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)


def template(size: int) -> np.ndarray:
    """The ArcFace template scaled to a `size`×`size` crop (128/256 keep the same framing)."""
    return ARCFACE_112 * (size / 112.0)


def umeyama_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2×3 similarity (rotation, uniform scale, translation) mapping src points onto dst."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1] = -1
    rot = u @ np.diag(sign) @ vt
    scale = (sig * sign).sum() / s.var(0).sum()
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def alignment_matrix(points5: np.ndarray, size: int) -> np.ndarray:
    return umeyama_similarity(points5, template(size))


def warp(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    points = np.asarray(points, np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def five_from_68(landmarks68: np.ndarray) -> np.ndarray:
    """Eye centres (image-left first), nose tip, mouth corners: the template's point order."""
    lm = np.asarray(landmarks68, np.float64)
    return np.stack([lm[36:42].mean(0), lm[42:48].mean(0), lm[30], lm[48], lm[54]])
