"""`python -m robustface superres`: super-resolve one LR shard back to the HR size.

    python -m robustface superres --model realesrgan --params-json '{"tile": 0}' \
        --lr resources/ds/lr/clean/16/shard-0000.h5 --out resources/ds/sr/realesrgan/clean/16/shard-0000.h5 \
        --hr-size 112 [--weights PATH] [--device auto|cpu|cuda] [--batch-size N]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from robustface.h5io import read_attrs, read_shard, write_shard

from .inference import TileConfig, load_model
from .registry import MODELS

# keys accepted in --params-json (per-model settings from config.yaml); command-line flags win
PARAM_DEFAULTS = {"tile": 0, "tile_overlap": 10, "batch_size": 16, "device": "auto", "weights": None}
PASSED_THROUGH = ("image_id", "person", "split")


def parse_params(text: str) -> dict:
    if text.strip() and Path(text).is_file():
        text = Path(text).read_text()
    params = json.loads(text) if text.strip() else {}
    if not isinstance(params, dict):
        raise ValueError(f"--params-json must be a JSON object, got {type(params).__name__}")
    unknown = sorted(set(params) - set(PARAM_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown SR params {unknown}; known: {sorted(PARAM_DEFAULTS)}")
    return {**PARAM_DEFAULTS, **params}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m robustface superres", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, choices=sorted(MODELS))
    parser.add_argument("--params-json", default="{}",
                        help=f"JSON object (or a path to one) with keys {sorted(PARAM_DEFAULTS)}")
    parser.add_argument("--lr", required=True, type=Path, help="LR shard (docs/data_formats.md)")
    parser.add_argument("--out", required=True, type=Path, help="SR shard to write")
    parser.add_argument("--hr-size", required=True, type=int)
    parser.add_argument("--weights", type=Path, default=None, help="weight file (default: resources/weights/<official name>)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    params = parse_params(args.params_json)
    lr_attrs = read_attrs(args.lr)
    if "hr_size" in lr_attrs and int(lr_attrs["hr_size"]) != args.hr_size:
        raise ValueError(f"--hr-size {args.hr_size} differs from the LR shard's hr_size {lr_attrs['hr_size']} ({args.lr})")
    shard = read_shard(args.lr)
    lr = np.asarray(shard["images"])

    model = load_model(
        args.model,
        weights_path=args.weights or params["weights"],
        device=args.device or params["device"],
        tile=TileConfig(size=int(params["tile"]), overlap=int(params["tile_overlap"])),
        batch_size=args.batch_size or int(params["batch_size"]),
    )
    if len(lr):
        sr = model.upscale(lr, args.hr_size, progress=True)
    else:
        sr = np.zeros((0, args.hr_size, args.hr_size, 3), dtype=np.uint8)

    arrays = {"images": sr, **{name: shard[name] for name in PASSED_THROUGH if name in shard}}
    attrs = {
        "model": args.model,
        "kernel": str(lr_attrs.get("kernel", "")),
        "hr_size": args.hr_size,
        "res": int(lr_attrs.get("res", lr.shape[1] if lr.ndim == 4 else 0)),
        "weights_sha256": model.weights_sha256 or "",
        "device": str(model.device),
        "dtype": model.dtype,
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in params.items()},
    }
    write_shard(args.out, arrays, attrs)
    print(f"superres {args.model}: {len(sr)} faces {lr.shape[1:3] if lr.ndim == 4 else ''} -> {args.hr_size}px, "
          f"wrote {args.out} ({model.device}, {model.dtype})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
