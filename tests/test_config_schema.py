"""Defaults live in workflow/schemas/config.schema.yaml only: robustface.config_schema reads them,
stages run by hand take theirs from it, and config.yaml does not contradict it."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from robustface.config_schema import load_schema, schema_default, schema_defaults

REPO = Path(__file__).resolve().parents[1]
# config.yaml entries that are the run's choices (collections the schema defaults to a minimum), not defaults
CHOICES = {"variants", "superres.models", "superres.train", "occlusion.types", "recognition"}


def _disagreements(config: dict, schema: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in config.items():
        name, node = prefix + key, (schema.get("properties") or {}).get(key)
        if node is None or name in CHOICES:
            continue
        if isinstance(value, dict) and "properties" in node:
            out += _disagreements(value, node, name + ".")
        elif "default" in node and node["default"] != value:
            out.append(f"{name}: config.yaml {value!r}, schema {node['default']!r}")
    return out


def test_config_yaml_agrees_with_the_schema_defaults():
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    assert _disagreements(config, load_schema()) == []
    assert "tile_overlap" in config["superres"]  # the key the check above covers for SR tiling


def test_schema_default_reads_one_key_and_names_a_missing_one():
    assert schema_default("superres.tile_overlap") == 8
    assert schema_default("align.detectors") == ["blazeface", "dlib_hog", "dlib_hog_up2", "dlib_mmod"]
    schema_default("align.detectors").append("x")  # a copy: the cached schema is not changed
    assert "x" not in schema_default("align.detectors")
    assert schema_defaults("align")["max_decode_px"] == 1024 and "detector" not in schema_defaults("align")
    with pytest.raises(KeyError, match="'superres.tile_size' is not in config.schema.yaml"):
        schema_default("superres.tile_size")
    with pytest.raises(KeyError, match="'align.detector' has no default"):
        schema_default("align.detector")


def test_stages_run_by_hand_default_to_the_schema():
    from robustface.superres.inference import TileConfig
    from robustface.superres.stage import PARAM_DEFAULTS, parse_params

    assert parse_params("{}")["tile_overlap"] == 8 == TileConfig().overlap  # was 10 in the code, 8 in the schema
    assert {k: PARAM_DEFAULTS[k] for k in ("tile", "batch_size", "device")} == {"tile": 0, "batch_size": "auto", "device": "auto"}
