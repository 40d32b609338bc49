"""The torch device of a `device` setting (auto | cpu | cuda | cuda:N), for every torch stage.

Imports torch: the planner (Snakefile, dag.py) must never import this module.
"""
from __future__ import annotations

import torch


def resolve_device(device: str = "auto") -> torch.device:
    """`auto` -> cuda when available, else cpu; a cuda device without CUDA is an error, not a silent CPU run."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but CUDA is not available (use --device cpu or auto)")
    return torch.device(device)


def training_device(settings: dict) -> tuple[torch.device, bool]:
    """(device, use_amp) of a trainer's settings (`device`, `amp`: auto | bool, `torch_threads`: 0 = torch's
    default); amp `auto` means bf16/fp16 autocast on CUDA only."""
    device = resolve_device(str(settings["device"]))
    use_amp = device.type == "cuda" if settings["amp"] == "auto" else bool(settings["amp"])
    if settings["torch_threads"]:
        torch.set_num_threads(int(settings["torch_threads"]))
    return device, use_amp
