"""The DAG's planning, torch-free: every path template (paths), the main plan (plan.Plan: which jobs
exist, their inputs and stage arguments; its super-resolution part in superres), how values reach
stages (args), and the plans built on it (verify.VerifyPlan, train_sr.TrainSRPlan). The Snakefiles
import these and only wire files.

Names load on first use (PEP 562): stage modules import `planning.paths` without the planners."""
from __future__ import annotations

import importlib

_HOMES = {"Plan": "plan", "official_weights": "plan", "as_json": "args", "keyed": "args", "values_of": "args",
          "TrainSRPlan": "train_sr", "VerifyPlan": "verify"}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
