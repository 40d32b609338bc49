"""Pairwise masked/unmasked distillation (MaskInv-style, Huber et al. 2021; the masked copies are
this study's synthetic occlusions, MaskTheFace-like).

The teacher sees the unmasked face (its cached embedding of the clean face), the student the
masked copy; a distillation loss pulls each pair together, next to the student's own label loss
(the method's margin head). Losses (`pair_loss`):
- cosine: 1 - cos(s, t);
- mse: mean over elements of (s_raw - sqrt(d) t_hat)^2. The student's raw embedding leaves
  MobileFaceNet's last BatchNorm with unit variance per element (norm ~ sqrt(d)), so the teacher's
  unit vector is scaled to that norm; unlike the cosine loss it also constrains the norm;
- margin_cosine: max(0, m + max_j cos(s_i, t_j) - cos(s_i, t_i)) over the batch's teacher
  embeddings t_j of other identities: the masked face must be closer to its own unmasked teacher
  embedding than to any other identity's, by the margin m.
Dynamic balancing: only samples the teacher classifies correctly are distilled. The teacher's
classifier is nearest class centre over its own embeddings of the training faces, each face left
out of its own centre (a person with a single training face cannot be judged and is kept).
Ablation: `dynamic_balancing: false` distils every sample.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..objective_specs import PairwiseKDSpec
from .base import Context, Objective, Step

PAIR_LOSSES = ("cosine", "mse", "margin_cosine")


def teacher_correct(teacher: torch.Tensor, labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """(n,) bool: is face i nearest (cosine) to its own identity's centre of the teacher's
    embeddings, the face itself left out of that centre? Singletons count as correct."""
    t = F.normalize(teacher.float(), dim=1)
    labels = labels.long()
    sums = torch.zeros(n_classes, t.shape[1], dtype=t.dtype, device=t.device).index_add_(0, labels, t)
    counts = torch.bincount(labels, minlength=n_classes)
    scores = t @ F.normalize(sums, dim=1).T
    own = F.normalize(sums[labels] - t, dim=1)
    scores[torch.arange(len(t), device=t.device), labels] = (t * own).sum(1)
    return (scores.argmax(1) == labels) | (counts[labels] < 2)


def pair_distillation(student_raw: torch.Tensor, teacher: torch.Tensor, kind: str, labels: torch.Tensor | None = None,
                      margin: float = 0.2) -> torch.Tensor:
    """Per-sample distillation loss (N,) between the student's (masked) and the teacher's
    (unmasked) embeddings."""
    if student_raw.shape != teacher.shape:
        raise ValueError(f"student {tuple(student_raw.shape)} and teacher {tuple(teacher.shape)} embeddings differ in shape")
    s, t = F.normalize(student_raw, dim=1), F.normalize(teacher, dim=1)
    if kind == "cosine":
        return 1.0 - (s * t).sum(1)
    if kind == "mse":
        return (student_raw - math.sqrt(student_raw.shape[1]) * t).pow(2).mean(1)
    if kind == "margin_cosine":
        if labels is None:
            raise ValueError("margin_cosine needs the labels (other identities' teacher embeddings are the negatives)")
        cos = s @ t.T
        other = labels[:, None] != labels[None, :]
        hardest = cos.masked_fill(~other, -2.0).max(1).values
        loss = F.relu(margin + hardest - cos.diagonal())
        return torch.where(other.any(1), loss, torch.zeros_like(loss))  # no negative in the batch: no term
    raise ValueError(f"unknown pair_loss {kind!r}; choose one of {PAIR_LOSSES}")


class PairwiseKD(PairwiseKDSpec, Objective):

    def __init__(self, settings: dict, ctx: Context):
        super().__init__(settings, ctx)
        if settings["pair_loss"] not in PAIR_LOSSES:
            raise ValueError(f"pair_loss {settings['pair_loss']!r}: choose one of {PAIR_LOSSES}")
        if ctx.teacher_cache is None:
            raise ValueError("pairwise_kd needs a teacher (its embeddings of the unmasked faces)")
        correct = torch.ones(ctx.teacher_cache.shape[1], dtype=torch.bool)
        if settings["dynamic_balancing"]:
            rows = torch.as_tensor(ctx.train_rows, dtype=torch.long)
            judged = teacher_correct(ctx.teacher_cache[0, rows.to(ctx.teacher_cache.device)].cpu(),
                                     torch.as_tensor(ctx.train_labels), ctx.n_classes)
            correct[rows] = judged
            print(f"[train] dynamic balancing: the teacher classifies {judged.float().mean():.1%} of "
                  f"{len(rows)} training faces correctly; only those are distilled")
        self.register_buffer("teacher_correct", correct.to(ctx.device), persistent=False)

    def forward(self, step: Step):
        s = self.settings
        per_sample = pair_distillation(step.student_in_teacher_space, step.teacher, s["pair_loss"], step.labels,
                                       s["pair_margin"])
        keep = self.teacher_correct[step.rows].float()
        loss = (per_sample * keep).sum() / keep.sum().clamp_min(1.0)
        return s["pair_lambda"] * loss, {"pair_loss": loss.detach(), "distilled_share": keep.mean()}
