"""Training methods: name -> settings. Each config entry under `methods:` names one of these as
`base` (or is itself one of these names) and may override any key of DEFAULTS."""
from __future__ import annotations

import copy
import difflib
import json

from .objective_specs import OBJECTIVE_SETTINGS, objective_spec

EXTERNAL_TEACHERS = ("sface", "dlib", "insightface_onnx")  # pretrained recognizers (robustface.metrics.identity)
BACKBONE_NAMES = ("mobilefacenet", "sface")  # model.BACKBONES (named here so that planning needs no torch)

# Common settings; the config's `recognition:` block overrides these, then the method's entry.
DEFAULTS: dict = {
    "embedding_dim": 128,
    "backbone": "mobilefacenet", # mobilefacenet | sface (SFace's own network, which can start from its weights)
    "head": "arcface",          # arcface | cosface
    "s": 64.0,
    "m": 0.5,                   # arcface: additive angular margin (rad); cosface: cosine margin (0.35 typical)
    "easy_margin": False,
    "batch_size": 64,
    "epochs": 2,
    "optimizer": "sgd",         # sgd | adamw
    "lr": 0.1,
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "scheduler": "cosine",      # cosine | step | constant
    "warmup_epochs": 0.0,
    "step_milestones": [0.5, 0.75, 0.9],  # fractions of training (scheduler: step), lr x 0.1 each
    "occlusion_ratio": 0.0,     # fraction of samples replaced by an occluded version
    "lr_ratio": 0.0,            # fraction replaced by a low-resolution version (upscaled as verification does)
    "flip": True,
    "brightness_jitter": 0.2,
    "teacher": None,            # None | sface | dlib | insightface_onnx | a configured method | path/to/best.pt
    "kd_lambda": 0.0,           # weight of feature KD: mean(1 - cos(student, teacher of the clean face))
    "rkd_lambda": 0.0,          # weight of relational KD: batch similarity matrices matched (losses.relational_kd_loss)
    "ce_weight": 1.0,           # weight of the label loss (margin head); 0 = pure distillation, no head
    "init_from_teacher": False, # start the student's backbone from its teacher: our checkpoint (same backbone and dim)
                                # or, with backbone sface, SFace's pretrained weights (teacher sface)
    "kd_projection": "auto",    # auto (only when the teacher's dim differs) | always | never
    "teacher_centering": False, # distil the teacher's embeddings less their mean over the training faces
                                # (re-normalised): for a teacher whose faces crowd around one direction
    "adaptive": False,
    "type_loss_weight": 0.0,    # weight of the occlusion-type cross-entropy (adaptive only)
    "adapter_hidden": 64,
    "val_max_pairs": 600,
    "max_steps_per_epoch": 0,   # 0 = full epoch; N = cap (smoke budgets)
    "device": "auto",           # auto | cpu | cuda | cuda:N
    "num_workers": 0,
    "torch_threads": 0,         # 0 = torch's default; on a shared CPU set it to the job's cores (oversubscription is ~8x slower)
    "preload": "auto",          # auto | true | false: read shards into memory when under preload_max_mb
    "preload_max_mb": 2048,
    "amp": "auto",              # auto (bf16 autocast on CUDA) | true | false
    "seed": 0,
    "log_every": 10,
    "objective": None,          # None | a published method's loss module (recognition/published): pairwise_kd | alob | rikd | ri_diversion
    **OBJECTIVE_SETTINGS,       # their own settings (documented in each module), e.g. dynamic_balancing, trimmer
}

