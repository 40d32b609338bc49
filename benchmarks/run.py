"""Benchmarks (`make bench`, i.e. `python -m benchmarks` from the repository root): each section
measures its ratio side by side in one run and writes results/bench/<section>.json. Goals from the issues are recorded next to the measurements.

Sections need the LFW sample (../shared/data/lfw-devtrain or --lfw-root); those that cannot run
say why in their JSON instead of inventing a number.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from robustface.atomic import write_text_atomic

REPO = Path(__file__).resolve().parents[1]
DEFAULT_LFW = REPO.parent / "shared" / "data" / "lfw-devtrain"
LFW_TOTAL_IMAGES = 13233


def _lfw_paths(root: Path, n: int) -> list[str]:
    from robustface.ingest import lfw_images_dir, scan_folder

    entries = scan_folder(lfw_images_dir(root), every_file=False)
    step = max(1, len(entries) // n)
    return [e.path for e in entries[::step][:n]]


def align_config() -> dict:
    """The `align:` block of the checkout's config.yaml (the stage's defaults fill the rest)."""
    import yaml

    path = REPO / "config.yaml"
    return dict((yaml.safe_load(path.read_text()) or {}).get("align") or {}) if path.exists() else {}


def _align_chunk(job: tuple[list[str], dict]) -> tuple[int, int, float, float]:
    """(aligned, images, model-loading seconds, aligning seconds) of one worker."""
    from robustface.align.stage import aligner_from_params

    paths, params = job
    ok = 0
    t0 = time.perf_counter()
    with aligner_from_params(params) as aligner:
        aligner.load_detectors(aligner.detector_names[:1])  # the others load only if an image needs them
        t1 = time.perf_counter()
        for p in paths:
            try:
                aligner.align_path(p)
                ok += 1
            except Exception:
                pass
        t2 = time.perf_counter()
    return ok, len(paths), t1 - t0, t2 - t1


def _time_aligner(paths: list[str], workers: int, params: dict) -> dict:
    chunks = [(paths[i::workers], params) for i in range(workers)]
    start = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(_align_chunk, chunks))
    elapsed = time.perf_counter() - start
    load = max(r[2] for r in results)
    per_face = sum(r[3] for r in results) / len(paths)  # seconds of one worker per face
    rate = workers / per_face
    return {"aligned": sum(r[0] for r in results), "seconds": elapsed, "load_s": load,
            "ms_per_face_per_worker": 1000 * per_face, "faces_per_s": rate, "faces_per_s_wall": len(paths) / elapsed,
            "projected_lfw_13233_s": load + LFW_TOTAL_IMAGES / rate,
            "projected_lfw_13233_s_on_2_free_cores": load + LFW_TOTAL_IMAGES * per_face / 2}


def bench_detect_align(lfw_root: Path, n: int, workers: int) -> dict:
    """faces/s of the configured aligner and, in the same run, of the legacy one (BlazeFace only,
    its box straight to the 68-point predictor, full-size decode)."""
    paths = _lfw_paths(lfw_root, n)
    params = align_config()
    legacy = {**params, "detector": "blazeface", "max_decode_px": 0, "convert_boxes": False}
    rows = {"legacy_blazeface_raw_box": _time_aligner(paths, workers, legacy),
            "configured": _time_aligner(paths, workers, params)}
    return {"images": len(paths), "workers": workers, "align_config": params, **rows,
            "speedup": rows["configured"]["faces_per_s"] / rows["legacy_blazeface_raw_box"]["faces_per_s"],
            "goal_lfw_s": 45,
            "note": "faces_per_s = workers / mean aligning seconds per face (models loaded first, JPEG decode included); "
                    "projected = model loading + 13233 / faces_per_s; faces_per_s_wall includes loading"}


def _aligned_faces(lfw_root: Path, n: int) -> tuple[np.ndarray, list[str]]:
    from robustface.align.pipeline import FaceAligner, Reject

    paths = _lfw_paths(lfw_root, n)
    faces, kept = [], []
    with FaceAligner() as aligner:
        for p in paths:
            try:
                faces.append(aligner.align_path(p).image)
                kept.append(p)
            except Reject:
                pass
    return np.stack(faces), kept


def _best(fn, repeats: int = 5) -> float:
    """Fastest of `repeats` runs, seconds (the least disturbed by other load)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_shard_read(lfw_root: Path, n: int, tmp: Path) -> dict:
    """Reading aligned faces from an HDF5 shard vs decoding the same faces' JPEGs (and aligning
    nothing: decode alone is the lower bound of the JPEG route)."""
    import h5py
    from PIL import Image

    from robustface import h5io
    from robustface.h5io import read_shard, write_shard

    faces, paths = _aligned_faces(lfw_root, n)
    shard = tmp / "bench-shard.h5"
    ids = [Path(p).stem for p in paths]

    def write_plain() -> None:  # the same file without the integrity attrs
        with h5py.File(tmp / "bench-plain.h5", "w") as f:
            f.create_dataset("images", data=faces, chunks=(min(h5io.IMAGE_CHUNK, len(faces)), *faces.shape[1:]))
            f.create_dataset("image_id", data=np.asarray(ids, dtype=object), dtype=h5io.STR_DTYPE)

    def read_plain() -> None:
        with h5py.File(shard, "r") as f:
            f["images"][()]

    def read_checked() -> None:  # the first read of a shard in a process checks its checksums
        h5io._VERIFIED.clear()
        read_shard(shard, ["images"])

    t_write = _best(lambda: write_shard(shard, {"images": faces, "image_id": ids}))
    t_write_plain, t_read_plain, t_read_verified = _best(write_plain), _best(read_plain), _best(read_checked)
    t0 = time.perf_counter()
    for _ in range(3):
        read = read_shard(shard, ["images"])["images"]
    t_h5 = (time.perf_counter() - t0) / 3
    t0 = time.perf_counter()
    for _ in range(3):
        decoded = [np.asarray(Image.open(p).convert("RGB")) for p in paths]
    t_jpeg = (time.perf_counter() - t0) / 3
    assert len(read) == len(decoded)
    return {"faces": len(paths), "hdf5_read_s": t_h5, "jpeg_decode_s": t_jpeg, "speedup": t_jpeg / t_h5, "goal_speedup": 5,
            # integrity attrs (n_rows + CRC-32 checksums): cost of recording them and of the first, checked read
            "write_s": t_write, "write_plain_s": t_write_plain, "first_read_checked_s": t_read_verified,
            "read_plain_s": t_read_plain}


