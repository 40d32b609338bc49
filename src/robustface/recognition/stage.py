r"""`python -m robustface train`: train one recognition method.

    python -m robustface train --method amofr_kd --params-json '{"epochs": 2, ...}' \
        --aligned resources/lfw/aligned/shard-0000.h5 ... \
        --occluded surgical_mask=resources/lfw/occluded/surgical_mask/shard-0000.h5 ... \
        --lr 16=resources/lfw/lr/clean/16/shard-0000.h5 ... \
        --teacher-cache resources/lfw/teacher/sface/shard-0000.h5 ... \
        --out-dir results/models/amofr_kd [--teacher sface | results/models/arcface_clean/best.pt] [--device auto]

Writes best.pt, last.pt, loss.csv, train_loss.png in --out-dir; resumes from last.pt if present.
"""
from __future__ import annotations

import argparse
import sys

from robustface.cli import group_paths, json_arg, key_path

from .methods import DEFAULTS, METHODS, resolve_settings
from .trainer import NonFiniteLossError, train


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m robustface train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", required=True, help=f"config entry name; built-in bases: {', '.join(METHODS)}")
    p.add_argument("--params-json", default="{}", type=json_arg,
                   help="JSON object of settings overriding the method's defaults (keys: " + ", ".join(DEFAULTS) + "; plus `base`)")
    p.add_argument("--aligned", nargs="+", required=True, help="aligned shards (resources/{ds}/aligned/shard-*.h5)")
    p.add_argument("--occluded", nargs="*", default=[], action="extend", type=key_path, metavar="TYPE=H5",
                   help="occluded shards, one TYPE=PATH per shard (repeatable)")
    p.add_argument("--lr", nargs="*", default=[], action="extend", type=key_path, metavar="RES=H5",
                   help="low-resolution copies of the clean faces, one RES=PATH per shard (used when lr_ratio > 0)")
    p.add_argument("--teacher-cache", nargs="*", default=[], action="extend", metavar="H5",
                   help="teacher embeddings of the aligned faces (python -m robustface teacher-embed); "
                        "without it a pretrained teacher runs once here and is cached in --out-dir")
    p.add_argument("--out-dir", required=True, help="results/models/{method}")
    p.add_argument("--teacher", default=None,
                   help="KD teacher: a checkpoint path (e.g. results/models/arcface_clean/best.pt) or sface|dlib|insightface_onnx; "
                        "default: the method's `teacher` setting")
    p.add_argument("--teacher-model-path", default=None,
                   help="the pretrained teacher's model file when not the shipped one (recognition.teacher_models)")
    p.add_argument("--device", default=None, help="auto | cpu | cuda | cuda:N (overrides the settings' device)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (overrides the settings' torch_threads)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = args.params_json
    if args.device:
        overrides["device"] = args.device
    if args.threads:
        overrides["torch_threads"] = args.threads
    settings = resolve_settings(args.method, overrides)
    try:
        summary = train(settings, args.aligned, group_paths(args.occluded, "--occluded"), args.out_dir, args.teacher,
                        group_paths(args.lr, "--lr", int, form="RES=H5"), args.teacher_cache, args.teacher_model_path)
    except NonFiniteLossError as e:
        print(f"[train] ERROR: {e}", file=sys.stderr)
        return 3
    print(f"[train] {args.method}: {summary['epochs']} epochs, best selection metric {summary['best_metric']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
