"""Planning is torch-free: `snakemake -n` of the whole sample DAG and `snakemake --lint` load
none of the stages' heavy libraries (torch, cv2, dlib, mediapipe, ...). Wall time is a benchmark
(`python -m benchmarks --sections plan`), not asserted here."""
from __future__ import annotations

import subprocess
import sys

import pytest

from robustface.dryrun import HEAVY_MODULES, dry_run, sample_workdir


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return sample_workdir(tmp_path_factory.mktemp("plan"))


def test_dry_run_of_the_whole_dag_imports_no_heavy_library(workdir):
    result = dry_run(workdir, "-n", "--cores", "2")
    assert result["returncode"] == 0, result["output"][-3000:]
    assert "superres" in result["output"] and "verify" in result["output"]  # the whole DAG was planned
    assert result["loaded"] == [], f"planning imported {result['loaded']}"


def test_lint_imports_no_heavy_library(workdir):
    result = dry_run(workdir, "--lint")
    assert result["returncode"] == 0, result["output"][-3000:]
    assert result["loaded"] == [], f"--lint imported {result['loaded']}"


def test_the_probe_sees_a_heavy_import(tmp_path):
    """The probe is not blind: a Snakefile that imports torch is reported."""
    (tmp_path / "Snakefile").write_text("import torch\n\nrule all:\n    output: 'x'\n    shell: 'touch {output}'\n")
    result = dry_run(tmp_path, "-n", "--cores", "1", snakefile=tmp_path / "Snakefile")
    assert result["returncode"] == 0, result["output"][-2000:]
    assert "torch" in result["loaded"]


def test_planner_modules_import_no_heavy_library():
    """The modules the Snakefiles import, in a fresh interpreter (no snakemake in between)."""
    code = ("import sys, robustface.planning.plan, robustface.planning.verify, robustface.planning.train_sr, "
            "robustface.recognition.methods, robustface.verification.pairs; robustface.planning.official_weights(); "
            f"print(','.join(m for m in {HEAVY_MODULES!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == ""
