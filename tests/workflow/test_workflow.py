"""The Snakemake DAG end to end on the embedded sample: a real run, a no-op rerun, an edit of
one SR model's settings that reruns only that model's jobs, lint, and config validation."""
from __future__ import annotations

import csv
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from pngcheck import distinct_colours, read_rgb
from sample_run import SMALL, SNAKEMAKE, snakemake

REPO = Path(__file__).resolve().parents[2]


def planned_jobs(dry_run_output: str) -> dict[str, int]:
    """Job counts from the 'Job stats' table of a dry run."""
    table = dry_run_output.split("Job stats:")[-1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m.group(1) != "total"}


@pytest.fixture(scope="module")
def finished_run(sample_run):
    return sample_run


def test_default_run_writes_sr_metrics_for_every_model_and_names_missing_weights(finished_run):
    with open(finished_run / "results/sr_metrics.csv") as f:
        table = list(csv.DictReader(f))
    rows = {r["model"]: r for r in table if r["variant"] in ("clean", "")}
    occluded = {r["model"]: r for r in table if r["variant"] == "sunglasses"}
    assert set(occluded) == {"bicubic", "realesrgan"}  # every variant x resolution x model that can run
    for model in ("bicubic", "realesrgan"):
        row = rows[model]
        assert int(row["n"]) >= 8 and row["res"] == "16" and row["kernel"] == "pil_bicubic" and row["hr_size"] == "112"
        assert 15 < float(row["psnr_y_mean"]) < 40 and 0 < float(row["ssim_y_mean"]) < 1
        assert 0 < float(row["id_cos_mean"]) <= 1
        assert row["lpips_mean"] == "" and "alexnet" in row["lpips_status"]
    gfpgan = rows["gfpgan"]
    assert gfpgan["psnr_y_mean"] == "" and "GFPGANv1.4.pth" in gfpgan["status"] and "sha256=" in gfpgan["status"]
    grid = read_rgb(finished_run / "results/figures/sr_grid_clean.png")
    columns = 1 + len(SMALL["degrade"]["resolutions"]) * 3  # HR, then per resolution: LR, bicubic, realesrgan
    assert grid.shape == (round((4 * 1.6 + 0.2) * 150), round(columns * 1.6 * 150), 3)  # grid_faces = 4 rows
    assert distinct_colours(grid) > 3000  # face pixels, not empty axes


def test_method_comparison_reuses_the_embeddings_verify_saved(finished_run):
    import pandas as pd

    table = pd.read_csv(finished_run / "results/method_comparison.csv")
    assert {"arcface_clean", "sface"} <= set(table.method)
    for method in ("arcface_clean", "sface"):
        log = (finished_run / f"logs/method_eval/{method}.log").read_text()
        reused = int(re.search(r"(\d+) embeddings reused from results/verification/" + method + r"-embeddings\.npz", log).group(1))
        embedded = int(re.search(r"\((\d+) images embedded\)", log).group(1))
        assert reused > 0 and embedded < reused, log  # only the UI-centre faces and any gallery face verify did not embed


def test_sr_identity_puts_each_judges_sr_hr_accuracy_beside_the_image_metrics(finished_run):
    import pandas as pd

    table = pd.read_csv(finished_run / "results/sr_identity.csv")
    verification = pd.read_csv(finished_run / "results/verification_metrics.csv", dtype={"type_or_model": str})
    sr_metrics = pd.read_csv(finished_run / "results/sr_metrics.csv")
    assert set(table["judge"]) == {"sface"}  # the pretrained reference; the trained arcface_clean judges nothing
    for model in ("bicubic", "realesrgan"):
        row = table[(table["model"] == model) & (table["res"] == 16)].iloc[0]
        verified = verification[(verification["method"] == "sface") & (verification["condition"] == "sr-hr")
                                & (verification["type_or_model"] == model)].iloc[0]
        assert row["sr_hr_acc"] == verified["acc_mean"] and row["pairs_scored"] == verified["pairs_scored"]
        measured = sr_metrics[(sr_metrics["model"] == model) & (sr_metrics["variant"] == "clean")].iloc[0]
        assert row["psnr_y"] == measured["psnr_y_mean"] and row["id_cos"] == measured["id_cos_mean"]
    realesrgan = table[table["model"] == "realesrgan"].iloc[0]
    bicubic = table[table["model"] == "bicubic"].iloc[0]
    assert realesrgan["d_acc_vs_bicubic"] == pytest.approx(realesrgan["sr_hr_acc"] - bicubic["sr_hr_acc"])
    assert "GFPGANv1.4.pth" in table[table["model"] == "gfpgan"].iloc[0]["status"]
    assert (finished_run / "results/figures/sr_identity.png").stat().st_size > 10_000


