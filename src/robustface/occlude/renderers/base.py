"""What every occluder renderer shares: the render context, a layer painter, parameter handling."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Callable, Mapping

import cv2
import numpy as np

from robustface.occlude.geometry import FaceFrame, draw_polyline, fill_polygon

# Keys every type accepts: the jitter of the occluder's placement (deterministic per face seed).
COMMON_DEFAULTS: dict[str, Any] = {
    "kind": None,  # renderer name; defaults to the type name
    "enabled": True,  # read by the workflow (which types run); ignored when rendering
    "scale_jitter": 0.05,  # relative
    "rotation_jitter_deg": 3.0,
    "shift_jitter": 0.03,  # inter-ocular units
    "color_jitter": 0.08,  # relative brightness / per-channel
}


@dataclass
class RenderContext:
    face: np.ndarray  # (S, S, 3) uint8, the aligned face being occluded
    frame: FaceFrame  # geometry from the (jittered) landmarks
    rng: np.random.Generator
    params: dict

    @property
    def size(self) -> int:
        return self.face.shape[0]

    @property
    def lm(self) -> np.ndarray:
        return self.frame.landmarks

    @cached_property
    def uv(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-pixel face-frame coordinates (inter-ocular units from the eye midpoint):
        textures drawn in (u, v) rotate and scale with the face."""
        xs, ys = _pixel_grid(self.size)
        f = self.frame
        dx, dy = xs - f.eye_mid[0], ys - f.eye_mid[1]
        u = (dx * f.x_axis[0] + dy * f.x_axis[1]) / f.iod
        v = (dx * f.y_axis[0] + dy * f.y_axis[1]) / f.iod
        return u.astype(np.float32), v.astype(np.float32)

    def value(self, key: str) -> float:
        """A scalar parameter, or a uniform draw when it is given as [low, high]."""
        return sample_value(self.rng, self.params[key], key)

    def colour(self, key: str) -> np.ndarray:
        """One colour (0..1 float RGB) drawn from the parameter's list of [r, g, b] (0..255), jittered."""
        colours = np.asarray(self.params[key], np.float32).reshape(-1, 3)
        base = colours[self.rng.integers(len(colours))] / 255.0
        j = float(self.params.get("color_jitter", 0.0))
        scale = 1.0 + self.rng.uniform(-j, j) + self.rng.uniform(-j / 3, j / 3, size=3)
        return np.clip(base * scale, 0.0, 1.0).astype(np.float32)

    def choice(self, key: str):
        options = self.params[key]
        if isinstance(options, str):
            return options
        return options[int(self.rng.integers(len(options)))]


@lru_cache(maxsize=8)
def _pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    xs.flags.writeable = ys.flags.writeable = False
    return xs, ys


def sample_value(rng: np.random.Generator, spec, key: str = "value") -> float:
    if isinstance(spec, (int, float)):
        return float(spec)
    if isinstance(spec, (list, tuple)) and len(spec) == 2:
        lo, hi = float(spec[0]), float(spec[1])
        if hi < lo:
            raise ValueError(f"parameter {key!r}: range [{lo}, {hi}] has high < low")
        return float(rng.uniform(lo, hi))
    raise ValueError(f"parameter {key!r} must be a number or [low, high], got {spec!r}")