# Distillation from a pretrained teacher: the student sees the clean face, an occluded version or a
# low-resolution version and is pulled to the teacher's embedding of the clean face; no labels needed.
_KD_VARIANTS = {"occlusion_ratio": 0.4, "lr_ratio": 0.3}
METHODS: dict[str, dict] = {
    "arcface_clean": {},                                   # label-only baseline
    "arcface_occ": {"occlusion_ratio": 0.5},
    "kd_sface": {**_KD_VARIANTS, "teacher": "sface", "kd_lambda": 1.0, "ce_weight": 0.0},
    "kd_sface_rkd": {**_KD_VARIANTS, "teacher": "sface", "rkd_lambda": 1.0, "ce_weight": 0.0},
    # dlib's descriptors crowd around one direction (random LFW faces at cos 0.84): uncentred, a student
    # that ignores identity already scores 1 - cos = 0.08
    "kd_dlib": {**_KD_VARIANTS, "teacher": "dlib", "kd_lambda": 1.0, "ce_weight": 0.0, "teacher_centering": True},
    # SFace's own network, started from its weights and distilled from its frozen self on the clean
    # face: it keeps SFace's clean embedding and learns to map occluded / LR faces onto it.
    "kd_sface_ft": {**_KD_VARIANTS, "teacher": "sface", "kd_lambda": 1.0, "ce_weight": 0.0,
                    "backbone": "sface", "init_from_teacher": True},
    "amofr_kd": {"occlusion_ratio": 0.5, "teacher": "sface", "kd_lambda": 1.0},
    "amofr_full": {
        "occlusion_ratio": 0.5,
        "teacher": "sface",
        "kd_lambda": 1.0,
        "adaptive": True,
        "type_loss_weight": 0.1,
    },
    # published methods (recognition/published); each has a switch for its own ablation
    "pairwise_kd": {"occlusion_ratio": 0.5, "teacher": "sface", "objective": "pairwise_kd"},
    "alob": {"occlusion_ratio": 0.5, "objective": "alob", "head": "cosface", "s": 30.0, "m": 0.4},
    "rikd": {"lr_ratio": 0.5, "teacher": "sface", "objective": "rikd", "ce_weight": 0.0},
    "ri_diversion": {"lr_ratio": 0.5, "objective": "ri_diversion"},
}


def resolve_settings(method: str, overrides: dict | None = None) -> dict:
    """DEFAULTS <- METHODS[base] <- overrides. `overrides` may carry `base` to name the method
    a custom config entry derives from (default: the method name itself)."""
    overrides = dict(overrides or {})
    base = overrides.pop("base", method)
    if base not in METHODS:
        raise ValueError(f"unknown method {base!r}: choose one of {sorted(METHODS)} (or set `base:` to one)")
    settings = copy.deepcopy(DEFAULTS)
    settings.update(METHODS[base])
    unknown = sorted(set(overrides) - set(DEFAULTS))
    if unknown:
        hints = [f"{k!r} -> did you mean {close[0]!r}?" for k in unknown if (close := difflib.get_close_matches(k, DEFAULTS, 1))]
        raise ValueError(f"method {method!r}: unknown setting(s) {unknown}{'; ' + ', '.join(hints) if hints else ''}; "
                         f"known: {sorted(DEFAULTS)}")
    settings.update(overrides)
    settings["method"], settings["base"] = method, base
    objective_spec(settings["objective"])  # an unknown objective is an error here, before any job
    _check_backbone(method, settings)
    if uses_teacher(settings) and not settings["teacher"]:
        raise ValueError(f"method {method!r}: kd_lambda or rkd_lambda > 0 (or objective {settings['objective']!r}) needs a `teacher`")
    if settings["ce_weight"] <= 0 and not uses_teacher(settings):
        raise ValueError(f"method {method!r}: ce_weight = 0 and no distillation: nothing to learn from")
    return settings


def _check_backbone(method: str, settings: dict) -> None:
    if settings["backbone"] not in BACKBONE_NAMES:
        raise ValueError(f"method {method!r}: unknown backbone {settings['backbone']!r}; choose one of {BACKBONE_NAMES}")
    if settings["init_from_teacher"] and not uses_teacher(settings):
        raise ValueError(f"method {method!r}: init_from_teacher needs a teacher to distil from")
    if settings["init_from_teacher"] and settings["teacher"] in EXTERNAL_TEACHERS:
        if (settings["teacher"], settings["backbone"], settings["embedding_dim"]) != ("sface", "sface", 128):
            raise ValueError(f"method {method!r}: init_from_teacher from a pretrained recognizer exists for SFace only "
                             f"(teacher sface, backbone sface, embedding_dim 128); got teacher {settings['teacher']!r}, "
                             f"backbone {settings['backbone']!r}, embedding_dim {settings['embedding_dim']}")


