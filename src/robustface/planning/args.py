"""How planned values reach a stage: config values as JSON `params:`, files as `key=path` items."""
from __future__ import annotations

import json
import shlex


def as_json(value) -> str:
    """Config values travel to stages as JSON in `params:` so an edit reruns only that stage."""
    return json.dumps(value, sort_keys=True)


def values_of(items: list[tuple[str, str]]) -> list[str]:
    return [path for _, path in items]


def keyed(items: list[tuple[str, str]]) -> list[str]:
    """`key=path` stage arguments, shell-quoted (paths come from the user's config)."""
    return [shlex.quote(f"{key}={path}") for key, path in items]
