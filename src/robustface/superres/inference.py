"""Inference API: `load_model(name, weights_path, device)` -> SRModel with `.upscale(lr, hr_size)`."""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from .registry import ModelEntry, get_entry
from .weights import MissingWeightsError, default_weights_path, load_into, missing_weights_message, read_state_dict, sha256_file


@dataclass(frozen=True)
class TileConfig:
    size: int = 0  # LR pixels per tile side; 0 = whole face at once
    overlap: int = 10  # LR pixels of context added on each side of a tile, cropped from its output

    def __post_init__(self):
        if self.size < 0 or self.overlap < 0:
            raise ValueError(f"tile size and overlap must be >= 0, got {self.size}, {self.overlap}")


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device '{device}' requested but CUDA is not available")
    return torch.device(device)


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """Bicubic resize of an NCHW float batch to size x size (antialiased when shrinking)."""
    if images.shape[-2:] == (size, size):
        return images
    shrinking = size < max(images.shape[-2:])
    return F.interpolate(images, size=(size, size), mode="bicubic", align_corners=False, antialias=shrinking)


def tiled(forward, images: torch.Tensor, scale: int, tile: TileConfig) -> torch.Tensor:
    """Run `forward` on overlapping LR tiles and stitch the centre of each output tile."""
    n, c, h, w = images.shape
    if tile.size == 0 or (tile.size >= h and tile.size >= w):
        return forward(images)
    out = None
    for y0 in range(0, h, tile.size):
        for x0 in range(0, w, tile.size):
            y1, x1 = min(y0 + tile.size, h), min(x0 + tile.size, w)
            py0, px0 = max(y0 - tile.overlap, 0), max(x0 - tile.overlap, 0)
            py1, px1 = min(y1 + tile.overlap, h), min(x1 + tile.overlap, w)
            patch = forward(images[:, :, py0:py1, px0:px1])
            if out is None:
                out = patch.new_zeros((n, patch.shape[1], h * scale, w * scale))
            oy, ox = (y0 - py0) * scale, (x0 - px0) * scale
            out[:, :, y0 * scale:y1 * scale, x0 * scale:x1 * scale] = \
                patch[:, :, oy:oy + (y1 - y0) * scale, ox:ox + (x1 - x0) * scale]
    return out


class SRModel:
    def __init__(self, entry: ModelEntry, network: torch.nn.Module | None, device: torch.device,
                 weights_path: Path | None = None, weights_sha256: str | None = None,
                 tile: TileConfig = TileConfig(), batch_size: int = 16):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.entry = entry
        self.network = network
        self.device = device
        self.weights_path = weights_path
        self.weights_sha256 = weights_sha256
        self.tile = tile
        self.batch_size = batch_size

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def dtype(self) -> str:
        return "float16-autocast" if self.device.type == "cuda" and self.network is not None else "float32"

    def _autocast(self):
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def prepare(self, lr: np.ndarray) -> torch.Tensor:
        """uint8 NHWC faces -> the float NCHW batch the network takes, on the model's device."""
        validate_faces(lr)
        x = torch.from_numpy(np.ascontiguousarray(lr)).to(self.device).permute(0, 3, 1, 2).contiguous().float() / 255.0
        if self.entry.fixed_input_size:
            x = resize(x, self.entry.fixed_input_size).clamp(0, 1)  # bicubic overshoots
        if self.entry.signed_range:
            x = x * 2.0 - 1.0
        return x

    def network_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Network on a prepared batch: reflect-pad to the required multiple, crop the output."""
        h, w = x.shape[-2:]
        m = self.entry.pad_multiple
        pad_h, pad_w = (-h) % m, (-w) % m
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
        y = self.network(x, **self.entry.forward_kwargs)
        if isinstance(y, (tuple, list)):  # GFPGAN returns (image, intermediate rgbs)
            y = y[0]
        return y[:, :, : h * self.entry.scale, : w * self.entry.scale].float()

    @torch.no_grad()
    def _upscale_batch(self, lr: np.ndarray, hr_size: int) -> np.ndarray:
        x = self.prepare(lr)
        if self.network is None:
            y = resize(x, hr_size)
        else:
            with self._autocast():
                tile = self.tile if self.entry.tileable else TileConfig()
                y = tiled(self.network_forward, x, self.entry.scale, tile)
            if self.entry.signed_range:
                y = (y + 1.0) / 2.0
            y = resize(y, hr_size)
        return (y.clamp(0, 1) * 255.0).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()

    def upscale(self, lr: np.ndarray, hr_size: int, progress: bool = False) -> np.ndarray:
        """uint8 NHWC LR faces -> uint8 NHWC faces at hr_size x hr_size."""
        validate_faces(lr)
        if hr_size < 1:
            raise ValueError(f"hr_size must be >= 1, got {hr_size}")
        out = np.zeros((len(lr), hr_size, hr_size, 3), dtype=np.uint8)
        starts = range(0, len(lr), self.batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc=f"superres {self.name}", unit="batch")
        for start in starts:
            out[start:start + self.batch_size] = self._upscale_batch(lr[start:start + self.batch_size], hr_size)
        return out


def validate_faces(lr: np.ndarray) -> None:
    if not isinstance(lr, np.ndarray) or lr.dtype != np.uint8 or lr.ndim != 4 or lr.shape[-1] != 3:
        shape = getattr(lr, "shape", None)
        dtype = getattr(lr, "dtype", type(lr).__name__)
        raise ValueError(f"expected uint8 faces of shape (N, H, W, 3), got {dtype} {shape}")


@torch.no_grad()
def bare_forward(model: SRModel, batch: torch.Tensor) -> torch.Tensor:
    """The network alone on a batch from `model.prepare(...)` (no tiling, no resizing): for timing."""
    if model.network is None:
        raise ValueError(f"SR model '{model.name}' has no network to time")
    with model._autocast():
        return model.network_forward(batch)


def load_model(name: str, weights_path: str | os.PathLike | None = None, device: str = "auto",
               tile: TileConfig = TileConfig(), batch_size: int = 16) -> SRModel:
    """Build model `name` and load its weights (default path: $ROBUSTFACE_WEIGHTS_DIR/<official filename>).

    Raises MissingWeightsError naming the expected path, URL and sha256 when the file is absent.
    """
    entry = get_entry(name)
    torch_device = resolve_device(device)
    if entry.build is None:
        return SRModel(entry, None, torch_device, tile=tile, batch_size=batch_size)
    path = Path(weights_path) if weights_path is not None else default_weights_path(entry.weights)
    if not path.is_file():
        raise MissingWeightsError(missing_weights_message(name, entry.weights, path))
    network = entry.build()
    load_into(network, read_state_dict(path), source=str(path))
    network.eval().requires_grad_(False).to(torch_device)
    return SRModel(entry, network, torch_device, path, sha256_file(path), tile=tile, batch_size=batch_size)
