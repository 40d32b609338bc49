"""Published methods as loss modules of the recognition registry (see base.py for the interface):
pairwise masked/unmasked KD, ALOB, resolution-invariant KD, recognizability-index diversion."""
from __future__ import annotations

from ..objective_specs import OBJECTIVE_PARTS, OBJECTIVE_SETTINGS, objective_spec
from .alob import ALOB
from .base import Context, Objective, Step
from .pairwise import PairwiseKD
from .ri import RIDiversion
from .rikd import RIKD

OBJECTIVES: dict[str, type[Objective]] = {cls.name: cls for cls in (PairwiseKD, ALOB, RIKD, RIDiversion)}


def objective_class(name: str | None) -> type[Objective] | None:
    return OBJECTIVES[name] if objective_spec(name) else None


__all__ = ["OBJECTIVES", "OBJECTIVE_PARTS", "OBJECTIVE_SETTINGS", "Context", "Objective", "Step", "objective_class"]
