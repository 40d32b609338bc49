"""ALOB: occlusion-robust recognition learned without occlusion annotations.

Network side (kept at inference, model.FaceRecognizer):
- Trimmer: from the backbone's last feature map it predicts the occlusion direction o(x) in
  embedding space; its large elements are the feature elements it holds to be
  occlusion-affected. (o is not built from e: a mask times e would point along e itself, and
  purifying along it would remove the whole embedding.)
- Identifier with feature-projection purification: e' = e - (e . o_hat) o_hat, the identity
  feature with its component along the occlusion direction removed (e' is orthogonal to o).
  The margin head (CosFace, m = 0.4, s = 30) sees e'.
Loss side (this objective): an adversary classifies identity from o through a gradient-reversal
layer. The adversary learns to read identity from o; the reversed gradient makes the Trimmer (and
backbone) keep identity out of o. With the purification, the identity loss itself favours an o
whose removal helps classification: together the Trimmer learns an identity-free nuisance
direction, with no occlusion label anywhere.
Ablations: `purification: false` (Trimmer and adversary trained, e used unpurified);
`trimmer: false` (no Trimmer: the plain CosFace student of the same budget).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..adaptive import PooledHead
from ..objective_specs import ALOBSpec
from .base import Context, Objective, Step

ADVERSARY_SCALE = 16.0  # logit scale of the adversary's cosine classifier


class _GradientReversal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.scale * grad, None


def grad_reverse(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Identity forward; the gradient flowing back is multiplied by -scale."""
    return _GradientReversal.apply(x, float(scale))


def purify(embedding: torch.Tensor, direction: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """embedding minus its projection on `direction` (row-wise): the result is orthogonal to it."""
    unit = direction / direction.norm(dim=1, keepdim=True).clamp_min(eps)
    return embedding - (embedding * unit).sum(1, keepdim=True) * unit


class Trimmer(PooledHead):
    """Feature map (N, C, 7, 7) -> occlusion direction o (N, d) in embedding space."""


class ALOB(ALOBSpec, Objective):

    def __init__(self, settings: dict, ctx: Context):
        super().__init__(settings, ctx)
        if settings["purification"] and not settings["trimmer"]:
            raise ValueError("alob: purification needs the Trimmer (trimmer: true)")
        # a cosine classifier on the unit direction: its loss is bounded, so the reversed gradient
        # cannot grow without limit by making the adversary confidently wrong
        self.adversary = nn.Linear(ctx.embedding_dim, ctx.n_classes, bias=False) if settings["trimmer"] else None

    @staticmethod
    def model_spec(settings: dict) -> dict:
        return {"trimmer": bool(settings["trimmer"]), "purification": bool(settings["purification"])}

    def forward(self, step: Step):
        if self.adversary is None:
            return torch.zeros((), device=step.labels.device), {}
        occlusion = step.out["occlusion"].float()
        reversed_direction = grad_reverse(F.normalize(occlusion, dim=1), self.settings["grl_lambda"])
        logits = ADVERSARY_SCALE * F.linear(reversed_direction, F.normalize(self.adversary.weight, dim=1))
        adv = F.cross_entropy(logits, step.labels)
        e = step.out["unpurified"].float()
        share = ((e * F.normalize(occlusion, dim=1)).sum(1).pow(2) / e.pow(2).sum(1).clamp_min(1e-12)).mean()
        return self.settings["adv_weight"] * adv, {"adv_loss": adv.detach(), "purified_share": share.detach()}
