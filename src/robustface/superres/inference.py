"""Inference API: `load_model(name, weights_path, device)` -> SRModel with `.upscale(lr, hr_size)`."""
from __future__ import annotations

import contextlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from robustface.config_schema import schema_default
from robustface.degrade import upscale_bicubic
from robustface.device import resolve_device

from . import ffhq
from .registry import ModelEntry, get_entry
from .weights import MissingWeightsError, default_weights_path, load_into, missing_weights_message, read_state_dict, sha256_file


@dataclass(frozen=True)
class TileConfig:
    size: int = 0  # LR pixels per tile side; 0 = whole face at once
    overlap: int = schema_default("superres.tile_overlap")  # LR pixels of context added on each side of a tile, cropped from its output

    def __post_init__(self):
        if self.size < 0 or self.overlap < 0:
            raise ValueError(f"tile size and overlap must be >= 0, got {self.size}, {self.overlap}")


# batch_size "auto": faces per forward so that each batch holds about this many network-input
# pixels (CUDA: 16 px -> 4096 faces, 32 px -> 1024, 64 px -> 256, a 512 px restorer -> 4; about
# 8 GB of fp16 activations for Real-ESRGAN). Big enough that a GPU is not launch-bound; a batch
# that still runs out of memory is split in halves and retried.
AUTO_BATCH_PIXELS = {"cuda": 1 << 20, "cpu": 1 << 14}
AUTO_BATCH_MAX = 4096