def test_noop_rerun_does_nothing(finished_run):
    proc = snakemake(finished_run, "results/sr_metrics.csv")
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr


def dry_run_with_realesrgan_edited(workdir: Path, target: str) -> subprocess.CompletedProcess:
    """A dry run of `target` after one setting of one SR model changed (the config is restored)."""
    edited = yaml.safe_load((workdir / "test_config.yaml").read_text())
    edited["superres"]["models"]["realesrgan"]["tile"] = 8
    (workdir / "test_config.yaml").write_text(yaml.safe_dump(edited))
    try:
        proc = snakemake(workdir, "-n", target)
    finally:
        (workdir / "test_config.yaml").write_text(yaml.safe_dump(SMALL))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def test_editing_one_model_reruns_only_that_model(finished_run):
    proc = dry_run_with_realesrgan_edited(finished_run, "results/sr_metrics.csv")
    out = proc.stdout + proc.stderr
    assert planned_jobs(out) == {"superres": 2, "sr_metrics": 2, "aggregate_sr_metrics": 1}  # 2 variants, shards in one job
    assert "sr/bicubic" not in out.split("Job stats:")[0]


def test_sr_covers_exactly_the_faces_its_consumers_need(finished_run, tmp_path):
    """With a pairs file and a 2-face metrics sample, the clean SR file holds the pairs' probe faces
    plus those 2 faces and nothing else; the SR metrics measure only their 2."""
    import copy
    import shutil

    import h5py

    from robustface.h5io import read_strings
    from robustface.superres.faces import metrics_ids, read_manifest

    workdir = tmp_path / "run"
    shutil.copytree(finished_run, workdir, symlinks=True)  # copy2: mtimes kept, only the edit reruns
    (workdir / "pairs.txt").write_text("2\nEileen_Collins\t1\t2\nTom_Hanks\t2\t1\n"
                                       "Eileen_Collins\t1\tTom_Hanks\t2\nGroup_Person_1\t1\tGroup_Person_3\t2\n")
    edited = copy.deepcopy(SMALL)
    edited["superres"]["models"]["realesrgan"]["enabled"] = False
    edited["verification"]["pairs"] = "pairs.txt"
    edited["metrics"] = {"sr_max_faces": 2}
    (workdir / "test_config.yaml").write_text(yaml.safe_dump(edited))
    sr_file, per_face = "resources/sample/sr/bicubic/clean/16.h5", "results/sr_metrics/sample/bicubic/clean/16.csv"
    proc = snakemake(workdir, sr_file, per_face)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    probes = {"Eileen_Collins_0002", "Tom_Hanks_0001", "Tom_Hanks_0002", "Group_Person_3_0002"}
    measured = set(metrics_ids(read_manifest(workdir / "resources/sample/manifest.csv"), None, 2))
    with h5py.File(workdir / "resources/sample/aligned/shard-0000.h5") as a, \
            h5py.File(workdir / "resources/sample/aligned/shard-0001.h5") as b:
        aligned = set(read_strings(a, "image_id")) | set(read_strings(b, "image_id"))
    with h5py.File(workdir / sr_file) as f:
        assert set(read_strings(f, "image_id")) == (probes | measured) & aligned
    with open(workdir / per_face) as f:
        assert {row["image_id"] for row in csv.DictReader(f)} == measured & aligned


def test_lint_is_clean():
    proc = subprocess.run([SNAKEMAKE, "--lint"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "Lints for" not in proc.stdout + proc.stderr, proc.stdout[-3000:]


def test_invalid_config_is_rejected_by_the_schema(tmp_path):
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text())
    (tmp_path / "test_config.yaml").write_text(yaml.safe_dump({"degrade": {"kernel": "lanczos"}}))
    proc = snakemake(tmp_path, "-n")
    assert proc.returncode != 0
    assert "lanczos" in proc.stderr + proc.stdout


def test_editing_one_sr_model_reverifies_only_its_sr_conditions(finished_run):
    proc = dry_run_with_realesrgan_edited(finished_run, "results/method_comparison.csv")
    jobs = planned_jobs(proc.stdout + proc.stderr)
    # arcface_clean and sface: their realesrgan SR-HR job, not the whole verification again
    assert jobs.get("verify_sr") == 2 and "verify" not in jobs and "train" not in jobs, jobs
    rerun = set(re.findall(r"output: results/verification/sr/([^/]+)/(\w+)\.csv", proc.stdout))
    assert rerun == {("realesrgan", "sface"), ("realesrgan", "arcface_clean")}, rerun
