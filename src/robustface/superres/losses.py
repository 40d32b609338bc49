"""Losses of the face SR training: pixel L1, identity through a frozen recognizer of ours, LPIPS."""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F


def l1_loss(sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    return (sr - hr).abs().mean()


def psnr(sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    """Per-image RGB PSNR (dB) of [0, 1] NCHW batches, after the uint8 quantisation the stages apply."""
    sr = (sr.clamp(0, 1) * 255).round() / 255
    mse = ((sr - hr) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return 10 * torch.log10(1.0 / mse)


class IdentityLoss(torch.nn.Module):
    """1 - cos(embedding(SR), embedding(HR)) through a frozen recognition checkpoint of ours
    (results/models/<method>/best.pt). Never an identity judge of the tables (SFace, dlib)."""

    def __init__(self, checkpoint: str | Path, device: torch.device):
        super().__init__()
        from robustface.recognition.embedder import load_model

        model, meta = load_model(checkpoint, device)
        self.recognizer = model.eval().requires_grad_(False)
        self.source = f"{meta.get('method', Path(checkpoint).parent.name)} ({checkpoint})"

    def train(self, mode: bool = True):  # stays in eval mode (BatchNorm running statistics)
        return super().train(False)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """[0, 1] NCHW RGB at 112 px -> L2-normalised embeddings (gradients flow to `images`)."""
        x = (images * 255.0 - 127.5) / 128.0  # recognition.data.to_model_input, on floats
        return self.recognizer(x.contiguous(memory_format=torch.channels_last))["embedding"].float()

    def forward(self, sr: torch.Tensor, hr_embedding: torch.Tensor) -> torch.Tensor:
        return 1.0 - F.cosine_similarity(self.embed(sr), hr_embedding, dim=1)


class PerceptualLoss(torch.nn.Module):
    """LPIPS-Alex as a loss (the metric's own network, so report LPIPS with that caveat)."""

    def __init__(self, backbone: str | Path, device: torch.device):
        super().__init__()
        from robustface.metrics.lpips_metric import LpipsAlex

        self.lpips = LpipsAlex(backbone, device=str(device)).model.requires_grad_(False)

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        return self.lpips(sr * 2 - 1, hr * 2 - 1).flatten()
