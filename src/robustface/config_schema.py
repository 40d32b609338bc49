"""Defaults of config.yaml, read from workflow/schemas/config.schema.yaml: the one place they live.

A stage run by hand (without the DAG, which always passes the validated config) takes its defaults
from here, so it cannot disagree with a workflow run. Torch-free; the schema is read once.
"""
from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


@lru_cache(maxsize=1)
def load_schema() -> dict:
    import yaml

    if not SCHEMA_PATH.is_file():
        raise FileNotFoundError(f"config schema not found at {SCHEMA_PATH} (robustface runs from its checkout)")
    return yaml.safe_load(SCHEMA_PATH.read_text())


def _node(dotted: str) -> dict:
    node = load_schema()
    for part in dotted.split("."):
        props = node.get("properties") or {}
        if part not in props:
            raise KeyError(f"config key {dotted!r} is not in {SCHEMA_PATH.name} (no {part!r} there)")
        node = props[part]
    return node


def schema_default(dotted: str):
    """The schema's default of one key (`superres.tile_overlap`); a copy, safe to modify."""
    node = _node(dotted)
    if "default" not in node:
        raise KeyError(f"config key {dotted!r} has no default in {SCHEMA_PATH.name}")
    return copy.deepcopy(node["default"])


def schema_defaults(section: str) -> dict:
    """{key: default} of every key of a config section (`align`) that has a default."""
    return {key: copy.deepcopy(node["default"]) for key, node in (_node(section).get("properties") or {}).items()
            if "default" in node}
