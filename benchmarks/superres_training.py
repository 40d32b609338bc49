"""`python -m benchmarks --sections train_sr`: cost of one train-sr step per model and LR resolution
(batch of 8, identity loss on, degradation included), to size the `superres.train` budgets, and
what the GAN term (`adversarial_weight`: a discriminator forward/backward per step) adds to it.

Wall seconds depend on what else runs on the machine; CPU seconds of the process (1 torch thread)
much less so: on an idle 2-core box a step takes about cpu_seconds / 1.7 of wall time.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from robustface.h5io import write_shard

# (model, train_layers, adversarial_weight, discriminator_features)
CONFIGS = [("swinir_face", "all", 0.0, 64), ("swinir_face", "all", 0.1, 64), ("swinir_face", "all", 0.1, 32),
           ("rrdb_face", "tail:4", 0.0, 64), ("rrdb_face", "all", 0.0, 64)]


def _faces(tmp: Path) -> list[str]:
    rng = np.random.default_rng(0)
    n = 24
    path = tmp / "train_sr_bench" / "aligned.h5"
    write_shard(path, {"images": rng.integers(0, 256, (n, 112, 112, 3), dtype=np.uint8),
                       "image_id": [f"f{i}" for i in range(n)], "person": [f"p{i // 2}" for i in range(n)],
                       "split": ["train"] * 20 + ["val"] * 4}, {"hr_size": 112})
    return [str(path)]


def benchmark_training(tmp: Path, resolutions: tuple[int, ...] = (16, 32, 64), batch_size: int = 8, steps: int = 2) -> dict:
    from robustface.recognition.model import FaceRecognizer, ModelSpec
    from robustface.superres.train import SRTrainer

    aligned = _faces(tmp)
    recognizer = tmp / "train_sr_bench" / "recognizer.pt"
    torch.save({"model": FaceRecognizer(ModelSpec()).state_dict(), "spec": ModelSpec().to_dict()}, recognizer)
    threads = torch.get_num_threads()
    rows = []
    for model, layers, adversarial, features in CONFIGS:
        for res in resolutions:
            settings = {"batch_size": batch_size, "torch_threads": 1, "device": "cpu", "train_layers": layers,
                        "init": False, "val_faces": 4, "adversarial_weight": adversarial, "discriminator_features": features}
            trainer = SRTrainer(model, res, "pil_bicubic", aligned, tmp / "train_sr_bench" / f"{model}_{res}_{adversarial}_{features}",
                                settings, identity_model=str(recognizer))
            trainer.train_step(0)  # warm-up
            cpu, wall = [], []
            for step in range(1, steps + 1):
                c0, w0 = time.process_time(), time.perf_counter()
                trainer.train_step(step)
                cpu.append(time.process_time() - c0)
                wall.append(time.perf_counter() - w0)
            rows.append({"model": model, "train_layers": layers, "adversarial_weight": adversarial,
                         "discriminator_features": features if adversarial else None, "res": res,
                         "batch_size": batch_size, "trainable_parameters": trainer.trainable,
                         "cpu_seconds_per_step": min(cpu), "wall_seconds_per_step": min(wall)})
            gan = f"adversarial {adversarial}, discriminator width {features}" if adversarial else "no GAN term"
            print(f"train_sr {model} ({layers}, {gan}) @ {res}px: {min(cpu):.2f} CPU-s / step of {batch_size}",
                  flush=True)
    torch.set_num_threads(threads)
    return {"rows": rows, "torch_threads": 1, "cpu_budget": cpu_budget_estimate(rows), "gan_cost": gan_cost(rows),
            "note": "1 torch thread; idle 2-core wall time per step ~ cpu_seconds_per_step / 1.7"}


def gan_cost(rows: list[dict]) -> list[dict]:
    """CPU-s per step with the GAN term / without it, same model, layers and resolution, same run,
    per discriminator width."""
    plain = {(r["model"], r["train_layers"], r["res"]): r["cpu_seconds_per_step"] for r in rows if not r["adversarial_weight"]}
    return [{"model": r["model"], "res": r["res"], "discriminator_features": r.get("discriminator_features"),
             "ratio": r["cpu_seconds_per_step"] / plain[(r["model"], r["train_layers"], r["res"])]}
            for r in rows if r["adversarial_weight"] and (r["model"], r["train_layers"], r["res"]) in plain]


def cpu_budget_estimate(rows: list[dict], config_path: Path = Path(__file__).resolve().parents[1] / "config.yaml",
                        goal_minutes: float = 40.0) -> list[dict]:
    """Training minutes per model and resolution that the shipped `cpu` budget implies on an idle
    2-core box: its steps (per resolution) x the measured CPU-s per step / 1.7, validation not counted."""
    import yaml

    from robustface.superres.train_settings import resolve_train_settings

    train_cfg = {**(yaml.safe_load(config_path.read_text())["superres"].get("train") or {}), "budget": "cpu"}
    out = []
    for row in rows:
        settings = resolve_train_settings(train_cfg, row["model"], row["res"])
        if settings["train_layers"] != row["train_layers"] or settings["adversarial_weight"] != row["adversarial_weight"]:
            continue  # a configuration the budget does not use
        minutes = settings["steps"] * row["cpu_seconds_per_step"] / 1.7 / 60
        out.append({"model": row["model"], "res": row["res"], "steps": settings["steps"], "minutes": minutes,
                    "within_goal": minutes <= goal_minutes})
    return out
