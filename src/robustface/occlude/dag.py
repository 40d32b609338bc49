"""What the occlusion rules pass to their stages (kept out of the Snakefile so it is testable)."""
from __future__ import annotations

import json
import shlex

WORKFLOW_ONLY_KEYS = {"enabled"}  # select types; do not change a type's output


def type_params_arg(config: dict, otype: str) -> str:
    """One type's renderer params as a shell-quoted JSON object: editing one type's params
    changes only that type's `params:` and so reruns only its jobs."""
    types = config["occlusion"]["types"]
    if otype not in types:
        raise ValueError(f"occlusion type {otype!r} is not in config occlusion.types {sorted(types)}")
    params = {k: v for k, v in (types[otype] or {}).items() if k not in WORKFLOW_ONLY_KEYS}
    return shlex.quote(json.dumps(params, sort_keys=True))


def report_args(ds: str, types: list[str], shards: list[str]) -> str:
    """`--shards TYPE=H5 ... --rejects TYPE=CSV ...` for every type and shard."""
    root = f"resources/{ds}/occluded"
    shard_args = " ".join(shlex.quote(f"{t}={root}/{t}/shard-{s}.h5") for t in types for s in shards)
    reject_args = " ".join(shlex.quote(f"{t}={root}/{t}/rejects-{s}.csv") for t in types for s in shards)
    return f"--shards {shard_args} --rejects {reject_args}"
