"""Shared fixtures: where the real LFW sample is, and package-shipped face photos."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
LFW_ROOT = REPO.parent / "shared" / "data" / "lfw-devtrain"
LFW_IMAGES = LFW_ROOT / "lfw"


def shipped_config() -> dict:
    """The checkout's config.yaml, validated against the schema (a fresh dict each call)."""
    import yaml
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    validate(config, str(REPO / "workflow/schemas/config.schema.yaml"))
    return config


def lfw_available() -> bool:
    return LFW_IMAGES.is_dir()


requires_lfw = pytest.mark.skipif(not lfw_available(), reason=f"{LFW_ROOT} is absent")


def lfw_files(n: int, min_per_person: int = 1) -> list[Path]:
    """The first n LFW images (sorted, deterministic) of people with >= min_per_person images."""
    out: list[Path] = []
    for person in sorted(LFW_IMAGES.iterdir()):
        files = sorted(person.glob("*.jpg"))
        if len(files) >= min_per_person:
            out.extend(files)
        if len(out) >= n:
            break
    return out[:n]


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="session")
def aligner():
    from robustface.align.pipeline import FaceAligner

    with FaceAligner() as a:
        yield a


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> Path:
    """The work directory of one finished sample run: its tables and figures (tests/sample_run.py)."""
    from sample_run import run_all

    return run_all(tmp_path_factory.mktemp("sample_run"))