def bench_superres(lfw_root: Path, n: int, tmp: Path, res: int = 32, model: str = "realesrgan") -> dict:
    """SR stage wall time (read shard, batch, forward, resize back, write) vs. the bare forward."""
    import torch

    from robustface.degrade import resize_batch
    from robustface.h5io import write_shard
    from robustface.superres import inference, stage

    faces, paths = _aligned_faces(lfw_root, n)
    lr = resize_batch(faces, res, "pil_bicubic")
    lr_path, out = tmp / "bench-lr.h5", tmp / "bench-sr.h5"
    write_shard(lr_path, {"images": lr, "image_id": [Path(p).stem for p in paths], "person": ["x"] * len(paths),
                          "split": ["x"] * len(paths)}, {"hr_size": 112, "res": res, "kernel": "pil_bicubic"})
    weights = REPO / "resources" / "weights" / "RealESRGAN_x4plus_ncnn.pth"
    if not weights.exists():
        subprocess.run([sys.executable, "-m", "robustface", "provision-realesrgan", "--out", str(weights)], check=True)
    sr_model = inference.load_model(model, weights, "cpu")
    batch = 16
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(lr), batch):
            inference.bare_forward(sr_model, sr_model.prepare(lr[i:i + batch]))
    t_bare = time.perf_counter() - t0
    t0 = time.perf_counter()
    stage.main(["--model", model, "--params-json", "{}", "--lr", str(lr_path), "--out", str(out), "--hr-size", "112",
                "--weights", str(weights), "--device", "cpu", "--batch-size", str(batch)])
    t_stage = time.perf_counter() - t0
    return {"model": model, "res": res, "faces": len(lr), "bare_forward_s": t_bare, "stage_s": t_stage,
            "ratio": t_stage / t_bare, "goal_ratio": 1.3, "faces_per_s_stage": len(lr) / t_stage,
            "note": "stage time includes loading weights, reading and writing shards"}


