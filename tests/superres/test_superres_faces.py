"""Only the faces a target needs are super-resolved: the sr-faces lists, the superres stage over
several LR shards with --ids, and the planner wiring (which lists feed which SR job)."""
from __future__ import annotations

import copy
import csv
import shlex

import numpy as np
import pytest

from conftest import shipped_config
from robustface.h5io import read_attrs, read_shard, write_shard
from robustface.planning.plan import Plan
from robustface.superres import faces
from robustface.superres.stage import main as superres_main

MANIFEST = [  # person, image numbers, split
    ("Ann_Lee", 3, "train"), ("Bo_Chan", 2, "val"), ("Cy_Dee", 2, "test"), ("Di_Eng", 1, "test"),
]


@pytest.fixture()
def manifest(tmp_path):
    path = tmp_path / "manifest.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image_id", "person", "path", "split", "shard"])
        k = 0
        for person, n, split in MANIFEST:
            for i in range(1, n + 1):
                w.writerow([f"{person}_{i:04d}", person, f"/x/{person}_{i:04d}.jpg", split, k % 2])
                k += 1
    return path


def run_faces(*argv) -> int:
    return faces.main([str(a) for a in argv])


def test_metrics_faces_by_split_and_fixed_sample(manifest, tmp_path):
    out = tmp_path / "metrics.txt"
    assert run_faces("--manifest", manifest, "--out", out) == 0
    assert len(faces.read_ids(out)) == 8  # every face
    assert run_faces("--manifest", manifest, "--out", out, "--splits", "val", "test") == 0
    assert faces.read_ids(out) == ["Bo_Chan_0001", "Bo_Chan_0002", "Cy_Dee_0001", "Cy_Dee_0002", "Di_Eng_0001"]
    assert run_faces("--manifest", manifest, "--out", out, "--splits", "val", "test", "--max-faces", "3") == 0
    sample = faces.read_ids(out)
    assert len(sample) == 3 and set(sample) < {"Bo_Chan_0001", "Bo_Chan_0002", "Cy_Dee_0001", "Cy_Dee_0002", "Di_Eng_0001"}
    rows = faces.read_manifest(manifest)
    assert faces.metrics_ids(rows[::-1], ["val", "test"], 3) == sample  # by id hash: not by manifest order


def test_verification_faces_are_the_probes_of_the_evaluated_pairs(manifest, tmp_path):
    pairs = tmp_path / "pairs.txt"
    # same: Ann 1-2 (train), Bo 1-2, Cy 2-1; different: Bo 1 - Di 1, Ann 3 - Cy 1
    pairs.write_text("3\nAnn_Lee\t1\t2\nBo_Chan\t1\t2\nCy_Dee\t2\t1\n"
                     "Bo_Chan\t1\tDi_Eng\t1\nAnn_Lee\t3\tCy_Dee\t1\nBo_Chan\t2\tCy_Dee\t2\n")
    out = tmp_path / "verification.txt"
    assert run_faces("--manifest", manifest, "--out", out, "--pairs", pairs) == 0
    assert faces.read_ids(out) == ["Ann_Lee_0002", "Bo_Chan_0002", "Cy_Dee_0001", "Cy_Dee_0002", "Di_Eng_0001"]
    # a pair touching an excluded identity is never scored: its probe is not needed
    assert run_faces("--manifest", manifest, "--out", out, "--pairs", pairs, "--exclude-splits", "train") == 0
    assert faces.read_ids(out) == ["Bo_Chan_0002", "Cy_Dee_0001", "Cy_Dee_0002", "Di_Eng_0001"]
    # every pair among the faces: every face (of the splits not excluded)
    assert run_faces("--manifest", manifest, "--out", out, "--pairs", "all", "--exclude-splits", "train") == 0
    assert len(faces.read_ids(out)) == 5
    with pytest.raises(SystemExit):
        run_faces("--manifest", manifest, "--out", out, "--pairs", pairs, "--max-faces", "2")


def lr_shard(path, ids: list[str], res: int = 16, hr_size: int = 112):
    rng = np.random.default_rng(len(ids))
    images = rng.integers(0, 256, (len(ids), res, res, 3), dtype=np.uint8)
    write_shard(path, {"images": images, "image_id": ids, "person": [i[:-5] for i in ids], "split": ["test"] * len(ids)},
                {"kernel": "pil_bicubic", "hr_size": hr_size, "res": res})
    return images


def test_superres_stage_processes_only_the_listed_faces_of_all_shards(tmp_path):
    a = lr_shard(tmp_path / "lr-0.h5", ["A_0001", "B_0001", "C_0001"])
    b = lr_shard(tmp_path / "lr-1.h5", ["D_0001", "E_0001"])
    (tmp_path / "m.txt").write_text("B_0001\nE_0001\nGone_0001\n")
    (tmp_path / "v.txt").write_text("A_0001\nE_0001\n")
    out = tmp_path / "sr" / "16.h5"
    assert superres_main(["--model", "bicubic", "--lr", str(tmp_path / "lr-0.h5"), str(tmp_path / "lr-1.h5"),
                          "--ids", str(tmp_path / "m.txt"), str(tmp_path / "v.txt"), "--out", str(out),
                          "--hr-size", "112", "--device", "cpu", "--batch-size", "2"]) == 0
    sr = read_shard(out)
    assert sr["image_id"] == ["A_0001", "B_0001", "E_0001"]  # the union, in shard order
    assert sr["person"] == ["A", "B", "E"] and sr["images"].shape == (3, 112, 112, 3)
    # each row is the SR of its own LR face (bicubic: downscaling it recovers the LR face)
    import cv2

    for image, lr in zip(sr["images"], [a[0], a[1], b[1]]):
        back = cv2.resize(image, (16, 16), interpolation=cv2.INTER_AREA)
        assert np.abs(back.astype(int) - lr).mean() < np.abs(back.astype(int) - a[2]).mean()
    attrs = read_attrs(out)
    assert attrs["ids_listed"] == 4 and attrs["ids_without_lr_row"] == 1 and attrs["lr_rows"] == 5
    assert attrs["params"]["batch_size"] == "auto"  # the CLI flag wins over params, params record config
    timing = attrs["timing"]
    assert timing["faces"] == 3 and timing["batch_size"] == 2 and timing["first_batch_faces"] == 2
    assert 0 < timing["first_batch_s"] <= timing["total_s"]


