"""Recognizability index (RI), index-diversion loss and perceptibility attention (after Chai et
al., CVPR 2023, for very low-resolution faces).

- Unrecognisable-identity (UI) centre u: where faces with no identity left land. Each step a few
  of the batch's faces are shrunk to `ui_res` px and blown back up (nothing identifiable
  survives at 8 px), embedded by the model in eval mode (the inference space) without gradient,
  and u follows their mean direction (moving average, `ui_momentum`).
- RI(f) = 1 - cos(f, u): how far an embedding lies from that cluster (in [0, 2]; larger = more
  recognisable). robustface.verification.erc uses the same definition, with u measured at
  evaluation time, to rank faces for the ERC curves of every method.
- Index diversion: mean max(0, cos(f, u) - ri_margin) over the batch's embeddings pushes every
  training face (clean, occluded, LR) away from the UI cluster.
- Perceptibility attention (network side, model.FaceRecognizer): a spatial map over the last
  7x7 feature map, 2*sigmoid(.), weighting informative regions before the global depthwise
  pooling; it starts at exactly 1 (identity).
Ablation: `diversion_lambda: 0` and `perceptibility_attention: false`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..objective_specs import RIDiversionSpec
from .base import Context, Objective, Step


def recognizability(embeddings: torch.Tensor, ui_centre: torch.Tensor) -> torch.Tensor:
    """RI = 1 - cos(embedding, UI centre), row-wise."""
    return 1.0 - F.normalize(embeddings, dim=-1) @ F.normalize(ui_centre, dim=-1)


def index_diversion_loss(embeddings: torch.Tensor, ui_centre: torch.Tensor, margin: float = 0.0) -> torch.Tensor:
    cos = F.normalize(embeddings, dim=1) @ F.normalize(ui_centre.detach(), dim=0)
    return F.relu(cos - margin).mean()


def unrecognisable(x: torch.Tensor, res: int) -> torch.Tensor:
    """Normalised faces (N, 3, H, W) shrunk to res px (area) and upscaled back (bicubic)."""
    small = F.interpolate(x, size=(res, res), mode="area")
    return F.interpolate(small, size=x.shape[-2:], mode="bicubic", align_corners=False).clamp(-1.0, 1.0)


class PerceptibilityAttention(nn.Module):
    def __init__(self, channels: int, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.PReLU(hidden), nn.Conv2d(hidden, 1, 1))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, feature_map: torch.Tensor) -> torch.Tensor:
        """(N, 1, h, w) weights in (0, 2)."""
        return 2.0 * torch.sigmoid(self.net(feature_map))


class RIDiversion(RIDiversionSpec, Objective):

    def __init__(self, settings: dict, ctx: Context):
        super().__init__(settings, ctx)
        if not 2 <= int(settings["ui_res"]) < 112:
            raise ValueError(f"ui_res must be in [2, 112) px, got {settings['ui_res']}")
        self.register_buffer("ui_centre", torch.zeros(ctx.embedding_dim, device=ctx.device))
        self.register_buffer("ui_seen", torch.zeros((), device=ctx.device))

    @staticmethod
    def model_spec(settings: dict) -> dict:
        return {"attention": bool(settings["perceptibility_attention"])}

    @torch.no_grad()
    def update_centre(self, model: nn.Module, x: torch.Tensor) -> None:
        s = self.settings
        was_training = model.training
        model.eval()
        try:
            emb = model(unrecognisable(x[: int(s["ui_faces"])], int(s["ui_res"])))["embedding"].float()
        finally:
            model.train(was_training)
        mean = F.normalize(emb.mean(0), dim=0)
        momentum = float(s["ui_momentum"]) if self.ui_seen > 0 else 0.0
        self.ui_centre.copy_(F.normalize(momentum * self.ui_centre + (1 - momentum) * mean, dim=0))
        self.ui_seen += 1

    def forward(self, step: Step):
        self.update_centre(step.model, step.x)
        embeddings = step.out["raw"].float()
        loss = index_diversion_loss(embeddings, self.ui_centre, self.settings["ri_margin"])
        cos = (F.normalize(embeddings, dim=1) @ self.ui_centre).mean()
        return self.settings["diversion_lambda"] * loss, {"div_loss": loss.detach(), "ui_cos": cos.detach()}
