"""Training throughput: the real loop (DataLoader + augmentation + step) vs a bare
forward+backward+optimizer step repeated on one batch already in memory (goal: within 1.5x)."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from robustface.h5io import write_shard
from robustface.recognition.data import to_model_input
from robustface.recognition.methods import resolve_settings
from robustface.recognition.trainer import Trainer


def _synthetic_shard(directory: Path, n_faces: int, n_people: int, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    path = directory / "shard-0000.h5"
    write_shard(path, {
        "images": rng.integers(0, 256, (n_faces, 112, 112, 3), dtype=np.uint8),
        "image_id": [f"face_{i:05d}" for i in range(n_faces)],
        "person": [f"person_{i % n_people:03d}" for i in range(n_faces)],
        "split": ["train"] * n_faces,
    })
    return str(path)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def benchmark_training(aligned: list[str] | None = None, occluded: dict[str, list[str]] | None = None,
                       method: str = "arcface_clean", overrides: dict | None = None,
                       steps: int = 6, warmup: int = 2) -> dict:
    """Returns {method, device, data_path, batch_size, threads, steps, real_loop_img_s,
    bare_fwd_bwd_img_s, ratio (bare / real; 1.0 = no overhead), data_share (share of the real
    loop's time spent producing batches: loading, variant choice, gathering)}. Without shards a synthetic one (random pixels) is
    used: throughput does not depend on the pixel values. KD methods are not benchmarked here
    (their per-step extra work is a cached-embedding lookup)."""
    overrides = {"batch_size": 64, **(overrides or {})}
    with tempfile.TemporaryDirectory(prefix="rf-train-bench-") as tmp:
        tmp = Path(tmp)
        if aligned is None:
            need = overrides["batch_size"] * (steps + warmup)
            aligned = [_synthetic_shard(tmp, need, max(2, need // 8))]
        settings = resolve_settings(method, {**overrides, "epochs": 1, "max_steps_per_epoch": 0, "kd_lambda": 0.0,
                                             "teacher": None, "val_max_pairs": 0})
        trainer = Trainer(settings, aligned, occluded or {}, tmp / "out")
        device, generator = trainer.device, torch.Generator().manual_seed(0)
        # enough batches for warmup + steps (cycle the loader if the data set is small)
        real_images, t0, first_batch, done, data_seconds = 0, None, None, 0, 0.0
        while done < warmup + steps:
            batches = iter(trainer.loader(done))
            while True:
                t_data = time.perf_counter()
                batch = next(batches, None)
                if batch is None:
                    break
                if done > warmup:
                    data_seconds += time.perf_counter() - t_data
                if first_batch is None:
                    first_batch = batch
                if done == warmup:
                    _sync(device)
                    t0 = time.perf_counter()
                trainer.train_step(batch, generator)
                if done >= warmup:
                    real_images += len(batch["label"])
                done += 1
                if done >= warmup + steps:
                    break
        _sync(device)
        real_seconds = time.perf_counter() - t0
        real = real_images / real_seconds

        x = to_model_input(first_batch["image"].to(device))
        labels = first_batch["label"].to(device)
        model, head, optimizer = trainer.model, trainer.head, trainer.optimizer
        for i in range(warmup + steps):
            if i == warmup:
                _sync(device)
                t0 = time.perf_counter()
            loss = F.cross_entropy(head(model(x)["raw"], labels), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        _sync(device)
        bare = steps * len(labels) / (time.perf_counter() - t0)
    return {"method": method, "device": str(device),
            "data_path": "preloaded tensors on the device" if trainer.preloaded is not None else "DataLoader",
            "channels_last": next(model.parameters()).is_contiguous(memory_format=torch.channels_last),
            "batch_size": int(len(labels)), "threads": torch.get_num_threads(), "steps": steps,
            "real_loop_img_s": real, "bare_fwd_bwd_img_s": bare, "ratio": bare / real, "data_share": data_seconds / real_seconds}


def benchmark_backbones(overrides: dict | None = None, steps: int = 4, warmup: int = 1) -> dict:
    """The training loop's throughput per backbone, measured one after the other in one run:
    {backbones: {name: {real_loop_img_s, bare_fwd_bwd_img_s}}, sface_time_over_mobilefacenet}
    (how many times longer a step of SFace's network takes than MobileFaceNet's)."""
    from robustface.recognition.methods import BACKBONE_NAMES

    keys = ("real_loop_img_s", "bare_fwd_bwd_img_s", "device", "threads", "batch_size")
    runs = {name: benchmark_training(overrides={**(overrides or {}), "backbone": name}, steps=steps, warmup=warmup)
            for name in BACKBONE_NAMES}
    return {"backbones": {name: {k: run[k] for k in keys} for name, run in runs.items()},
            "sface_time_over_mobilefacenet": runs["mobilefacenet"]["real_loop_img_s"] / runs["sface"]["real_loop_img_s"]}
