"""`python -m robustface superres`: super-resolve the faces of one variant and resolution (all its LR
shards, one job: the model starts once) back to the HR size, optionally only the listed faces.

    python -m robustface superres --model realesrgan --params-json '{"tile": 0}' \
        --lr resources/ds/lr/clean/16/shard-0000.h5 [resources/ds/lr/clean/16/shard-0001.h5 ...] \
        --ids resources/ds/sr_faces/metrics.txt [...] --out resources/ds/sr/realesrgan/clean/16.h5 \
        [--hr-size 112] [--weights PATH] [--device auto|cpu|cuda] [--batch-size N|auto]

The output holds one row per super-resolved face (`image_id`, `person`, `split`), in LR shard
order: readers look faces up by `image_id`. Attrs record how many listed ids had no LR row
(rejected at alignment/occlusion) and the job's timing (start-up vs. steady state).
"""
from __future__ import annotations

import time

_T0 = time.perf_counter()  # before torch loads: start-up time includes the imports

import argparse  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402

from robustface.atomic import atomic_path  # noqa: E402
from robustface.cli import json_object  # noqa: E402
from robustface.config_schema import schema_default  # noqa: E402
from robustface.h5io import STR_DTYPE, open_shard, read_attrs, read_strings, seal_shard  # noqa: E402

from .faces import read_ids  # noqa: E402
from .inference import TileConfig, load_model, parse_batch_size  # noqa: E402
from .registry import MODELS  # noqa: E402

# keys accepted in --params-json (per-model settings from config.yaml); command-line flags win.
# Defaults: the config schema's superres section (a run by hand gets what a workflow run gets).
PARAM_DEFAULTS = {**{key: schema_default(f"superres.{key}") for key in ("tile", "tile_overlap", "batch_size", "device")},
                  "weights": None}
PASSED_THROUGH = ("image_id", "person", "split")
IMAGE_CHUNK = 64