def auto_batch_size(entry: ModelEntry, res: int, device: torch.device) -> int:
    side = entry.fixed_input_size or res
    budget = AUTO_BATCH_PIXELS["cuda" if device.type == "cuda" else "cpu"]
    return int(min(AUTO_BATCH_MAX, max(1, budget // (side * side))))


def parse_batch_size(value) -> int | None:
    """An int >= 1, or None for "auto"."""
    if value is None or value == "auto":
        return None
    batch = int(value)
    if batch < 1:
        raise ValueError(f"batch_size must be >= 1 or 'auto', got {value!r}")
    return batch


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
                 tile: TileConfig = TileConfig(), batch_size: int | str | None = 16, hr_size: int = 112):
        self.entry = entry
        self.network = network
        self.device = device
        self.weights_path = weights_path
        self.weights_sha256 = weights_sha256
        self.tile = tile
        self.batch_size = parse_batch_size(batch_size)  # None: auto_batch_size per input resolution
        self.hr_size = hr_size  # the aligned crop size the faces are framed at (FFHQ crops need it)
        self.half = device.type == "cuda" and network is not None and entry.fp16_weights
        if self.half:
            network.half().to(memory_format=torch.channels_last)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # one input shape per job: the autotuning pays off

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def dtype(self) -> str:
        if self.device.type != "cuda" or self.network is None:
            return "float32"
        return "float16-channels_last" if self.half else "float16-autocast"

    def batch_for(self, res: int) -> int:
        return self.batch_size or auto_batch_size(self.entry, res, self.device)

    def _autocast(self):
        if self.device.type == "cuda" and not self.half:
            return torch.autocast("cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def _to_device(self, lr: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(lr))
        if self.device.type == "cuda":
            x = x.pin_memory().to(self.device, non_blocking=True)
        return x.permute(0, 3, 1, 2).float().div_(255.0)

    def prepare(self, lr: np.ndarray) -> torch.Tensor:
        """uint8 NHWC faces -> the float NCHW batch the network takes, on the model's device."""
        validate_faces(lr)
        x = self._to_device(lr).contiguous()
        if self.entry.ffhq_crop:
            x = ffhq.to_ffhq(x, self.hr_size)
        elif self.entry.fixed_input_size:
            x = resize(x, self.entry.fixed_input_size).clamp(0, 1)  # bicubic overshoots
        if self.entry.signed_range:
            x = x * 2.0 - 1.0
        if self.half:
            x = x.half().contiguous(memory_format=torch.channels_last)
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
        if self.network is None:  # the bicubic baseline: the same upscale as verification's LR faces
            validate_faces(lr)
            return upscale_bicubic(lr, hr_size)
        x = self.prepare(lr)
        with self._autocast():
            tile = self.tile if self.entry.tileable else TileConfig()
            y = tiled(self.network_forward, x, self.entry.scale, tile)
        if self.entry.signed_range:
            y = (y + 1.0) / 2.0
        if self.entry.ffhq_crop:
            bicubic = resize(self._to_device(lr), hr_size).clamp(0, 1)
            y = ffhq.from_ffhq(y.clamp(0, 1), lr.shape[1], hr_size, fallback=bicubic)
        else:
            y = resize(y, hr_size)
        return (y.clamp(0, 1) * 255.0).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()

    def _upscale_split(self, lr: np.ndarray, hr_size: int) -> np.ndarray:
        """One batch; on CUDA out-of-memory its halves (recursively), so "auto" never fails a job."""
        try:
            return self._upscale_batch(lr, hr_size)
        except torch.cuda.OutOfMemoryError:
            if len(lr) == 1:
                raise
            torch.cuda.empty_cache()
            half = (len(lr) + 1) // 2
            if self.batch_size is None or self.batch_size > half:
                self.batch_size = half  # the next batches start at a size that fits
            return np.concatenate([self._upscale_split(lr[:half], hr_size), self._upscale_split(lr[half:], hr_size)])

    def upscale(self, lr: np.ndarray, hr_size: int, progress: bool = False, out=None,
                timing: dict | None = None):
        """uint8 NHWC LR faces -> uint8 NHWC faces at hr_size x hr_size, written into `out` when
        given (an array or h5py dataset of that shape) and returned. `timing` (a dict) receives
        first_batch_s / first_batch_faces / total_s: what a job spends before its steady state."""
        validate_faces(lr)
        if hr_size < 1:
            raise ValueError(f"hr_size must be >= 1, got {hr_size}")
        if out is None:
            out = np.zeros((len(lr), hr_size, hr_size, 3), dtype=np.uint8)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(lr), desc=f"superres {self.name}", unit="face")
        t0 = time.perf_counter()
        start, pending = 0, None
        # one writer thread: batch k is written (an h5py dataset: disk) while batch k+1 computes
        with ThreadPoolExecutor(max_workers=1) as writer:
            while start < len(lr):
                stop = min(len(lr), start + self.batch_for(lr.shape[1]))
                result = self._upscale_split(lr[start:stop], hr_size)
                if pending is not None:
                    pending.result()
                pending = writer.submit(out.__setitem__, slice(start, stop), result)
                if timing is not None and start == 0:
                    timing["first_batch_s"] = time.perf_counter() - t0
                    timing["first_batch_faces"] = stop
                if bar is not None:
                    bar.update(stop - start)
                start = stop
            if pending is not None:
                pending.result()
        if bar is not None:
            bar.close()
        if timing is not None:
            timing["total_s"] = time.perf_counter() - t0
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
               tile: TileConfig = TileConfig(), batch_size: int | str | None = 16, hr_size: int = 112) -> SRModel:
    """Build model `name` and load its weights (default path: $ROBUSTFACE_WEIGHTS_DIR/<official filename>).
    batch_size "auto" (or None) picks it per input resolution (auto_batch_size); hr_size is the
    aligned crop size the LR faces were cut from (their framing, which FFHQ-crop models need).

    Raises MissingWeightsError naming the expected path, URL and sha256 when the file is absent.
    """
    entry = get_entry(name)
    torch_device = resolve_device(device)
    if entry.build is None:
        return SRModel(entry, None, torch_device, tile=tile, batch_size=batch_size, hr_size=hr_size)
    if weights_path is None and entry.weights is None:  # trained here: the checkpoint has no default place
        raise MissingWeightsError(missing_weights_message(name, None, None))
    path = Path(weights_path) if weights_path is not None else default_weights_path(entry.weights)
    if not path.is_file():
        raise MissingWeightsError(missing_weights_message(name, entry.weights, path))
    network = entry.build()
    load_into(network, read_state_dict(path), source=str(path))
    network.eval().requires_grad_(False).to(torch_device)
    return SRModel(entry, network, torch_device, path, sha256_file(path), tile=tile, batch_size=batch_size,
                   hr_size=hr_size)
