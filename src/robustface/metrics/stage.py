"""Stage `sr-metrics`: per-face PSNR/SSIM (Y), PSNR (RGB), LPIPS and identity cosine of
super-resolved faces against their HR originals, paired by `image_id`.

    python -m robustface sr-metrics --hr HR.h5 [...] --sr SR.h5 [...] --model M --variant V
        --res R --out per_face.csv [--ids FACES.txt] [--recognizer sface] [--recognizer-model PATH]
        [--extra-judges dlib ...]
        [--lpips-weights PATH] [--hr-embeddings HR.npz ...] [--batch-size N] [--device cpu]

With `--ids` (a list from `sr-faces`) only those faces are measured: an SR file may hold more
(the faces verification needs). Writes `per_face.csv` (atomically) and a sidecar `per_face.csv.json` with the LPIPS status,
the recognizer, and counts. When the LPIPS backbone is missing the `lpips` column is empty
and `notes` carries the reason (file, URL, hash). Each of `--extra-judges` (further independent
recognizers) adds a column `id_cos_<judge>` beside the main recognizer's `id_cos`, so that
identity preservation is not read off one network alone.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from robustface.atomic import write_dataframe, write_text_atomic
from robustface.config_schema import schema_default
from robustface.h5io import ShardIndex, open_shard, read_attrs, read_strings
from robustface.metrics.hr_embeddings import HrEmbeddings, hr_embeddings_recognizer
from robustface.metrics.identity import Embedder, cosine, load_embedder
from robustface.metrics.image_quality import image_quality
from robustface.metrics.lpips_metric import load_lpips

COLUMNS = [
    "image_id", "person", "model", "variant", "res", "kernel", "hr_size",
    "psnr_y", "ssim_y", "psnr_rgb", "lpips", "id_cos", "recognizer", "notes",
]
EXTRA_JUDGES = ("sface", "dlib")  # the recognizers that need no model path


def judge_column(judge: str) -> str:
    return f"id_cos_{judge}"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="robustface sr-metrics", description=__doc__.split("\n\n")[0])
    p.add_argument("--hr", nargs="+", required=True, help="HR shards (aligned or occluded)")
    p.add_argument("--sr", nargs="+", required=True, help="SR shards of one model/variant/res")
    p.add_argument("--model", required=True)
    p.add_argument("--variant", required=True)
    p.add_argument("--res", required=True, type=int)
    p.add_argument("--out", required=True, help="per-face CSV")
    p.add_argument("--ids", default=None, help="measure only these faces (one image id a line)")
    p.add_argument("--recognizer", default=schema_default("metrics.recognizer"), help="sface | dlib | insightface_onnx | none")
    p.add_argument("--recognizer-model", default=None, help="model file for the recognizer (required for insightface_onnx)")
    p.add_argument("--extra-judges", nargs="*", default=[], choices=EXTRA_JUDGES,
                   help="further recognizers whose identity cosine is reported as id_cos_<judge>")
    p.add_argument("--lpips-weights", default=None, help="torchvision alexnet-owt-7be5be79.pth")
    p.add_argument("--hr-embeddings", nargs="*", default=[],
                   help="hr-embed files, one per judge: HR embeddings not computed again (faces they lack are)")
    p.add_argument("--batch-size", type=int, default=schema_default("metrics.batch_size"))
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    if len(set(args.extra_judges)) != len(args.extra_judges) or args.recognizer in args.extra_judges:
        p.error(f"--extra-judges {args.extra_judges} must be distinct and differ from --recognizer {args.recognizer}")
    return args


def write_json_atomic(obj, path: str | os.PathLike) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True))


def _hr_embeddings(main: dict[str, Embedder], extra: dict[str, Embedder], files: list[str]) -> dict[str, HrEmbeddings]:
    """Per output column (id_cos, id_cos_<judge>): the judge's HR embeddings, from its hr-embed
    file when one is given."""
    judges = main | {judge_column(name): embedder for name, embedder in extra.items()}
    by_name = {}
    for path in files:
        name = hr_embeddings_recognizer(path)
        if name not in {e.name for e in judges.values()}:
            raise ValueError(f"--hr-embeddings {path} holds {name!r} embeddings, but the judges are "
                             f"{sorted(e.name for e in judges.values())}")
        by_name[name] = path
    return {column: HrEmbeddings(embedder, by_name.get(embedder.name)) for column, embedder in judges.items()}


def _sr_attr(attrs: dict, key: str, default=""):
    value = attrs.get(key, default)
    return value.item() if isinstance(value, np.generic) else value


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    hr = ShardIndex(args.hr)
    lpips_metric, lpips_status = load_lpips(args.lpips_weights, device=args.device)
    embedder = None
    if args.recognizer != "none":
        params = {"model_path": args.recognizer_model} if args.recognizer_model else {}
        embedder = load_embedder(args.recognizer, **params)
    recognizer = embedder.name if embedder else ""
    judges = {judge: load_embedder(judge) for judge in args.extra_judges}
    hr_side = _hr_embeddings({"id_cos": embedder} if embedder else {}, judges, args.hr_embeddings)

    listed = None
    if args.ids:
        from robustface.superres.faces import read_ids

        listed = set(read_ids(args.ids))
    rows, unmatched = [], 0
    for sr_path in args.sr:
        attrs = read_attrs(sr_path)
        with open_shard(sr_path) as f:
            ids_all = read_strings(f, "image_id")
            if listed is not None:
                ids_all = [i if i in listed else None for i in ids_all]  # unlisted rows: not measured
            keep = [i for i, image_id in enumerate(ids_all) if image_id in hr.where]
            unmatched += sum(i is not None for i in ids_all) - len(keep)
            sr_size = int(f["images"].shape[1])
            if sr_size != hr.image_size:
                raise ValueError(f"{sr_path}: SR images are {sr_size}px but HR images are {hr.image_size}px")
            for start in tqdm(range(0, len(keep), args.batch_size), desc=f"sr-metrics {Path(sr_path).name}", unit="batch"):
                idx = keep[start : start + args.batch_size]
                ids = [ids_all[i] for i in idx]
                sr_images = f["images"][idx]
                hr_images = hr.images(ids)
                quality = image_quality(sr_images, hr_images)
                lp = lpips_metric(sr_images, hr_images) if lpips_metric else np.full(len(ids), np.nan)
                judged = {column: cosine(hr_vectors.embedder.embed(sr_images), hr_vectors.get(ids, hr_images))
                          for column, hr_vectors in hr_side.items()}
                id_cos = judged.pop("id_cos", np.full(len(ids), np.nan))
                for j, image_id in enumerate(ids):
                    rows.append({
                        "image_id": image_id, "person": hr.person[image_id], "model": args.model,
                        "variant": args.variant, "res": args.res, "kernel": _sr_attr(attrs, "kernel"),
                        "hr_size": hr.image_size, "psnr_y": quality["psnr_y"][j], "ssim_y": quality["ssim_y"][j],
                        "psnr_rgb": quality["psnr_rgb"][j], "lpips": lp[j], "id_cos": id_cos[j],
                        "recognizer": recognizer, "notes": "" if lpips_status.ok else f"lpips: {lpips_status.reason}",
                        **{column: values[j] for column, values in judged.items()},
                    })
    if not rows and listed is not None:
        raise ValueError(f"none of the {len(listed)} faces listed in {args.ids} is in both the SR and the HR shards "
                         "(check metrics.sr_splits / sr_max_faces: the list may select no aligned face)")
    if not rows:
        raise ValueError(f"no SR image_id matched an HR image_id ({unmatched} SR rows, HR shards: {args.hr})")
    write_dataframe(pd.DataFrame(rows, columns=COLUMNS + [judge_column(j) for j in judges]), args.out)
    write_json_atomic({
        "model": args.model, "variant": args.variant, "res": args.res, "n": len(rows),
        "unmatched_sr_rows": unmatched, "recognizer": recognizer, "extra_judges": list(judges), "ids": args.ids,
        "hr_embedded_here": {column: hr_vectors.computed for column, hr_vectors in hr_side.items()},
        "lpips_status": "ok" if lpips_status.ok else lpips_status.reason,
        "hr": [str(p) for p in args.hr], "sr": [str(p) for p in args.sr],
    }, f"{args.out}.json")
    print(f"sr-metrics: {len(rows)} faces -> {args.out} (lpips: {lpips_status}; unmatched SR rows: {unmatched})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