def bench_noop_rerun() -> dict:
    """Wall time of `snakemake results/sr_metrics.csv` when everything is up to date."""
    cmd = [str(Path(sys.executable).parent / "snakemake"), "--cores", "2", "results/sr_metrics.csv"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    nothing = "Nothing to be done" in proc.stdout + proc.stderr
    return {"seconds": elapsed, "nothing_to_be_done": nothing, "returncode": proc.returncode,
            "note": "run after a complete `make run`; otherwise this times real work"}


def bench_plan(repeats: int = 3) -> dict:
    """Wall time of `snakemake -n` of the whole sample DAG (fresh interpreter, empty work dir) and
    the heavy libraries planning imported (goal: none, <= 3 s)."""
    import tempfile

    from robustface.dryrun import dry_run, sample_workdir

    with tempfile.TemporaryDirectory() as tmp:
        workdir = sample_workdir(tmp)
        runs = [dry_run(workdir, "-n", "--cores", "2") for _ in range(repeats)]
    seconds = sorted(r["seconds"] for r in runs)
    cpu = sorted(r["cpu_seconds"] for r in runs)
    return {"seconds_median": seconds[len(seconds) // 2], "seconds": seconds, "goal_seconds": 3.0,
            "cpu_seconds_median": cpu[len(cpu) // 2],
            "returncode": max(r["returncode"] for r in runs), "heavy_modules_loaded": runs[0]["loaded"]}


def _section(module: str, function: str, **kwargs) -> dict:
    """A benchmark in its own module of this package (alignment quality, occlusion rendering, training, verification)."""
    import importlib

    return getattr(importlib.import_module(module), function)(**kwargs)


def write_json(path: Path, payload: dict) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2, default=float))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("results/bench"))
    ap.add_argument("--lfw-root", type=Path, default=DEFAULT_LFW)
    ap.add_argument("--faces", type=int, default=400, help="LFW images per section")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--align-pairs", type=int, default=200,
                    help="align_quality: pairs of pairsDevTrain.txt to judge (even same/different subset); 0 = all 2200")
    ap.add_argument("--align-rows", nargs="*", default=None,
                    help="align_quality rows: detector names, blazeface_raw_box, chain "
                         "(default: blazeface_raw_box, chain, each chain member but dlib_mmod, ~2 s per image)")
    ap.add_argument("--train-batch-size", type=int, default=64,
                    help="train / train_backbones: faces per step (a GPU wants more, e.g. 512)")
    ap.add_argument("--sections", nargs="*", default=["detect_align", "align_quality", "shard_read", "superres", "superres_speed",
                                                      "occlusion", "train", "train_backbones", "train_sr", "verify", "embed", "judges",
                                                      "noop_rerun", "plan"])
    args = ap.parse_args(argv)
    machine = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}
    tmp = args.out / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    have_lfw = (args.lfw_root / "lfw").is_dir()
    sections = {
        "detect_align": lambda: bench_detect_align(args.lfw_root, args.faces * 2, args.workers),
        "align_quality": lambda: _section("benchmarks.align", "benchmark_alignment", lfw_root=args.lfw_root,
                                          n_pairs=args.align_pairs, rows=args.align_rows, align_params=align_config()),
        "shard_read": lambda: bench_shard_read(args.lfw_root, args.faces, tmp),
        "superres": lambda: bench_superres(args.lfw_root, min(args.faces, 96), tmp),
        "superres_speed": lambda: _section("benchmarks.superres_speed", "benchmark_speed", tmp=tmp),
        "occlusion": lambda: _section("benchmarks.occlusion", "benchmark_rendering", workers=args.workers),
        "train": lambda: _section("benchmarks.recognition_training", "benchmark_training",
                                  overrides={"batch_size": args.train_batch_size}),
        "train_backbones": lambda: _section("benchmarks.recognition_training", "benchmark_backbones",
                                            overrides={"batch_size": args.train_batch_size}),
        "train_sr": lambda: _section("benchmarks.superres_training", "benchmark_training", tmp=tmp),
        "verify": lambda: _section("benchmarks.verification", "benchmark"),
        "embed": lambda: _section("benchmarks.verification", "benchmark_embedding", tmp=tmp),
        "judges": lambda: _section("benchmarks.verification", "benchmark_judges"),
        "noop_rerun": bench_noop_rerun,
        "plan": bench_plan,
    }
    needs_lfw = {"detect_align", "align_quality", "shard_read", "superres"}
    for name in args.sections:
        if name in needs_lfw and not have_lfw:
            result = {"skipped": f"LFW sample not found at {args.lfw_root}"}
        else:
            print(f"bench {name} ...", flush=True)
            result = sections[name]()
        write_json(args.out / f"{name}.json", {"section": name, "machine": machine, **result})
        print(json.dumps({name: result}, default=float))
    return 0
