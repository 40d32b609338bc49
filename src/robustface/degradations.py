"""Realistic degradation (`degrade.kernel: realistic`): Real-ESRGAN-style second order, per face.

Real-ESRGAN (Wang et al., 2021) degrades twice: blur -> resize -> noise -> JPEG, then again.
Its ranges are for x4 on 256 px natural-image patches; a face crop goes from 112 px to 16-64 px,
so the first order ends at an intermediate size between 1x and 2.5x the target and the second
order lands on the target. Every draw comes from a generator seeded by (seed, image_id, res):
the same face gets the same degradation in every run, shard layout and variant (clean and
occluded copies of a face are degraded alike), and training draws add the step to vary.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import cv2
import numpy as np

INTERPOLATIONS = (cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC)


@dataclass(frozen=True)
class Order:
    """Ranges of one degradation order (uniform draws)."""

    blur_prob: float
    blur_sigma: tuple[float, float]  # Gaussian sigma in pixels of the image being blurred
    noise_sigma: tuple[float, float]  # Gaussian noise, /255
    poisson_prob: float  # share of faces with Poisson (shot) noise instead of Gaussian
    poisson_scale: tuple[float, float]  # larger = more noise
    gray_noise_prob: float
    jpeg_quality: tuple[int, int]


FIRST = Order(blur_prob=1.0, blur_sigma=(0.2, 3.0), noise_sigma=(1.0, 20.0), poisson_prob=0.4,
              poisson_scale=(0.05, 2.0), gray_noise_prob=0.4, jpeg_quality=(40, 95))
SECOND = Order(blur_prob=0.8, blur_sigma=(0.2, 1.5), noise_sigma=(1.0, 15.0), poisson_prob=0.4,
               poisson_scale=(0.05, 1.5), gray_noise_prob=0.4, jpeg_quality=(50, 95))
INTERMEDIATE_SCALE = (1.0, 2.5)  # first-order output size / target size


def face_seed(seed: int, image_id: str, res: int, step: int = -1) -> np.random.Generator:
    """A generator that depends only on (seed, image_id, res[, step]), not on Python's hash salt."""
    digest = hashlib.sha256(f"{int(seed)}|{image_id}|{int(res)}|{int(step)}".encode()).digest()
    return np.random.default_rng(np.frombuffer(digest[:16], dtype=np.uint32))


def _gaussian_kernel(rng: np.random.Generator, sigma_range: tuple[float, float]) -> np.ndarray:
    """Isotropic or anisotropic (rotated) Gaussian, odd size covering 3 sigma."""
    sx = rng.uniform(*sigma_range)
    sy = sx if rng.random() < 0.5 else rng.uniform(*sigma_range)
    theta = rng.uniform(0, np.pi)
    half = int(np.ceil(3 * max(sx, sy)))
    grid = np.arange(-half, half + 1, dtype=np.float64)
    xx, yy = np.meshgrid(grid, grid)
    c, s = np.cos(theta), np.sin(theta)
    u, v = c * xx + s * yy, -s * xx + c * yy
    kernel = np.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2))
    return (kernel / kernel.sum()).astype(np.float32)


def _noise(img: np.ndarray, rng: np.random.Generator, order: Order) -> np.ndarray:
    gray = rng.random() < order.gray_noise_prob
    if rng.random() < order.poisson_prob:
        scale = rng.uniform(*order.poisson_scale)
        peak = 255.0 / scale  # photons per unit intensity: a larger scale means fewer, noisier counts
        base = img.mean(axis=2, keepdims=True) if gray else img
        noise = rng.poisson(np.clip(base, 0, 1) * peak) / peak - np.clip(base, 0, 1)
    else:
        sigma = rng.uniform(*order.noise_sigma) / 255.0
        shape = (*img.shape[:2], 1) if gray else img.shape
        noise = rng.normal(0.0, sigma, shape)
    return np.clip(img + noise.astype(np.float32), 0.0, 1.0)


def _jpeg(img: np.ndarray, rng: np.random.Generator, order: Order) -> np.ndarray:
    quality = int(rng.integers(order.jpeg_quality[0], order.jpeg_quality[1] + 1))
    bgr = cv2.cvtColor((img * 255.0).round().astype(np.uint8), cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".jpg", bgr, [int(cv2.IMWRITE_JPEG_QUALITY), quality])
    if not ok:
        raise RuntimeError(f"JPEG encoding failed for a {img.shape} image")
    return cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


def _order(img: np.ndarray, size: int, rng: np.random.Generator, order: Order) -> np.ndarray:
    if rng.random() < order.blur_prob:
        img = cv2.filter2D(img, -1, _gaussian_kernel(rng, order.blur_sigma), borderType=cv2.BORDER_REFLECT_101)
    if img.shape[0] != size:
        img = cv2.resize(img, (size, size), interpolation=INTERPOLATIONS[int(rng.integers(len(INTERPOLATIONS)))])
    return _jpeg(_noise(np.clip(img, 0.0, 1.0), rng, order), rng, order)


def realistic_degrade(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 (H, W, 3) HR face -> uint8 (size, size, 3) after two degradation orders."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 (H, W, 3) image, got {image.dtype} {image.shape}")
    if size >= min(image.shape[:2]):
        raise ValueError(f"target size {size} must be below the image size {image.shape[:2]}")
    middle = int(round(size * rng.uniform(*INTERMEDIATE_SCALE)))
    middle = min(max(middle, size), min(image.shape[:2]))
    img = _order(image.astype(np.float32) / 255.0, middle, rng, FIRST)
    img = _order(img, size, rng, SECOND)
    return (img * 255.0).round().clip(0, 255).astype(np.uint8)
