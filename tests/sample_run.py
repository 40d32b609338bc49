"""One run of the sample DAG up to its tables and figures, small enough for the test suite: 2
shards, 16 px, bicubic + Real-ESRGAN (GFPGAN named missing), one occlusion type, one trained method
(arcface_clean, `small` budget) besides the pretrained reference. The session fixture `sample_run`
(conftest.py) runs it once for test_workflow.py and test_report.py."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
OCCLUSION = "sunglasses"
METHODS = {"arcface_clean": {}}
# SR table and grids, occlusion stats and sheets, training, verification table and figures, method comparison,
# the SR identity table
TARGETS = ["results/sr_metrics.csv", "results/figures/sr_grid_clean.png", f"results/figures/sr_grid_{OCCLUSION}.png",
           "results/occlusion_stats.csv", "results/verification_metrics.csv", "results/method_comparison.csv",
           "results/sr_identity.csv"]

# test_config.yaml: overrides merged into config.yaml (tests edit and restore it)
SMALL = {
    "dataset": "sample",
    "n_shards": 2,
    "degrade": {"resolutions": [16]},
    "variants": ["clean", OCCLUSION],
    "verification": {"conditions": ["lr", "sr"]},
    "superres": {"models": {"bicubic": {"enabled": True},
                            "realesrgan": {"enabled": True, "weights": "resources/weights/RealESRGAN_x4plus_ncnn.pth"},
                            "gfpgan": {"enabled": "auto"}}},
}


def snakemake(workdir: Path, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    cmd = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile",
           str(workdir / "test_config.yaml"), "--cores", "2", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def base_config() -> dict:
    """The checkout's config.yaml with one method and one occlusion type. These go into the base
    file, not the overrides: --configfile merges dictionaries, so it cannot drop a method."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["recognition"]["methods"] = METHODS
    config["occlusion"]["types"] = {OCCLUSION: config["occlusion"]["types"][OCCLUSION]}
    return config


def prepare(workdir: Path) -> Path:
    (workdir / "config.yaml").write_text(yaml.safe_dump(base_config(), sort_keys=False))
    (workdir / "test_config.yaml").write_text(yaml.safe_dump(SMALL))
    return workdir


def run_all(workdir: Path) -> Path:
    proc = snakemake(prepare(workdir), *TARGETS)
    if proc.returncode != 0:
        raise AssertionError(f"sample run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return workdir
