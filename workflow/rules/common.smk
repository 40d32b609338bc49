# Shared names for every rule file. The planning logic and every path template live in
# src/robustface/planning/ (paths.py: the templates; plan.py: Plan).
from robustface.planning import paths
from robustface.planning.plan import NAME_PATTERN, Plan, as_json

PLAN = Plan(config)
DS = PLAN.ds
SHARDS = PLAN.shards
RESOLUTIONS = PLAN.resolutions
OCC_TYPES = PLAN.occ_types
VARIANTS = PLAN.variants
SR_MODELS_RUN = PLAN.sr_run
CONDA_ENV = "../../envs/robustface.yaml"


wildcard_constraints:
    shard=r"\d{4}",
    res=r"\d+",
    variant=NAME_PATTERN,
    model=NAME_PATTERN,
    otype=NAME_PATTERN,
    method=r"[A-Za-z0-9_]+",
