"""Inference with a trained checkpoint: the same interface as robustface.metrics.identity
embedders (`name`, `dim`, `embed(images_uint8_NHWC) -> L2-normalised float32 (N, d)`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from robustface.device import resolve_device

from .data import to_input_size, to_model_input
from .model import FaceRecognizer, ModelSpec


def load_model(path: str | Path, device: torch.device | str = "cpu") -> tuple[FaceRecognizer, dict]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"recognition checkpoint not found: {path}")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if "model" not in checkpoint or "spec" not in checkpoint:
        raise ValueError(f"{path} is not a robustface recognition checkpoint (needs 'model' and 'spec')")
    model = FaceRecognizer(ModelSpec(**checkpoint["spec"]))
    model.load_state_dict(checkpoint["model"])
    return model.to(device, memory_format=torch.channels_last).eval(), checkpoint


def fuse_conv_bn(model: nn.Module) -> nn.Module:
    """Folds every BatchNorm2d that directly follows a Conv2d inside an nn.Sequential into that
    conv (in place; eval-mode statistics, so only for inference). Saves a memory pass per layer
    (`make bench`, section `embed`); the embeddings are the same to float rounding."""
    if model.training:
        raise ValueError("fuse_conv_bn folds eval-mode BatchNorm statistics: call model.eval() first")
    for seq in (m for m in model.modules() if isinstance(m, nn.Sequential)):
        for i in range(len(seq) - 1):
            if isinstance(seq[i], nn.Conv2d) and isinstance(seq[i + 1], nn.BatchNorm2d):
                seq[i] = fuse_conv_bn_eval(seq[i], seq[i + 1])
                seq[i + 1] = nn.Identity()
    return model


class TrainedEmbedder:
    def __init__(self, model: FaceRecognizer, name: str, device: torch.device, batch_size: int = 128):
        self.model, self.name, self.device, self.batch_size = model, name, device, batch_size
        self.dim = model.spec.embedding_dim

    @torch.inference_mode()
    def embed(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"embed expects uint8 (N, H, W, 3) RGB images, got {images.dtype} {images.shape}")
        out = []
        for start in range(0, len(images), self.batch_size):
            batch = np.stack([to_input_size(im) for im in images[start : start + self.batch_size]])
            x = to_model_input(torch.from_numpy(batch)).to(self.device, memory_format=torch.channels_last)
            out.append(self.model(x)["embedding"].float().cpu().numpy())
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, self.dim), np.float32)


def load_trained_embedder(path: str | Path, device: str = "auto", batch_size: int = 128) -> TrainedEmbedder:
    dev = resolve_device(device)
    model, checkpoint = load_model(path, dev)
    model = fuse_conv_bn(model).to(memory_format=torch.channels_last)
    return TrainedEmbedder(model, str(checkpoint.get("method", Path(path).parent.name)), dev, batch_size)
