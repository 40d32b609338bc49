"""detect_align stage: one manifest shard -> aligned HDF5 shard + rejects CSV."""
from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from robustface.align.pipeline import FaceAligner, Reject
from robustface.atomic import write_csv
from robustface.h5io import write_shard
from robustface.provenance import provenance_attrs
from robustface.rejects import REJECT_COLUMNS


def manifest_rows(manifest: Path, shard: int) -> list[dict]:
    with open(manifest, newline="") as f:
        return [row for row in csv.DictReader(f) if int(row["shard"]) == shard]


def align_rows(rows: list[dict], aligner: FaceAligner, progress: bool = True) -> tuple[dict, list[dict]]:
    faces, kept, rejects = [], [], []
    for row in tqdm(rows, desc="detect+align", unit="img", disable=not progress, mininterval=2):
        try:
            face = aligner.align_path(row["path"])
        except Reject as r:
            rejects.append({"image_id": row["image_id"], "path": row["path"], "reason": r.reason, "detail": r.detail})
            continue
        except Exception as exc:  # a decoder/library failure on one file must not sink the shard
            rejects.append({"image_id": row["image_id"], "path": row["path"], "reason": "processing_error", "detail": repr(exc)})
            continue
        faces.append(face)
        kept.append(row)
    s = aligner.hr_size
    arrays = {
        "images": np.stack([f.image for f in faces]) if faces else np.zeros((0, s, s, 3), np.uint8),
        "landmarks": np.stack([f.landmarks for f in faces]) if faces else np.zeros((0, 68, 2), np.float32),
        "landmarks5": np.stack([f.landmarks5 for f in faces]) if faces else np.zeros((0, 5, 2), np.float32),
        "yaw": np.array([f.yaw for f in faces], np.float32),
        "roll": np.array([f.roll for f in faces], np.float32),
        "det_score": np.array([f.score for f in faces], np.float32),
        "image_id": [r["image_id"] for r in kept],
        "person": [r["person"] for r in kept],
        "split": [r["split"] for r in kept],
        "notes": ["; ".join(f.notes) for f in faces],
    }
    return arrays, rejects


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="robustface detect-align", description=__doc__)
    ap.add_argument("--manifest", required=True, type=Path)
    ap.add_argument("--shard", required=True, type=int)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--rejects", required=True, type=Path)
    ap.add_argument("--params-json", default="{}", help="align config: detector, hr_size, min_face_px, max_yaw_deg")
    args = ap.parse_args(argv)
    params = json.loads(args.params_json)
    rows = manifest_rows(args.manifest, args.shard)
    start = time.perf_counter()
    with FaceAligner(detector=params.get("detector", "blazeface"), hr_size=int(params.get("hr_size", 112)),
                     min_face_px=int(params.get("min_face_px", 24)), max_yaw_deg=float(params.get("max_yaw_deg", 60))) as aligner:
        arrays, rejects = align_rows(rows, aligner)
    elapsed = time.perf_counter() - start
    attrs = provenance_attrs(params) | {"hr_size": int(params.get("hr_size", 112)), "template": "arcface112",
                                        "detector": params.get("detector", "blazeface"), "landmarker": "dlib68",
                                        "source": str(args.manifest)}
    write_shard(args.out, arrays, attrs)
    write_csv(args.rejects, rejects, REJECT_COLUMNS)
    rate = len(rows) / elapsed if elapsed > 0 else float("nan")
    print(f"shard {args.shard}: {len(arrays['image_id'])} aligned, {len(rejects)} rejected, {rate:.1f} img/s -> {args.out}")
    return 0
