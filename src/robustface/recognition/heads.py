"""Margin-based classification heads on L2-normalised embeddings and class centres.

ArcFace (Deng et al., 2019): target logit s*cos(theta + m); CosFace (Wang et al., 2018):
target logit s*(cos(theta) - m). Non-target logits are s*cos(theta) for both.
ArcFace follows insightface for theta + m > pi, where cos(theta + m) stops decreasing:
`easy_margin` keeps the plain cosine when cos(theta) <= 0; otherwise beyond
th = cos(pi - m) the target logit becomes cos(theta) - sin(pi - m)*m (a CosFace-like fallback
that stays monotonic).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class _CosineHead(nn.Module):
    def __init__(self, embedding_dim: int, n_classes: int, s: float):
        super().__init__()
        if n_classes < 2:
            raise ValueError(f"a classification head needs at least 2 identities, got {n_classes}")
        self.s = float(s)
        self.weight = nn.Parameter(torch.empty(n_classes, embedding_dim))
        nn.init.normal_(self.weight, std=0.01)

    def cosine(self, embeddings: torch.Tensor) -> torch.Tensor:
        return F.linear(F.normalize(embeddings, dim=1), F.normalize(self.weight, dim=1)).clamp(-1.0, 1.0)


class ArcFaceHead(_CosineHead):
    def __init__(self, embedding_dim: int, n_classes: int, s: float = 64.0, m: float = 0.5, easy_margin: bool = False):
        super().__init__(embedding_dim, n_classes, s)
        self.m = float(m)
        self.easy_margin = easy_margin
        self.cos_m, self.sin_m = math.cos(m), math.sin(m)
        self.th = math.cos(math.pi - m)
        self.mm = math.sin(math.pi - m) * m

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cosine = self.cosine(embeddings)
        target_cos = cosine.gather(1, labels[:, None])
        sine = torch.sqrt((1.0 - target_cos**2).clamp_min(1e-7))
        phi = target_cos * self.cos_m - sine * self.sin_m  # cos(theta + m)
        if self.easy_margin:
            phi = torch.where(target_cos > 0, phi, target_cos)
        else:
            phi = torch.where(target_cos > self.th, phi, target_cos - self.mm)
        return self.s * cosine.scatter(1, labels[:, None], phi)


class CosFaceHead(_CosineHead):
    def __init__(self, embedding_dim: int, n_classes: int, s: float = 64.0, m: float = 0.35):
        super().__init__(embedding_dim, n_classes, s)
        self.m = float(m)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cosine = self.cosine(embeddings)
        target = cosine.gather(1, labels[:, None]) - self.m
        return self.s * cosine.scatter(1, labels[:, None], target)


HEADS = {"arcface": ArcFaceHead, "cosface": CosFaceHead}


def build_head(name: str, embedding_dim: int, n_classes: int, **kwargs) -> nn.Module:
    if name not in HEADS:
        raise ValueError(f"unknown head {name!r}; choose one of {sorted(HEADS)}")
    return HEADS[name](embedding_dim, n_classes, **kwargs)