def test_superres_stage_without_ids_takes_every_face_and_rejects_mixed_shards(tmp_path):
    lr_shard(tmp_path / "lr-0.h5", ["A_0001", "B_0001"])
    lr_shard(tmp_path / "lr-1.h5", ["C_0001"])
    lr_shard(tmp_path / "lr-32.h5", ["D_0001"], res=32)
    lr_shard(tmp_path / "dup.h5", ["A_0001"])
    out = tmp_path / "sr.h5"
    common = ["--model", "bicubic", "--out", str(out), "--hr-size", "112", "--device", "cpu"]
    assert superres_main(common + ["--lr", str(tmp_path / "lr-0.h5"), str(tmp_path / "lr-1.h5")]) == 0
    assert read_shard(out)["image_id"] == ["A_0001", "B_0001", "C_0001"]
    assert read_attrs(out)["ids_listed"] == -1
    with pytest.raises(ValueError, match="one job takes one variant and resolution"):
        superres_main(common + ["--lr", str(tmp_path / "lr-0.h5"), str(tmp_path / "lr-32.h5")])
    with pytest.raises(ValueError, match="appear in more than one of the LR shards"):
        superres_main(common + ["--lr", str(tmp_path / "lr-0.h5"), str(tmp_path / "dup.h5")])
    with pytest.raises(ValueError, match="batch_size must be >= 1 or 'auto'"):
        superres_main(common + ["--lr", str(tmp_path / "lr-0.h5"), "--params-json", '{"batch_size": 0}'])


def test_auto_batch_size_grows_as_resolution_falls():
    import torch

    from robustface.superres import get_entry
    from robustface.superres.inference import auto_batch_size

    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    sizes = [auto_batch_size(get_entry("realesrgan"), r, cuda) for r in (16, 32, 64)]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] >= 1024 and sizes[2] >= 64
    assert auto_batch_size(get_entry("gfpgan"), 16, cuda) == auto_batch_size(get_entry("gfpgan"), 64, cuda)  # 512 input
    assert auto_batch_size(get_entry("realesrgan"), 16, cpu) < sizes[0]


@pytest.fixture()
def config():
    return shipped_config()


def test_planner_feeds_each_sr_job_the_lists_of_its_consumers(config):
    plan = Plan(config)
    clean = plan.sr_inputs("bicubic", "clean", 16)
    assert clean["lr"] == [plan.lr_shard("clean", 16, s) for s in plan.shards]
    assert clean["ids"] == [plan.sr_faces_list("metrics"), plan.sr_faces_list("verification")]
    assert plan.sr_inputs("bicubic", config["variants"][-1], 16)["ids"] == [plan.sr_faces_list("metrics")]
    no_sr = copy.deepcopy(config)
    no_sr["verification"]["conditions"] = ["occluded", "lr"]
    assert Plan(no_sr).sr_inputs("bicubic", "clean", 16)["ids"] == [plan.sr_faces_list("metrics")]


def test_planner_sr_faces_arguments(config, tmp_path):
    plan = Plan(config)  # the sample: every face measured, every pair among the faces
    assert plan.sr_faces_args("metrics") == "--max-faces 0"
    assert shlex.split(plan.sr_faces_args("verification")) == ["--pairs", "all", "--pairs-format", "lfw"]
    lfw = copy.deepcopy(config)
    lfw.update(dataset="lfw", lfw_root=str(tmp_path / "my lfw"))
    lfw["metrics"]["sr_max_faces"] = 500
    plan = Plan(lfw)
    assert shlex.split(plan.sr_faces_args("metrics")) == ["--max-faces", "500", "--splits", "val", "test"]
    assert shlex.split(plan.sr_faces_args("verification")) == ["--pairs", "resources/lfw/eval_pairs.txt", "--pairs-format", "lfw"]
    assert plan.sr_faces_inputs("verification")["pairs"] == "resources/lfw/eval_pairs.txt"
    lfw["verification"]["exclude_splits"] = ["train"]  # pairs no method scores need no SR
    assert shlex.split(Plan(lfw).sr_faces_args("verification"))[-2:] == ["--exclude-splits", "train"]


def test_out_of_memory_halves_the_batch_and_keeps_every_face(monkeypatch):
    import torch

    from robustface.superres import load_model

    model = load_model("bicubic", device="cpu", batch_size="auto")
    real, sizes = model._upscale_batch, []

    def small_memory(lr, hr_size):  # a device that fits 2 faces per forward
        sizes.append(len(lr))
        if len(lr) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(lr, hr_size)

    monkeypatch.setattr(model, "_upscale_batch", small_memory)
    lr = np.random.default_rng(0).integers(0, 256, (11, 16, 16, 3), dtype=np.uint8)
    out = model.upscale(lr, 32)
    np.testing.assert_array_equal(out, load_model("bicubic", device="cpu", batch_size=11).upscale(lr, 32))
    assert max(s for s in sizes if s <= 2) == 2 and model.batch_size == 2  # later batches start at what fit
