"""MobileFaceNet (Chen et al., 2018, "MobileFaceNets: Efficient CNNs for Accurate Real-Time
Face Verification on Mobile Devices"), the paper's Table 1 architecture for 112x112 input.

Input: float tensor (N, 3, 112, 112), RGB normalised as (x - 127.5) / 128.
Output of `forward`: un-normalised embedding (N, embedding_dim); `forward_features` also returns
the 512-channel 7x7 map before the global depthwise conv (used by the adaptive module).
"""
from __future__ import annotations

import torch
from torch import nn

INPUT_SIZE = 112


class ConvBlock(nn.Sequential):
    """Conv -> BN -> (PReLU unless linear)."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 1, stride: int = 1, groups: int = 1, linear: bool = False):
        padding = kernel // 2 if kernel > 1 and kernel != 7 else 0
        layers: list[nn.Module] = [
            nn.Conv2d(c_in, c_out, kernel, stride, padding, groups=groups, bias=False),
            nn.BatchNorm2d(c_out),
        ]
        if not linear:
            layers.append(nn.PReLU(c_out))
        super().__init__(*layers)


class Bottleneck(nn.Module):
    """Inverted residual (MobileNetV2) with PReLU; residual only when shape is kept."""

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int):
        super().__init__()
        hidden = c_in * expansion
        self.residual = stride == 1 and c_in == c_out
        self.body = nn.Sequential(
            ConvBlock(c_in, hidden, 1),
            ConvBlock(hidden, hidden, 3, stride, groups=hidden),
            ConvBlock(hidden, c_out, 1, linear=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.residual else self.body(x)


# (expansion t, output channels c, repeats n, first stride s), Table 1 of the paper.
BOTTLENECK_SETTINGS = [(2, 64, 5, 2), (4, 128, 1, 2), (2, 128, 6, 1), (4, 128, 1, 2), (2, 128, 2, 1)]


class MobileFaceNet(nn.Module):
    feature_channels = 512

    def __init__(self, embedding_dim: int = 128):
        super().__init__()
        self.embedding_dim = embedding_dim
        self.stem = nn.Sequential(ConvBlock(3, 64, 3, 2), ConvBlock(64, 64, 3, 1, groups=64))
        blocks, c_in = [], 64
        for t, c, n, s in BOTTLENECK_SETTINGS:
            for i in range(n):
                blocks.append(Bottleneck(c_in, c, s if i == 0 else 1, t))
                c_in = c
        self.blocks = nn.Sequential(*blocks)
        self.conv_expand = ConvBlock(c_in, 512, 1)
        self.gdconv = ConvBlock(512, 512, 7, groups=512, linear=True)  # global depthwise conv, 7x7 -> 1x1
        self.linear = nn.Conv2d(512, embedding_dim, 1, bias=False)
        # No affine on the last BN keeps the 512-d variant under the paper's 1.2M parameters.
        self.bn = nn.BatchNorm1d(embedding_dim, affine=False)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)) and m.affine:
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor, attention: nn.Module | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """`attention`: optional module mapping the feature map to spatial weights (N, 1, 7, 7)
        applied before the global depthwise pooling; the returned map is the unweighted one."""
        if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            raise ValueError(f"MobileFaceNet expects {INPUT_SIZE}x{INPUT_SIZE} input, got {tuple(x.shape[-2:])}")
        feature_map = self.conv_expand(self.blocks(self.stem(x)))
        pooled_input = feature_map if attention is None else feature_map * attention(feature_map)
        embedding = self.bn(self.linear(self.gdconv(pooled_input)).flatten(1))
        return embedding, feature_map

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[0]


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