def parse_params(text: str) -> dict:
    if text.strip() and Path(text).is_file():
        text = Path(text).read_text()
    try:
        params = json_object(text)
    except ValueError as e:
        raise ValueError(f"--params-json: {e}") from None
    unknown = sorted(set(params) - set(PARAM_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown SR params {unknown}; known: {sorted(PARAM_DEFAULTS)}")
    merged = {**PARAM_DEFAULTS, **params}
    parse_batch_size(merged["batch_size"])  # fails early on a bad value
    return merged


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m robustface superres", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, choices=sorted(MODELS))
    parser.add_argument("--params-json", default="{}",
                        help=f"JSON object (or a path to one) with keys {sorted(PARAM_DEFAULTS)}")
    parser.add_argument("--lr", required=True, type=Path, nargs="+", help="LR shards of one variant and resolution")
    parser.add_argument("--ids", type=Path, nargs="*", default=None,
                        help="id lists (sr-faces): only their union is super-resolved (default: every face)")
    parser.add_argument("--out", required=True, type=Path, help="SR file to write")
    parser.add_argument("--hr-size", type=int, default=None,
                        help="output size (default: the hr_size the LR shards record; given, it must agree)")
    parser.add_argument("--weights", type=Path, default=None, help="weight file (default: resources/weights/<official name>)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None)
    parser.add_argument("--batch-size", default=None, help="faces per forward pass, or 'auto' (by resolution)")
    return parser


def read_lr(paths: list[Path], hr_size: int | None, wanted: set[str] | None) -> tuple[dict, dict, int]:
    """The listed faces of the LR shards (all when `wanted` is None), in shard order:
    ({images, image_id, person, split}, attrs of the first shard, number of rows read)."""
    images, columns, attrs, rows = [], {name: [] for name in PASSED_THROUGH}, None, 0
    for path in paths:
        shard_attrs = read_attrs(path)
        if "hr_size" in shard_attrs and hr_size is not None and int(shard_attrs["hr_size"]) != hr_size:
            raise ValueError(f"--hr-size {hr_size} differs from the LR shard's hr_size {shard_attrs['hr_size']} ({path})")
        if attrs is not None and any(str(shard_attrs.get(k)) != str(attrs.get(k)) for k in ("res", "kernel")):
            raise ValueError(f"{path}: res/kernel {shard_attrs.get('res')}/{shard_attrs.get('kernel')} differ from "
                             f"{paths[0]}'s {attrs.get('res')}/{attrs.get('kernel')}: one job takes one variant and resolution")
        attrs = attrs if attrs is not None else shard_attrs
        with open_shard(path) as f:
            ids = read_strings(f, "image_id")
            rows += len(ids)
            keep = [k for k, i in enumerate(ids) if wanted is None or i in wanted]
            if keep:
                images.append(f["images"][keep] if len(keep) < len(ids) else f["images"][()])
            for name in PASSED_THROUGH:
                values = read_strings(f, name) if name in f else [""] * len(ids)
                columns[name] += [values[k] for k in keep]
    duplicates = len(columns["image_id"]) - len(set(columns["image_id"]))
    if duplicates:
        raise ValueError(f"{duplicates} image ids appear in more than one of the LR shards {[str(p) for p in paths]}")
    res = int((attrs or {}).get("res", 1))
    lr = np.concatenate(images) if images else np.zeros((0, res, res, 3), np.uint8)
    return {"images": lr, **columns}, attrs or {}, rows


def write_sr(out: Path, model, faces: dict, hr_size: int, attrs: dict, timing: dict) -> None:
    """Streams the SR faces into the file batch by batch (no second full copy in memory)."""
    lr, n = faces["images"], len(faces["images"])
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as f:
        chunks = {"chunks": (min(IMAGE_CHUNK, n), hr_size, hr_size, 3)} if n else {}
        images = f.create_dataset("images", shape=(n, hr_size, hr_size, 3), dtype=np.uint8, **chunks)
        for name in PASSED_THROUGH:
            f.create_dataset(name, data=np.asarray(faces[name], dtype=object), dtype=STR_DTYPE)
        if n:
            model.upscale(lr, hr_size, progress=True, out=images, timing=timing)
        for key, value in attrs.items():
            f.attrs[key] = value if isinstance(value, (int, float, str, np.number)) else json.dumps(value)
        f.attrs["timing"] = json.dumps(timing)
        seal_shard(f)  # n_rows + checksums, as write_shard records them


def _recorded_hr_size(attrs: dict, path: Path) -> int:
    if "hr_size" not in attrs:
        raise ValueError(f"{path} does not record hr_size (written by an older degrade stage): pass --hr-size")
    return int(attrs["hr_size"])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    params = parse_params(args.params_json)
    wanted = None
    if args.ids is not None:
        wanted = set()
        for path in args.ids:
            wanted.update(read_ids(path))
    faces, lr_attrs, lr_rows = read_lr(args.lr, args.hr_size, wanted)
    args.hr_size = args.hr_size or _recorded_hr_size(lr_attrs, args.lr[0])
    lr = faces["images"]
    missing = sorted(wanted - set(faces["image_id"])) if wanted is not None else []

    t_load = time.perf_counter()
    model = load_model(
        args.model,
        weights_path=args.weights or params["weights"],
        device=args.device or params["device"],
        tile=TileConfig(size=int(params["tile"]), overlap=int(params["tile_overlap"])),
        batch_size=args.batch_size or params["batch_size"],
        hr_size=args.hr_size,
    )
    timing = {"imports_and_read_s": t_load - _T0, "load_s": time.perf_counter() - t_load, "faces": len(lr),
              "batch_size": model.batch_for(lr.shape[1]) if len(lr) else 0}
    attrs = {
        "model": args.model,
        "kernel": str(lr_attrs.get("kernel", "")),
        "hr_size": args.hr_size,
        "res": int(lr_attrs.get("res", lr.shape[1] if len(lr) else 0)),
        "weights_sha256": model.weights_sha256 or "",
        "device": str(model.device),
        "dtype": model.dtype,
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in params.items()},
        "lr_shards": len(args.lr),
        "lr_rows": lr_rows,
        "ids_listed": -1 if wanted is None else len(wanted),
        "ids_without_lr_row": len(missing),
    }
    write_sr(args.out, model, faces, args.hr_size, attrs, timing)
    wall = time.perf_counter() - _T0
    steady = timing.get("total_s", 0) - timing.get("first_batch_s", 0)
    startup = wall - steady  # imports, weights, first batch (cudnn autotune / warm-up), writing
    listed = f" of {len(wanted)} listed ({len(missing)} without an LR row, e.g. {missing[:3]})" if wanted is not None else ""
    print(f"superres {args.model}: {len(lr)} faces{listed} of {lr_rows} LR rows {lr.shape[1:3] if len(lr) else ''} -> "
          f"{args.hr_size}px, wrote {args.out} ({model.device}, {model.dtype}, batch {timing['batch_size']}); "
          f"wall {wall:.1f} s, start-up {startup:.1f} s ({100 * startup / max(wall, 1e-9):.0f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
