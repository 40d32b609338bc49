"""`python -m robustface occlude`: render one occlusion type onto one aligned shard.

    --aligned SHARD.h5 --type TYPE --params-json JSON --seed N [--max-yaw-deg D]
    --out SHARD.h5 --rejects CSV

Output rows are the aligned rows (same order) minus rejected faces; see docs/data_formats.md.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from robustface.atomic import write_csv
from robustface.cli import json_arg
from robustface.h5io import open_shard, read_attrs, read_shard, write_shard
from robustface.occlude.core import DEFAULT_MAX_YAW_DEG, Occluder, OcclusionReject

REQUIRED = ("images", "landmarks", "image_id")
CARRIED = ("landmarks", "landmarks5", "image_id", "person", "split", "yaw", "roll")


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m robustface occlude", description=__doc__.splitlines()[0])
    ap.add_argument("--aligned", required=True, help="aligned shard (HDF5)")
    ap.add_argument("--type", required=True, dest="otype", help="occlusion type name (config occlusion.types key)")
    ap.add_argument("--params-json", default="{}", type=json_arg, help="the type's parameters as a JSON object")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-yaw-deg", type=float, default=DEFAULT_MAX_YAW_DEG, help="faces turned further are rejected")
    ap.add_argument("--out", required=True, help="occluded shard to write (HDF5)")
    ap.add_argument("--rejects", required=True, help="CSV of rejected faces (image_id, reason)")
    return ap.parse_args(argv)


def occlude_shard(aligned: str | Path, occluder: Occluder, out: str | Path, rejects: str | Path) -> tuple[int, int]:
    """Occlude every face of `aligned`; returns (n_written, n_rejected)."""
    otype = occluder.otype
    with open_shard(aligned) as f:
        missing = [k for k in REQUIRED if k not in f]
        present = [k for k in CARRIED if k in f]
    if missing:
        raise SystemExit(f"{aligned}: aligned shard lacks dataset(s) {missing}")
    data = read_shard(aligned, ["images", *present])
    images = data["images"]
    if images.ndim != 4 or images.shape[-1] != 3 or images.shape[1] != images.shape[2]:
        raise SystemExit(f"{aligned}: images must be (N, S, S, 3), got {images.shape}")
    n, size = len(images), images.shape[1]
    yaws = data.get("yaw")

    kept: list[int] = []
    out_images, masks, fractions, rejected = [], [], [], []
    for i in tqdm(range(n), desc=f"occlude {otype}", unit="face", mininterval=2.0, disable=None):
        image_id = data["image_id"][i]
        try:
            result = occluder(images[i], data["landmarks"][i], image_id, None if yaws is None else float(yaws[i]))
        except OcclusionReject as rej:
            rejected.append((image_id, rej.reason))
            continue
        kept.append(i)
        out_images.append(result.image)
        masks.append(result.mask)
        fractions.append(result.fraction)

    idx = np.asarray(kept, dtype=np.int64)
    arrays: dict = {
        "images": np.stack(out_images) if out_images else np.zeros((0, size, size, 3), np.uint8),
        "occlusion_mask": np.stack(masks) if masks else np.zeros((0, size, size), np.uint8),
        "occlusion_type": [otype] * len(kept),
        "occluded_fraction": np.asarray(fractions, np.float32),
    }
    for name in present:
        value = data[name]
        arrays[name] = [value[i] for i in kept] if isinstance(value, list) else np.asarray(value)[idx]
    src_attrs = read_attrs(aligned)
    attrs = {
        "hr_size": int(size),
        "template": src_attrs.get("template", "arcface112"),
        "occlusion_type": otype,
        "occlusion_kind": occluder.renderer.name,
        "occlusion_params": json.dumps(occluder.params, sort_keys=True),
        "seed": occluder.seed,
        "max_yaw_deg": occluder.max_yaw_deg,
        "source": str(aligned),
    }
    write_shard(out, arrays, attrs)
    write_rejects(rejects, rejected)
    return len(kept), len(rejected)


def write_rejects(path: str | Path, rows: list[tuple[str, str]]) -> None:
    write_csv(path, ({"image_id": image_id, "reason": reason} for image_id, reason in rows), ["image_id", "reason"])


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        occluder = Occluder(args.otype, args.params_json, seed=args.seed, max_yaw_deg=args.max_yaw_deg)
    except (ValueError, FileNotFoundError) as exc:  # bad type / parameters / template path
        raise SystemExit(f"occlude: {exc}") from None
    written, rejected = occlude_shard(args.aligned, occluder, args.out, args.rejects)
    print(f"occlude {args.otype}: {written} faces written to {args.out}, {rejected} rejected ({args.rejects})")
    return 0
