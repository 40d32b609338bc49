"""PSNR and SSIM between super-resolved (SR) and high-resolution (HR) faces.

Convention (the one most face-SR papers report, basicsr's ``test_y_channel=True``):

* Both images are uint8 RGB, same size. They are converted to the luma channel Y of
  ITU-R BT.601 YCbCr, "studio swing": ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255``
  with R, G, B in [0, 255], so Y lies in [16, 235] (basicsr ``rgb2ycbcr(y_only=True)``,
  MATLAB ``rgb2ycbcr``). Y is kept as float (not rounded).
* No border is cropped (``crop_border=0``); data range 255.
* ``psnr_y = 10 log10(255^2 / MSE(Y_sr, Y_hr))``. Identical images (MSE = 0) have an
  infinite PSNR; we report it as ``PSNR_CAP_DB`` = 100 dB so that means stay finite.
* ``ssim_y``: Wang et al. (2004) SSIM with an 11x11 Gaussian window, sigma 1.5,
  K1 = 0.01, K2 = 0.03, L = 255, statistics over the "valid" region only (no padding),
  averaged over the map - exactly basicsr's ``calculate_ssim``.
* ``psnr_rgb``: PSNR over all three RGB channels together (one MSE over every pixel and
  channel), the same cap.

All functions take batches ``(N, H, W, 3)`` (or a single ``(H, W, 3)`` image) and return
float64 arrays of shape ``(N,)``. PSNR is vectorised over the batch; SSIM loops over images
with OpenCV's filter2D (the same filter basicsr uses).
"""
from __future__ import annotations

import cv2
import numpy as np

PSNR_CAP_DB = 100.0
DATA_RANGE = 255.0
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
_Y_WEIGHTS_RGB = np.array([65.481, 128.553, 24.966]) / 255.0


def _as_batch_pair(sr: np.ndarray, hr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sr, hr = np.asarray(sr), np.asarray(hr)
    if sr.ndim == 3:
        sr = sr[None]
    if hr.ndim == 3:
        hr = hr[None]
    if sr.shape != hr.shape:
        raise ValueError(f"SR and HR batches differ in shape: {sr.shape} vs {hr.shape}")
    if sr.ndim != 4 or sr.shape[-1] != 3:
        raise ValueError(f"expected (N, H, W, 3) RGB images, got shape {sr.shape}")
    return sr, hr


def rgb_to_y(images: np.ndarray) -> np.ndarray:
    """BT.601 luma in [16, 235] of uint8 RGB images (..., 3) -> float64 (...)."""
    return np.asarray(images, dtype=np.float64) @ _Y_WEIGHTS_RGB + 16.0


def _psnr_from_mse(mse: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        psnr = 10.0 * np.log10(DATA_RANGE**2 / mse)
    return np.minimum(psnr, PSNR_CAP_DB)


def psnr_y(sr: np.ndarray, hr: np.ndarray) -> np.ndarray:
    sr, hr = _as_batch_pair(sr, hr)
    mse = ((rgb_to_y(sr) - rgb_to_y(hr)) ** 2).mean(axis=(1, 2))
    return _psnr_from_mse(mse)


def psnr_rgb(sr: np.ndarray, hr: np.ndarray) -> np.ndarray:
    sr, hr = _as_batch_pair(sr, hr)
    diff = sr.astype(np.float64) - hr.astype(np.float64)
    return _psnr_from_mse((diff**2).mean(axis=(1, 2, 3)))


def _gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    k = cv2.getGaussianKernel(size, sigma)
    return k @ k.T


def _filter_valid(x: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Gaussian filter of one float64 (H, W) image, 'valid' region only (as basicsr)."""
    pad = window.shape[0] // 2
    return cv2.filter2D(x, -1, window)[pad:-pad, pad:-pad]


def ssim_gray(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SSIM of float single-channel batches (N, H, W) in [0, 255]."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape[-1] < SSIM_WINDOW or a.shape[-2] < SSIM_WINDOW:
        raise ValueError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {a.shape[1:]}")
    c1, c2 = (0.01 * DATA_RANGE) ** 2, (0.03 * DATA_RANGE) ** 2
    window = _gaussian_window()
    out = np.empty(len(a))
    # per image: OpenCV's filter2D is ~8x faster on CPU than a batched float64 conv
    for i, (x, y) in enumerate(zip(a, b)):
        mu_x, mu_y = _filter_valid(x, window), _filter_valid(y, window)
        sigma_xx = _filter_valid(x * x, window) - mu_x**2
        sigma_yy = _filter_valid(y * y, window) - mu_y**2
        sigma_xy = _filter_valid(x * y, window) - mu_x * mu_y
        ssim_map = ((2 * mu_x * mu_y + c1) * (2 * sigma_xy + c2)) / ((mu_x**2 + mu_y**2 + c1) * (sigma_xx + sigma_yy + c2))
        out[i] = ssim_map.mean()
    return out


def ssim_y(sr: np.ndarray, hr: np.ndarray) -> np.ndarray:
    sr, hr = _as_batch_pair(sr, hr)
    return ssim_gray(rgb_to_y(sr), rgb_to_y(hr))


def image_quality(sr: np.ndarray, hr: np.ndarray) -> dict[str, np.ndarray]:
    """All per-face pixel metrics: {'psnr_y', 'ssim_y', 'psnr_rgb'} -> (N,) float64."""
    return {"psnr_y": psnr_y(sr, hr), "ssim_y": ssim_y(sr, hr), "psnr_rgb": psnr_rgb(sr, hr)}
