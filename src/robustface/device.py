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
