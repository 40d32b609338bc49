"""Knowledge-distillation loss between student and teacher embeddings.

The seed paper writes L_KD = (1/N) sum_i (1 - ||f_s - f_t||^2 / d). Taken literally and minimised,
that loss *rewards* students whose embeddings move away from the teacher's (it decreases as the
distance grows), the opposite of distillation. We implement the evident intent, a loss that is zero
when the student matches the teacher and grows with the distance, on L2-normalised embeddings:

    L_KD = (1/N) sum_i ||f_s,i - f_t,i||^2 / 2  =  (1/N) sum_i (1 - cos(f_s,i, f_t,i))

which lies in [0, 2]. Unlike the seed's division by the dimension d, the scale does not
depend on the embedding size, so one `kd_lambda` transfers between 128-d and 512-d students.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def kd_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    if student.shape != teacher.shape:
        raise ValueError(f"student {tuple(student.shape)} and teacher {tuple(teacher.shape)} embeddings differ in shape")
    s, t = F.normalize(student, dim=1), F.normalize(teacher, dim=1)
    return (s - t).pow(2).sum(dim=1).mul(0.5).mean()


def relational_kd_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Relational KD: the batch's pairwise cosine-similarity matrix of the student matched to the
    teacher's (mean squared difference over the off-diagonal entries). It compares the two spaces
    only through similarities, so it needs no projection between them, whatever their dims."""
    if student.shape[0] != teacher.shape[0]:
        raise ValueError(f"student batch {student.shape[0]} != teacher batch {teacher.shape[0]}")
    n = student.shape[0]
    if n < 2:
        raise ValueError("relational KD needs at least 2 faces per batch")
    s, t = F.normalize(student, dim=1), F.normalize(teacher, dim=1)
    off_diagonal = ~torch.eye(n, dtype=torch.bool, device=student.device)
    return (s @ s.T - t @ t.T)[off_diagonal].pow(2).mean()
