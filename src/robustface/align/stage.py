"""detect_align stage: one manifest shard -> aligned HDF5 shard + rejects CSV."""
from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from robustface.align.boxes import median_box
from robustface.align.pipeline import DEFAULT_DETECTORS, AlignedFace, FaceAligner, Reject, eyes_in_box, with_source_mode
from robustface.atomic import write_csv
from robustface.cli import json_arg
from robustface.config_schema import schema_defaults
from robustface.h5io import write_shard
from robustface.provenance import provenance_attrs
from robustface.rejects import REJECT_COLUMNS


def manifest_rows(manifest: Path, shard: int) -> list[dict]:
    with open(manifest, newline="") as f:
        return [row for row in csv.DictReader(f) if int(row["shard"]) == shard]


def align_rows(rows: list[dict], aligner: FaceAligner, progress: bool = True,
               median_box_min: int = 0) -> tuple[dict, list[dict]]:
    """Align every row; rows no detector of the chain could use get a last try with the median
    box of same-size images when `median_box_min` > 0 and at least that many same-size images
    aligned with consistently placed faces (see `align.boxes.median_box`)."""
    results: list = [None] * len(rows)
    for k, row in enumerate(tqdm(rows, desc="detect+align", unit="img", disable=not progress, mininterval=2)):
        results[k] = _attempt(lambda: aligner.align_path(row["path"]))
    if median_box_min > 0:
        _median_box_fallback(rows, results, aligner, median_box_min)
    faces, kept, rejects = [], [], []
    for row, result in zip(rows, results):
        if isinstance(result, AlignedFace):
            faces.append(result)
            kept.append(row)
        else:
            reason, detail = (result.reason, result.detail) if isinstance(result, Reject) else result
            rejects.append({"image_id": row["image_id"], "path": row["path"], "reason": reason, "detail": detail})
    return shard_arrays(faces, kept, aligner.hr_size), rejects


def _attempt(align) -> "AlignedFace | tuple[str, str] | Reject":
    try:
        return align()
    except Reject as r:
        return r if r.chain else (r.reason, r.detail)
    except MemoryError:
        return ("image_too_large", "out of memory while processing this image")
    except Exception as exc:  # a decoder/library failure on one file must not sink the shard
        return ("processing_error", repr(exc))


def _median_box_fallback(rows: list[dict], results: list, aligner: FaceAligner, min_count: int) -> None:
    by_size: dict[tuple[int, int], list] = {}
    for result in results:
        if isinstance(result, AlignedFace):
            by_size.setdefault(result.image_shape, []).append(result.box)
    for k, result in enumerate(results):
        if not isinstance(result, Reject):
            continue
        failed = (result.reason, result.detail)
        results[k] = failed
        try:
            rgb, mode = aligner.load(rows[k]["path"])
        except Reject:
            continue
        boxes = by_size.get(rgb.shape[:2], [])
        box = median_box(boxes) if len(boxes) >= min_count else None
        if box is None:
            continue
        try:
            face = aligner.align_box(rgb, box, "median_box", keypoints=eyes_in_box(result.keypoints, box))
        except Reject as r:
            results[k] = (failed[0], f"{failed[1]}; median_box: {r.reason}")
            continue
        face.notes = [f"median box of {len(boxes)} same-size images after {failed[1]}"]
        results[k] = with_source_mode(face, mode)


def shard_arrays(faces: list[AlignedFace], kept: list[dict], s: int) -> dict:
    return {
        "images": np.stack([f.image for f in faces]) if faces else np.zeros((0, s, s, 3), np.uint8),
        "landmarks": np.stack([f.landmarks for f in faces]) if faces else np.zeros((0, 68, 2), np.float32),
        "landmarks5": np.stack([f.landmarks5 for f in faces]) if faces else np.zeros((0, 5, 2), np.float32),
        "yaw": np.array([f.yaw for f in faces], np.float32),
        "roll": np.array([f.roll for f in faces], np.float32),
        "det_score": np.array([f.score for f in faces], np.float32),
        "box": np.array([f.box for f in faces], np.float32).reshape(-1, 4),
        "detector": [f.detector for f in faces],
        "image_id": [r["image_id"] for r in kept],
        "person": [r["person"] for r in kept],
        "split": [r["split"] for r in kept],
        "notes": ["; ".join(f.notes) for f in faces],
    }


def align_params(params: dict) -> dict:
    """An `align:` config block with the schema's defaults under the keys it leaves out."""
    return {**schema_defaults("align"), **params}


def aligner_from_params(params: dict) -> FaceAligner:
    """The aligner an `align:` config block describes (missing keys: the schema's defaults). `detector`
    (one name, the legacy key) wins over `detectors` when set: the schema fills `detectors` by default,
    `detector` only by hand."""
    params = align_params(params)
    detectors = [params["detector"]] if params.get("detector") else (params["detectors"] or list(DEFAULT_DETECTORS))
    return FaceAligner(detectors=detectors, hr_size=int(params["hr_size"]),
                       min_face_px=int(params["min_face_px"]), max_yaw_deg=float(params["max_yaw_deg"]),
                       max_roll_deg=float(params["max_roll_deg"]), max_decode_px=int(params["max_decode_px"]),
                       max_image_px=int(params["max_image_px"]),
                       convert_boxes=bool(params.get("convert_boxes", True)))  # False: the benchmark's legacy row


def reason_counts(rejects: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rejects:
        counts[row["reason"]] = counts.get(row["reason"], 0) + 1
    return dict(sorted(counts.items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="robustface detect-align", description=__doc__)
    ap.add_argument("--manifest", required=True, type=Path)
    ap.add_argument("--shard", required=True, type=int)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--rejects", required=True, type=Path)
    ap.add_argument("--params-json", default="{}", type=json_arg, help="align config: detectors, hr_size, min_face_px, max_yaw_deg, "
                    "max_roll_deg, max_decode_px, max_image_px, median_box_min")
    args = ap.parse_args(argv)
    params = args.params_json
    rows = manifest_rows(args.manifest, args.shard)
    start = time.perf_counter()
    with aligner_from_params(params) as aligner:
        arrays, rejects = align_rows(rows, aligner, median_box_min=int(align_params(params)["median_box_min"]))
        detectors = aligner.detector_names
    elapsed = time.perf_counter() - start
    attrs = provenance_attrs(params) | {"hr_size": int(align_params(params)["hr_size"]), "template": "arcface112",
                                        "detector": ",".join(detectors), "landmarker": "dlib68",
                                        "source": str(args.manifest)}
    write_shard(args.out, arrays, attrs)
    write_csv(args.rejects, rejects, REJECT_COLUMNS)
    rate = len(rows) / elapsed if elapsed > 0 else float("nan")
    used = {name: arrays["detector"].count(name) for name in dict.fromkeys(arrays["detector"])}
    print(f"shard {args.shard}: {len(arrays['image_id'])} aligned {used}, {len(rejects)} rejected {reason_counts(rejects)},"
          f" {rate:.1f} img/s -> {args.out}")
    return 0
