"""Textures for occluders: procedural patterns drawn in face-frame coordinates, image textures
(e.g. insightface's mask photos, extracted from its wheel), and RGBA templates."""
from __future__ import annotations

import zipfile
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from robustface.atomic import atomic_path

PATTERNS = ("plain", "stripes", "checks", "dots", "noise")
INSIGHTFACE_MASK_TEXTURES = tuple(f"insightface/data/images/mask_{c}.jpg" for c in ("black", "blue", "green", "white"))


def procedural(kind: str, u: np.ndarray, v: np.ndarray, colours: tuple[np.ndarray, np.ndarray], rng: np.random.Generator,
               period: float = 0.25) -> np.ndarray:
    """(S, S, 3) float texture from two colours. `u`, `v` are face-frame coordinates (inter-ocular
    units) so the pattern follows head roll and scales with the face; `period` is in the same units."""
    a, b = (np.asarray(c, np.float32) for c in colours)
    freq = 2 * np.pi / period
    if kind == "plain":
        t = np.zeros_like(u)
    elif kind == "stripes":
        angle = rng.uniform(0, np.pi)
        t = (np.sin(freq * (u * np.cos(angle) + v * np.sin(angle))) > 0).astype(np.float32)
    elif kind == "checks":
        t = ((np.floor(u / period) + np.floor(v / period)) % 2).astype(np.float32)
    elif kind == "dots":
        du = (u / period) % 1.0 - 0.5
        dv = (v / period) % 1.0 - 0.5
        t = (du * du + dv * dv < 0.09).astype(np.float32)
    elif kind == "noise":
        s = u.shape[0]
        coarse = rng.random((max(2, s // 12), max(2, s // 12))).astype(np.float32)
        t = cv2.resize(coarse, (s, s), interpolation=cv2.INTER_CUBIC)
        t = np.clip((t - t.min()) / max(float(t.max() - t.min()), 1e-6), 0, 1)
    else:
        raise ValueError(f"unknown texture pattern {kind!r}; known: {PATTERNS}")
    return a * (1 - t[..., None]) + b * t[..., None]


def fabric_grain(shape: tuple[int, int], rng: np.random.Generator, strength: float = 0.04) -> np.ndarray:
    """Per-pixel multiplicative grain so flat colours do not look painted."""
    noise = rng.random(size=shape, dtype=np.float32)
    return 1.0 + np.float32(strength * 1.7) * (2.0 * noise - 1.0)  # uniform with the given std


def extract_insightface_mask_textures(wheel_path: str | Path, cache_dir: str | Path) -> dict[str, Path]:
    """Extract insightface's mask texture photos (mask_{black,blue,green,white}.jpg) from an
    insightface wheel (e.g. `pip download --no-deps insightface==2.1 -d DIR`) into `cache_dir`.
    Returns {colour: path}. Files already extracted are reused."""
    wheel_path, cache_dir = Path(wheel_path), Path(cache_dir)
    if not wheel_path.is_file():
        raise FileNotFoundError(f"insightface wheel not found: {wheel_path}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    with zipfile.ZipFile(wheel_path) as wheel:
        names = set(wheel.namelist())
        missing = [n for n in INSIGHTFACE_MASK_TEXTURES if n not in names]
        if missing:
            raise ValueError(f"{wheel_path.name} has no mask textures {missing} (insightface 2.1 wheels do)")
        for member in INSIGHTFACE_MASK_TEXTURES:
            colour = Path(member).stem.removeprefix("mask_")
            target = cache_dir / Path(member).name
            if not target.exists():
                with atomic_path(target) as tmp:
                    tmp.write_bytes(wheel.read(member))
            out[colour] = target
    return out


@lru_cache(maxsize=64)
def load_rgb_texture(path: str) -> np.ndarray:
    """A texture image as float RGB 0..1 (cached per process)."""
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileNotFoundError(f"texture image unreadable or missing: {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0


@lru_cache(maxsize=64)
def load_rgba_template(path: str) -> np.ndarray:
    """An RGBA template as float 0..1 (H, W, 4); images without alpha are opaque."""
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise FileNotFoundError(f"occluder template unreadable or missing: {path}")
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGRA)
    elif img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2BGRA)
    if img.dtype == np.uint16:
        img = (img / 257).astype(np.uint8)
    rgba = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA).astype(np.float32) / 255.0
    return rgba


def texture_in_frame(texture: np.ndarray, u: np.ndarray, v: np.ndarray, u_range: tuple[float, float], v_range: tuple[float, float]) -> np.ndarray:
    """Map a texture image onto the face-frame box u_range x v_range (stretching it)."""
    h, w = texture.shape[:2]
    map_x = ((u - u_range[0]) / (u_range[1] - u_range[0]) * (w - 1)).astype(np.float32)
    map_y = ((v - v_range[0]) / (v_range[1] - v_range[0]) * (h - 1)).astype(np.float32)
    return cv2.remap(texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
