"""Settings of the face SR models trained here (`superres.train` in config.yaml); torch-free, so
the planner resolves them too.

Resolution order (later wins): DEFAULTS <- the common keys of `superres.train` <- budgets[budget]
<- budgets[budget].resolutions[<LR px>] <- models[<model>] <- budgets[budget].models[<model>].
A step's cost grows with the LR size (the networks run at LR resolution, x4), so a budget can give
larger resolutions fewer steps to keep its time per model and resolution.
"""
from __future__ import annotations

import math

DEFAULTS = {
    "steps": 20,             # optimiser steps
    "batch_size": 8,         # faces per step
    "lr": 2e-4,
    "weight_decay": 0.0,
    "warmup_steps": 0,
    "scheduler": "cosine",   # cosine | constant
    "grad_clip": 1.0,        # max gradient norm (0 = off)
    "ema": 0.0,              # decay of an exponential moving average of the weights (0 = off); saved as params_ema
    "l1_weight": 1.0,        # pixel loss (L1 on [0, 1] RGB at the HR size)
    "identity_weight": 0.1,  # 1 - cos(recognizer(SR), recognizer(HR)) through identity_model (frozen)
    "perceptual_weight": 0.0,  # LPIPS-Alex (needs metrics.lpips_backbone; skipped with a message when absent)
    "adversarial_weight": 0.0,  # GAN term through a U-Net discriminator trained alongside (Real-ESRGAN uses 0.1)
    "discriminator_lr": 1e-4,
    "discriminator_features": 64,  # U-Net discriminator width (Real-ESRGAN: 64); its cost grows with the square
    "init": True,            # start from the registry's init_from weights when the model has them
    "train_layers": "all",   # all | tail:K (only the last K blocks of the trunk and what follows are trained)
    "flip": True,
    "val_every": 10,         # steps between validations (and checkpoint writes)
    "val_faces": 64,         # val-split faces used for best-checkpoint selection
    "device": "auto",        # auto | cpu | cuda[:N]
    "amp": "auto",           # bf16 autocast on CUDA
    "torch_threads": 0,      # 0 = torch's default
}
STRUCTURE_KEYS = {"budget", "budgets", "models", "identity_model"}
SCHEDULERS = ("cosine", "constant")
JUDGES = ("sface", "dlib", "insightface_onnx")  # identity judges of the tables: never the loss network
DEFAULT_IDENTITY_MODEL = "kd_sface"


class TrainSettingsError(ValueError):
    pass


def _check_keys(where: str, values: dict, allowed: set) -> None:
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise TrainSettingsError(f"{where}: unknown key(s) {unknown}; known: {sorted(allowed)}")


def identity_model(train_cfg: dict | None) -> str:
    """The frozen recognizer of the identity loss: a recognition method name or a best.pt path."""
    name = str((train_cfg or {}).get("identity_model") or DEFAULT_IDENTITY_MODEL)
    if name in JUDGES:
        raise TrainSettingsError(f"superres.train.identity_model {name!r} is an identity judge of the tables; the "
                                 "loss must use another network (a recognition method of ours, e.g. kd_sface)")
    return name


def _resolution_overrides(where: str, by_res: dict, res: int | None) -> dict:
    """budgets[budget].resolutions: {LR px: overrides}; keys may be YAML ints or strings."""
    if not isinstance(by_res, dict):
        raise TrainSettingsError(f"{where}: expected a mapping LR px -> settings, got {by_res!r}")
    table = {}
    for key, overrides in by_res.items():
        try:
            table[int(key)] = overrides or {}
        except (TypeError, ValueError):
            raise TrainSettingsError(f"{where}: key {key!r} is not an LR resolution in px") from None
        _check_keys(f"{where}.{key}", table[int(key)], set(DEFAULTS))
    return table.get(int(res), {}) if res is not None else {}


def resolve_train_settings(train_cfg: dict | None, model: str, res: int | None = None) -> dict:
    cfg = dict(train_cfg or {})
    _check_keys("superres.train", cfg, set(DEFAULTS) | STRUCTURE_KEYS)
    budgets = cfg.get("budgets") or {}
    budget_name = cfg.get("budget", "small")
    if budget_name not in budgets and budget_name != "small":
        raise TrainSettingsError(f"superres.train.budget {budget_name!r} is not in superres.train.budgets {sorted(budgets)}")
    budget = dict(budgets.get(budget_name) or {})
    budget_models = budget.pop("models", None) or {}
    by_res = _resolution_overrides(f"superres.train.budgets.{budget_name}.resolutions", budget.pop("resolutions", None) or {}, res)
    _check_keys(f"superres.train.budgets.{budget_name}", budget, set(DEFAULTS))
    settings = {**DEFAULTS, **{k: v for k, v in cfg.items() if k not in STRUCTURE_KEYS}, **budget, **by_res}
    for where, overrides in ((f"superres.train.models.{model}", (cfg.get("models") or {}).get(model) or {}),
                             (f"superres.train.budgets.{budget_name}.models.{model}", budget_models.get(model) or {})):
        _check_keys(where, overrides, set(DEFAULTS))
        settings.update(overrides)
    validate_settings(settings)
    return settings


def validate_settings(s: dict) -> None:
    _check_keys("train-sr settings", s, set(DEFAULTS))
    for key in ("steps", "batch_size", "val_every", "val_faces", "discriminator_features"):
        if not isinstance(s[key], int) or isinstance(s[key], bool) or s[key] < 1:
            raise TrainSettingsError(f"{key} must be an integer >= 1, got {s[key]!r}")
    for key in ("lr", "discriminator_lr", "weight_decay", "grad_clip", "l1_weight", "identity_weight", "perceptual_weight",
                "adversarial_weight", "warmup_steps"):
        if not isinstance(s[key], (int, float)) or isinstance(s[key], bool) or not math.isfinite(s[key]) or s[key] < 0:
            raise TrainSettingsError(f"{key} must be a number >= 0, got {s[key]!r}")
    if not 0 <= s["ema"] < 1:
        raise TrainSettingsError(f"ema must be in [0, 1), got {s['ema']!r}")
    for key in ("lr", "discriminator_lr"):
        if s[key] <= 0:
            raise TrainSettingsError(f"{key} must be > 0, got {s[key]!r}")
    if s["l1_weight"] + s["identity_weight"] + s["perceptual_weight"] <= 0:
        raise TrainSettingsError("at least one of l1_weight, identity_weight, perceptual_weight must be > 0")
    if s["scheduler"] not in SCHEDULERS:
        raise TrainSettingsError(f"scheduler must be one of {SCHEDULERS}, got {s['scheduler']!r}")
    train_layers_blocks(s["train_layers"])


def train_layers_blocks(value) -> int | None:
    """`all` -> None; `tail:K` -> K (K >= 1)."""
    if value == "all":
        return None
    text = str(value)
    if text.startswith("tail:") and text[5:].isdigit() and int(text[5:]) >= 1:
        return int(text[5:])
    raise TrainSettingsError(f"train_layers must be 'all' or 'tail:K' with K >= 1, got {value!r}")
