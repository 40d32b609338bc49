"""The trainable recognizer: a backbone (MobileFaceNet, or SFace's network) + optional modules."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .adaptive import OcclusionAdaptiveModule
from .mobilefacenet import MobileFaceNet
from .published.alob import Trimmer, purify
from .published.ri import PerceptibilityAttention
from .sface_net import SFaceNet

# backbone name -> class; each has `forward_features(x, attention)` -> (embedding, feature map)
BACKBONES = {"mobilefacenet": MobileFaceNet, "sface": SFaceNet}


def backbone_class(name: str) -> type[nn.Module]:
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}")
    return BACKBONES[name]


@dataclass
class ModelSpec:
    """Everything needed to rebuild the network from a checkpoint (stored in it as a dict)."""

    embedding_dim: int = 128
    backbone: str = "mobilefacenet"
    adaptive: bool = False
    type_names: list[str] = field(default_factory=lambda: ["clean"])
    adapter_hidden: int = 64
    trimmer: bool = False        # ALOB: occlusion-affected part of the embedding (out["occlusion"])
    purification: bool = False  # ALOB: the embedding minus its projection on that part
    attention: bool = False      # RI: perceptibility attention before the global pooling

    def to_dict(self) -> dict:
        return asdict(self)


class FaceRecognizer(nn.Module):
    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.backbone = backbone_class(spec.backbone)(spec.embedding_dim)
        channels = self.backbone.feature_channels
        self.adaptive = (
            OcclusionAdaptiveModule(channels, spec.embedding_dim, len(spec.type_names), spec.adapter_hidden)
            if spec.adaptive
            else None
        )
        if spec.purification and not spec.trimmer:
            raise ValueError("purification needs the trimmer")
        self.trimmer = Trimmer(channels, spec.embedding_dim) if spec.trimmer else None
        self.attention = PerceptibilityAttention(channels) if spec.attention else None

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """images: (N, 3, 112, 112) normalised. Returns `embedding` (L2-normalised), `raw`
        (before normalisation, what the margin head sees), `type_logits` (adaptive only),
        `occlusion` and `unpurified` (trimmer only)."""
        raw, feature_map = self.backbone.forward_features(images, self.attention)
        out = {}
        if self.adaptive is not None:
            raw, out["type_logits"] = self.adaptive(raw, feature_map)
        if self.trimmer is not None:
            out["unpurified"] = raw
            out["occlusion"] = self.trimmer(feature_map)
            if self.spec.purification:
                raw = purify(raw, out["occlusion"])
        out["raw"] = raw
        out["embedding"] = F.normalize(raw, dim=1)
        return out
