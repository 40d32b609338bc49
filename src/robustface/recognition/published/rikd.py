"""Resolution-invariant knowledge distillation (RIKD).

A fixed high-resolution teacher (the cached embeddings of the clean HR face) and a student that
sees low-resolution versions (lr_ratio: 16/32/64 px upscaled as verification does) besides HR
ones. Both are read by one classifier W (class weights, cosine logits at scale `rikd_scale`):
- teacher posteriors p_t = softmax(s cos(t, W) / T); W learns from the teacher's features alone
  (cross-entropy on p_t at T = 1), starting from the teacher's class centres, so W stays the
  HR teacher's classifier;
- student posteriors p_s = softmax(s cos(f, W) / T) with W frozen on this path; the student
  minimises T^2 KL(p_t || p_s) plus its own cross-entropy through W.
Ablation `shared_classifier: false`: the student has its own classifier (random start, trained
by the student's losses); the KL then compares posteriors of two different classifiers.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..objective_specs import RIKDSpec
from .base import Context, Objective, Step


def class_centres(features: torch.Tensor, labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    t = F.normalize(features.float(), dim=1)
    sums = torch.zeros(n_classes, t.shape[1], dtype=t.dtype).index_add_(0, labels.long(), t)
    return F.normalize(sums, dim=1)


def cosine_logits(features: torch.Tensor, weight: torch.Tensor, scale: float) -> torch.Tensor:
    return scale * F.linear(F.normalize(features, dim=1), F.normalize(weight, dim=1))


def posterior_kl(teacher_logits: torch.Tensor, student_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2 KL(softmax(teacher/T) || softmax(student/T)), batch mean; the teacher side is a target."""
    log_p_t = F.log_softmax(teacher_logits.detach() / temperature, dim=1)
    log_p_s = F.log_softmax(student_logits / temperature, dim=1)
    return temperature**2 * F.kl_div(log_p_s, log_p_t, log_target=True, reduction="batchmean")


class RIKD(RIKDSpec, Objective):

    def __init__(self, settings: dict, ctx: Context):
        super().__init__(settings, ctx)
        if ctx.teacher_cache is None:
            raise ValueError("rikd needs a teacher (its embeddings of the HR faces)")
        rows = torch.as_tensor(ctx.train_rows, dtype=torch.long)
        centres = class_centres(ctx.teacher_cache[0, rows.to(ctx.teacher_cache.device)].cpu(),
                                torch.as_tensor(ctx.train_labels), ctx.n_classes)
        self.teacher_classifier = nn.Parameter(centres)
        self.student_classifier = None
        if not settings["shared_classifier"]:
            self.student_classifier = nn.Parameter(torch.randn(ctx.n_classes, centres.shape[1]) * 0.01)

    def forward(self, step: Step):
        s = self.settings
        scale, temperature = s["rikd_scale"], s["kd_temperature"]
        teacher_logits = cosine_logits(step.teacher.float(), self.teacher_classifier, scale)
        teacher_ce = F.cross_entropy(teacher_logits, step.labels)
        weight = self.teacher_classifier.detach() if self.student_classifier is None else self.student_classifier
        student_logits = cosine_logits(step.student_in_teacher_space, weight, scale)
        kl = posterior_kl(teacher_logits, student_logits, temperature)
        student_ce = F.cross_entropy(student_logits, step.labels)
        loss = teacher_ce + student_ce + s["rikd_lambda"] * kl
        return loss, {"kl_loss": kl.detach(), "student_ce_loss": student_ce.detach(), "teacher_ce_loss": teacher_ce.detach()}