class Painter:
    """Stacks opaque-or-translucent parts back to front ("over" compositing, premultiplied),
    giving the occluder's colour and its alpha."""

    def __init__(self, size: int):
        self.size = size
        self.premult = np.zeros((size, size, 3), np.float32)
        self.alpha = np.zeros((size, size), np.float32)

    def coverage(self) -> np.ndarray:
        return np.zeros((self.size, self.size), np.uint8)

    def box(self, points: np.ndarray, pad: float = 2.0) -> tuple[slice, slice]:
        """The window of the canvas that `points` (+pad) can touch; painting only there is
        what keeps rendering well under a millisecond per part."""
        lo = np.floor(points.min(0) - pad).astype(int)
        hi = np.ceil(points.max(0) + pad).astype(int) + 1
        x0, y0 = np.clip(lo, 0, self.size)
        x1, y1 = np.clip(hi, 0, self.size)
        return slice(y0, y1), slice(x0, x1)

    def over(self, coverage: np.ndarray, colour, opacity: float | np.ndarray = 1.0, window: tuple[slice, slice] | None = None) -> None:
        """Paint `colour` (RGB 0..1, or an (S,S,3) image) where `coverage` (uint8 0..255 or float 0..1) is set."""
        win = window or (slice(None), slice(None))
        cov = coverage[win]
        if cov.size == 0:
            return
        a = cov.astype(np.float32) * (1.0 / 255.0) if cov.dtype == np.uint8 else cov.astype(np.float32)
        if isinstance(opacity, np.ndarray):
            opacity = opacity[win]
        a = a * opacity
        colour = np.asarray(colour, np.float32)
        if colour.ndim == 3:
            colour = colour[win]
        a3 = a[..., None]
        premult = self.premult[win]
        premult *= 1.0 - a3
        premult += colour * a3
        alpha = self.alpha[win]
        alpha *= 1.0 - a
        alpha += a

    def polygon(self, points: np.ndarray, colour, opacity: float = 1.0) -> np.ndarray:
        cov = fill_polygon(self.coverage(), points, 255)
        self.over(cov, colour, opacity, self.box(points))
        return cov

    def polyline(self, points: np.ndarray | list[np.ndarray], colour, thickness: float, opacity: float = 1.0, closed: bool = False,
                 clip: np.ndarray | None = None) -> None:
        """One polyline, or a list of them painted together (one compositing pass)."""
        cov = draw_polyline(self.coverage(), points, 255, thickness, closed)
        window = self.box(np.concatenate(points) if isinstance(points, list) else points, thickness / 2 + 2)
        if clip is not None:
            cov = cov.astype(np.float32) * (1.0 / 255.0)
            cov[window] *= clip[window].astype(np.float32) * (1.0 / 255.0) if clip.dtype == np.uint8 else clip[window]
        self.over(cov, colour, opacity, window)

    def shade(self, factor: np.ndarray) -> None:
        """Multiply the colour painted so far by a per-pixel factor (lighting)."""
        self.premult *= factor[..., None].astype(np.float32)

    def layer(self) -> tuple[np.ndarray, np.ndarray]:
        rgb = self.premult / np.maximum(self.alpha, 1e-6)[..., None]
        return np.clip(rgb, 0.0, 1.0), np.clip(self.alpha, 0.0, 1.0)


def edge_shading(coverage: np.ndarray, iod: float, depth: float = 0.15) -> np.ndarray:
    """1 inside, falling to 1-depth at the edges of `coverage`: a cheap rounded-volume look."""
    sigma = max(0.5, 0.08 * iod)
    blurred = cv2.GaussianBlur(coverage.astype(np.float32) / 255.0, (0, 0), sigma)
    return (1.0 - depth) + depth * np.clip(2.0 * blurred - 0.5, 0.0, 1.0)


@dataclass(frozen=True)
class Renderer:
    name: str
    draw: Callable[[RenderContext], tuple[np.ndarray, np.ndarray]]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    category: str = ""
    choices: Mapping[str, tuple] = field(default_factory=dict)  # list-valued key -> allowed members

    def resolve_params(self, params: Mapping[str, Any] | None) -> dict:
        """Defaults overlaid with `params`; unknown keys are an error (they would be silently ignored)."""
        allowed = {**COMMON_DEFAULTS, **self.defaults}
        unknown = sorted(set(params or {}) - set(allowed))
        if unknown:
            raise ValueError(f"occluder {self.name!r}: unknown parameter(s) {unknown}; allowed: {sorted(allowed)}")
        resolved = {**allowed, **(params or {})}
        for key, options in self.choices.items():
            values = [resolved[key]] if isinstance(resolved[key], str) else list(resolved[key])
            bad = [v for v in values if v not in options]
            if bad or not values:
                raise ValueError(f"occluder {self.name!r}: {key} must be a non-empty list from {list(options)}, got {resolved[key]!r}")
        return resolved