def uses_teacher(settings: dict) -> bool:
    objective = objective_spec(settings.get("objective"))
    return settings["kd_lambda"] > 0 or settings["rkd_lambda"] > 0 or bool(objective and objective.needs_teacher)


def mechanism_on(settings: dict) -> bool | None:
    """Whether a published method's own mechanism is on (False: its ablation); None: no objective."""
    objective = objective_spec(settings.get("objective"))
    return objective.mechanism_on(settings) if objective else None


def ablation_signature(settings: dict) -> str:
    """The settings with the method's name and its objective's mechanism switches left out: a
    method and its ablation share it (e.g. `pairwise_kd` at `pair_lambda: 64` is ablated only by a
    no-balancing entry at the same weight)."""
    objective = objective_spec(settings.get("objective"))
    skip = {"method", *(objective.MECHANISM_KEYS if objective else ())}
    return json.dumps({k: v for k, v in sorted(settings.items()) if k not in skip}, sort_keys=True, default=str)


# Keys of the config's `recognition:` block that are not training settings.
CONFIG_ONLY_KEYS = {"budget", "budgets", "methods", "threads", "gpus_per_job", "teacher_models"}
# Common settings that only apply to methods whose base uses them (a clean baseline must not
# pick up the common occlusion ratio, for example).
METHOD_SCOPED_KEYS = {"occlusion_ratio", "lr_ratio", "teacher", "kd_lambda", "rkd_lambda", "adaptive", "type_loss_weight",
                      "objective", "init_from_teacher", *OBJECTIVE_SETTINGS}


def _scoped_key_applies(base: str, key: str) -> bool:
    """A method-scoped common key reaches `base` when its built-in entry uses the key (or its
    objective owns it)."""
    objective = objective_spec(METHODS[base].get("objective"))
    return bool(METHODS[base].get(key)) or bool(objective and key in objective.SETTINGS)


def config_overrides(recognition: dict, method: str) -> dict:
    """Overrides for `method` from the config's `recognition:` block:
    common keys <- budgets[budget] <- methods[method] (the JSON the train rule passes)."""
    recognition = recognition or {}
    entries = recognition.get("methods") or {}
    if method not in entries:
        raise ValueError(f"method {method!r} is not configured under recognition.methods ({sorted(entries)})")
    entry = dict(entries[method] or {})
    base = entry.get("base", method)
    if base not in METHODS:
        raise ValueError(f"method {method!r}: base {base!r} unknown; choose one of {sorted(METHODS)}")
    overrides = {k: v for k, v in recognition.items() if k not in CONFIG_ONLY_KEYS}
    for key in METHOD_SCOPED_KEYS & set(overrides):
        if not _scoped_key_applies(base, key):
            overrides.pop(key)
    budget = recognition.get("budget", "small")
    budgets = recognition.get("budgets") or {}
    if budgets and budget not in budgets:
        raise ValueError(f"recognition.budget {budget!r} is not one of recognition.budgets ({sorted(budgets)})")
    overrides.update(budgets.get(budget) or {})
    overrides.update(entry)
    overrides["base"] = base
    return overrides


def method_settings(recognition: dict, method: str) -> dict:
    return resolve_settings(method, config_overrides(recognition, method))


def distillation_teacher(recognition: dict, method: str) -> str | None:
    """The teacher `method` distils from (None: no distillation)."""
    settings = method_settings(recognition, method)
    return settings["teacher"] if uses_teacher(settings) else None


def teacher_method(recognition: dict, method: str) -> str | None:
    """The configured method whose best.pt is `method`'s teacher (None: no KD, or an external one)."""
    teacher = distillation_teacher(recognition, method)
    return teacher if teacher in (recognition.get("methods") or {}) else None


def external_teacher(recognition: dict, method: str) -> str | None:
    """The pretrained recognizer (sface, dlib, insightface_onnx) `method` distils from, if any."""
    teacher = distillation_teacher(recognition, method)
    return teacher if teacher in EXTERNAL_TEACHERS else None
