# Shared names for every rule file: dataset, shards, variants, the SR models that can run.
import os

from robustface.superres.registry import MODELS as SR_REGISTRY

PY = sys.executable  # the interpreter running snakemake (the project's venv)
DS = config["dataset"]
SHARDS = [f"{i:04d}" for i in range(config["n_shards"])]
RESOLUTIONS = [int(r) for r in config["degrade"]["resolutions"]]
OCC_TYPES = [name for name, p in config["occlusion"]["types"].items() if p.get("enabled", True)]
VARIANTS = list(config["variants"])
for _variant in VARIANTS:
    if _variant != "clean" and _variant not in OCC_TYPES:
        raise ValueError(f"variant {_variant!r} is neither 'clean' nor an enabled occlusion type {OCC_TYPES}")


def sr_weights_path(model):
    settings = config["superres"]["models"][model]
    spec = SR_REGISTRY[model].weights
    return settings.get("weights") or (f"resources/weights/{spec.filename}" if spec else None)


def _sr_model_plan():
    """Split the configured SR models into those that run and those reported as not computed.
    enabled: true -> runs (missing weights are fetched by the download rule, or fail clearly);
    auto -> runs when its weights are on disk; false -> left out."""
    run, missing = [], []
    for model, settings in config["superres"]["models"].items():
        if model not in SR_REGISTRY:
            raise ValueError(f"unknown SR model {model!r} in config; known: {sorted(SR_REGISTRY)}")
        enabled = settings.get("enabled", "auto")
        weights = sr_weights_path(model)
        if enabled is False or enabled == "false":
            continue
        if enabled == "auto" and weights and not os.path.exists(weights):
            spec = SR_REGISTRY[model].weights
            missing.append({"model": model, "reason": f"missing weights: {weights} (official {spec.url} sha256={spec.sha256}); "
                                                      "run `snakemake download_weights` where a network is available"})
            continue
        run.append(model)
    return run, missing


SR_MODELS_RUN, SR_MODELS_MISSING = _sr_model_plan()


wildcard_constraints:
    shard=r"\d{4}",
    res=r"\d+",
    variant=r"[A-Za-z0-9_]+",
    model=r"[A-Za-z0-9_]+",
    otype=r"[A-Za-z0-9_]+",
    method=r"[A-Za-z0-9_]+",


def as_json(value):
    """Config values travel to stages as JSON in `params:` so an edit reruns only that stage."""
    return json.dumps(value, sort_keys=True)


def aligned_shard(shard):
    return f"resources/{DS}/aligned/shard-{shard}.h5"


def hr_shard(variant, shard):
    """The HR faces of a variant: aligned for clean, the occluded shard for an occlusion type."""
    if variant == "clean":
        return aligned_shard(shard)
    return f"resources/{DS}/occluded/{variant}/shard-{shard}.h5"


def lr_shard(variant, res, shard):
    return f"resources/{DS}/lr/{variant}/{res}/shard-{shard}.h5"


def sr_shard(model, variant, res, shard):
    return f"resources/{DS}/sr/{model}/{variant}/{res}/shard-{shard}.h5"


OCCLUSION_OUTPUTS = ["results/occlusion_stats.csv"] if OCC_TYPES else []
