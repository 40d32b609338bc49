"""Occlusion-type adaptive module (amofr_full).

A small classifier predicts the occlusion type (clean is type 0) from the backbone's last
feature map; one residual adapter per type refines the embedding; the adapters' outputs are fused
with the classifier's softmax probabilities as weights:

    e' = e + sum_k p_k(x) * A_k(e)

The adapters' last layers start at zero, so the module starts as the identity and the
backbone's embedding is not disturbed at initialisation. The classifier is trained with
cross-entropy on the synthetic occlusion-type labels; at inference it needs no label.
"""
from __future__ import annotations

import torch
from torch import nn


class PooledHead(nn.Module):
    """Feature map (N, C, H, W) -> (N, out): global average pool, then a one-hidden-layer MLP."""

    def __init__(self, feature_channels: int, out_features: int, hidden: int = 128):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(feature_channels, hidden), nn.PReLU(hidden), nn.Linear(hidden, out_features))

    def forward(self, feature_map: torch.Tensor) -> torch.Tensor:
        return self.net(feature_map.mean(dim=(2, 3)))


class OcclusionTypeClassifier(PooledHead):
    """Feature map -> logits over the occlusion types (clean = 0)."""


class ResidualAdapter(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.down = nn.Linear(dim, hidden)
        self.act = nn.PReLU(hidden)
        self.up = nn.Linear(hidden, dim)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.act(self.down(x)))


class OcclusionAdaptiveModule(nn.Module):
    def __init__(self, feature_channels: int, embedding_dim: int, n_types: int, adapter_hidden: int = 64):
        super().__init__()
        if n_types < 2:
            raise ValueError(f"the adaptive module needs clean + at least one occlusion type, got {n_types} types")
        self.n_types = n_types
        self.classifier = OcclusionTypeClassifier(feature_channels, n_types)
        self.adapters = nn.ModuleList(ResidualAdapter(embedding_dim, adapter_hidden) for _ in range(n_types))

    def forward(self, embedding: torch.Tensor, feature_map: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        type_logits = self.classifier(feature_map)
        weights = type_logits.softmax(dim=1)  # (N, K)
        adapted = torch.stack([adapter(embedding) for adapter in self.adapters], dim=1)  # (N, K, d)
        fused = embedding + (weights.unsqueeze(-1) * adapted).sum(dim=1)
        return fused, type_logits
