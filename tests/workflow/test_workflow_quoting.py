"""Paths and names a user types reach the shell quoted: the DAG runs (teacher cache, KD training,
verification, SR metrics) with an image folder, a working directory and a method name that hold a
space, an apostrophe and a `;`, and nothing in them is executed."""
from __future__ import annotations

import csv
import subprocess

import yaml

from robustface import sample
from test_workflow import REPO, SNAKEMAKE

HOSTILE = "it's a dir;touch PWNED;#"
METHOD = "kd it's;touch PWNED;#"
OCCLUSION = "shades"  # a user-named occlusion type (kind: the built-in renderer); names are [A-Za-z0-9_]+


def test_dag_runs_with_hostile_paths_and_runs_nothing_from_them(tmp_path):
    images = tmp_path / f"images {HOSTILE}"
    assert sample.main(["--out", str(images)]) == 0
    workdir = tmp_path / f"work {HOSTILE}"
    workdir.mkdir()
    base = yaml.safe_load((REPO / "config.yaml").read_text())
    # configs merge key by key: narrow the defaults' method and occlusion-type lists here
    base["recognition"]["methods"] = {}
    base["occlusion"]["types"] = {OCCLUSION: {**base["occlusion"]["types"]["sunglasses"], "kind": "sunglasses"}}
    (workdir / "config.yaml").write_text(yaml.safe_dump(base))
    config = {
        "dataset": "folder", "image_root": str(images), "n_shards": 1,
        "degrade": {"resolutions": [16]}, "variants": ["clean", OCCLUSION],
        "superres": {"models": {"bicubic": {"enabled": True}, "realesrgan": {"enabled": False},
                                "bsrgan": {"enabled": False}, "swinir": {"enabled": False}, "gfpgan": {"enabled": False}}},
        "recognition": {"budget": "small", "budgets": {"small": {"epochs": 1, "max_steps_per_epoch": 2, "batch_size": 4}},
                        "methods": {METHOD: {"base": "kd_sface", "torch_threads": 1}}},
        "verification": {"conditions": ["occluded", "lr"]},
    }
    (workdir / "test_config.yaml").write_text(yaml.safe_dump(config))
    cmd = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile",
           str(workdir / "test_config.yaml"), "--cores", "2", "results/sr_metrics.csv", "results/verification_metrics.csv"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert not list(tmp_path.rglob("PWNED")) and not (REPO / "PWNED").exists()
    assert (workdir / "resources/folder/teacher/sface/shard-0000.h5").is_file()
    with open(workdir / "results/verification_metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert {r["method"] for r in rows} == {METHOD, "sface"}
    assert {r["condition"] for r in rows} >= {"clean-clean", "clean-occluded", "lr-hr", "lr-lr"}
    assert {r["type_or_model"] for r in rows if r["condition"] == "clean-occluded"} == {OCCLUSION}
    with open(workdir / "results/sr_metrics.csv") as f:
        ok = [(r["model"], r["variant"]) for r in csv.DictReader(f) if r["status"] == "ok"]
    assert sorted(ok) == [("bicubic", "clean"), ("bicubic", OCCLUSION)]
