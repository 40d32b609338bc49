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


class AdversarialTerm:
    """Real-ESRGAN's GAN term: basicsr's U-Net discriminator with spectral norm, trained from scratch
    alongside the SR network (its own Adam), vanilla GAN loss (BCE with logits, per pixel).

    The generator step asks the discriminator, frozen, to call the SR face real; the discriminator
    step then learns HR = real, SR (detached) = fake from the same batch, as basicsr's SRGANModel."""

    DOWNSAMPLING = 8  # three stride-2 convolutions, mirrored by the skip connections

    def __init__(self, device: torch.device, lr: float, features: int = 64):
        import robustface.compat  # noqa: F401  (before basicsr)

        from basicsr.archs.discriminator_arch import UNetDiscriminatorSN

        self.net = UNetDiscriminatorSN(3, features, skip_connection=True).to(device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=lr, betas=(0.9, 0.99))

    @staticmethod
    def _bce(logits: torch.Tensor, real: bool) -> torch.Tensor:
        target = torch.ones_like(logits) if real else torch.zeros_like(logits)
        return F.binary_cross_entropy_with_logits(logits.float(), target)

    def generator_loss(self, sr: torch.Tensor) -> torch.Tensor:
        self.net.requires_grad_(False)
        return self._bce(self.net(sr), real=True)

    def discriminator_step(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        self.net.requires_grad_(True)
        loss = self._bce(self.net(hr), real=True) + self._bce(self.net(sr.detach()), real=False)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def state_dict(self) -> dict:
        return {"net": self.net.state_dict(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
