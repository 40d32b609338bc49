"""Published methods as loss modules of the recognition registry (see base.py for the interface):
pairwise masked/unmasked KD, ALOB, resolution-invariant KD, recognizability-index diversion."""
from __future__ import annotations

from .alob import ALOB
from .base import Context, Objective, Step
from .pairwise import PairwiseKD
from .ri import RIDiversion
from .rikd import RIKD

OBJECTIVES: dict[str, type[Objective]] = {cls.name: cls for cls in (PairwiseKD, ALOB, RIKD, RIDiversion)}
OBJECTIVE_SETTINGS: dict = {k: v for cls in OBJECTIVES.values() for k, v in cls.SETTINGS.items()}
OBJECTIVE_PARTS: list[str] = list(dict.fromkeys(p for cls in OBJECTIVES.values() for p in cls.PARTS))


def objective_class(name: str | None) -> type[Objective] | None:
    if name is None:
        return None
    if name not in OBJECTIVES:
        raise ValueError(f"unknown objective {name!r}; choose one of {sorted(OBJECTIVES)}")
    return OBJECTIVES[name]


__all__ = ["OBJECTIVES", "OBJECTIVE_PARTS", "OBJECTIVE_SETTINGS", "Context", "Objective", "Step", "objective_class"]
