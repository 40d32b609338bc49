"""What the settings resolver and the planner need of each published objective, without torch:
its name, its own settings (with defaults), the loss.csv columns it reports, whether it needs a
teacher, and whether its mechanism is on (False = the method's ablation). The nn.Module
objectives in published/ inherit their spec, so this is the one home of these facts."""
from __future__ import annotations

from typing import Any, ClassVar


class ObjectiveSpec:
    name: ClassVar[str]
    SETTINGS: ClassVar[dict[str, Any]] = {}   # its own settings with their defaults
    PARTS: ClassVar[tuple[str, ...]] = ()     # loss.csv columns it reports
    MECHANISM_KEYS: ClassVar[tuple[str, ...]] = ()  # the settings its ablation switches off
    needs_teacher: ClassVar[bool] = False

    @staticmethod
    def mechanism_on(settings: dict) -> bool:
        """Whether the method's own mechanism is active (False: the method's ablation)."""
        return True


class PairwiseKDSpec(ObjectiveSpec):
    name = "pairwise_kd"
    SETTINGS = {"pair_loss": "cosine", "pair_lambda": 1.0, "pair_margin": 0.2, "dynamic_balancing": True}
    PARTS = ("pair_loss", "distilled_share")
    MECHANISM_KEYS = ("dynamic_balancing",)
    needs_teacher = True

    @staticmethod
    def mechanism_on(settings: dict) -> bool:
        return bool(settings["dynamic_balancing"])


class ALOBSpec(ObjectiveSpec):
    name = "alob"
    SETTINGS = {"trimmer": True, "purification": True, "grl_lambda": 1.0, "adv_weight": 1.0}
    PARTS = ("adv_loss", "purified_share")
    MECHANISM_KEYS = ("trimmer", "purification")

    @staticmethod
    def mechanism_on(settings: dict) -> bool:
        return bool(settings["trimmer"] and settings["purification"])


class RIKDSpec(ObjectiveSpec):
    name = "rikd"
    SETTINGS = {"shared_classifier": True, "kd_temperature": 4.0, "rikd_lambda": 1.0, "rikd_scale": 30.0}
    PARTS = ("kl_loss", "student_ce_loss", "teacher_ce_loss")
    MECHANISM_KEYS = ("shared_classifier",)
    needs_teacher = True

    @staticmethod
    def mechanism_on(settings: dict) -> bool:
        return bool(settings["shared_classifier"])


class RIDiversionSpec(ObjectiveSpec):
    name = "ri_diversion"
    SETTINGS = {"diversion_lambda": 1.0, "ri_margin": 0.0, "perceptibility_attention": True, "ui_res": 8,
                "ui_faces": 16, "ui_momentum": 0.9}
    PARTS = ("div_loss", "ui_cos")
    MECHANISM_KEYS = ("diversion_lambda", "perceptibility_attention")

    @staticmethod
    def mechanism_on(settings: dict) -> bool:
        return settings["diversion_lambda"] > 0 and bool(settings["perceptibility_attention"])


SPECS: dict[str, type[ObjectiveSpec]] = {cls.name: cls for cls in (PairwiseKDSpec, ALOBSpec, RIKDSpec, RIDiversionSpec)}
OBJECTIVE_SETTINGS: dict = {k: v for cls in SPECS.values() for k, v in cls.SETTINGS.items()}
OBJECTIVE_PARTS: list[str] = list(dict.fromkeys(p for cls in SPECS.values() for p in cls.PARTS))


def objective_spec(name: str | None) -> type[ObjectiveSpec] | None:
    if name is None:
        return None
    if name not in SPECS:
        raise ValueError(f"unknown objective {name!r}; choose one of {sorted(SPECS)}")
    return SPECS[name]
