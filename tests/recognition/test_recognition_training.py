"""Training-loop tests on tiny shards of real LFW faces (a few steps each, CPU)."""
from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch

from robustface.h5io import read_shard
from robustface.recognition import stage
from robustface.recognition.embedder import load_trained_embedder
from robustface.recognition.methods import resolve_settings
from robustface.recognition.trainer import NonFiniteLossError, Trainer, train
from tiny_shards import OCCLUSION, build_tiny_shards, needs_lfw

pytestmark = needs_lfw
TINY = {"batch_size": 8, "max_steps_per_epoch": 2, "epochs": 1, "lr": 0.05, "val_max_pairs": 40, "seed": 0,
        "torch_threads": 1}  # one thread: the test machine is shared and oversubscription is far slower


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return build_tiny_shards(tmp_path_factory.mktemp("faces"))


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_one_epoch_writes_checkpoints_and_loss_csv(shards, tmp_path):
    aligned, occluded = shards
    out = tmp_path / "arcface_clean"
    code = stage.main(["--method", "arcface_clean", "--params-json", json.dumps({**TINY, "epochs": 2}),
                       "--aligned", *aligned, *sum((["--occluded", f"{OCCLUSION}={p}"] for p in occluded[OCCLUSION]), []),
                       "--out-dir", str(out), "--device", "cpu"])
    assert code == 0
    for name in ("best.pt", "last.pt", "loss.csv", "train_loss.png"):
        assert (out / name).is_file(), name
    rows = _rows(out / "loss.csv")
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert all(np.isfinite(float(r["train_loss"])) and float(r["img_per_s"]) > 0 for r in rows)
    assert 0.0 <= float(rows[0]["val_acc_clean"]) <= 1.0 and rows[0]["val_acc_occluded"] != ""

    embedder = load_trained_embedder(out / "best.pt", device="cpu")
    faces = np.random.default_rng(0).integers(0, 256, (3, 128, 128, 3), dtype=np.uint8)  # resized to 112 inside
    emb = embedder.embed(faces)
    assert embedder.dim == 128 and emb.shape == (3, 128) and emb.dtype == np.float32
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="uint8"):
        embedder.embed(faces.astype(np.float32))


def test_resume_after_kill_continues_where_it_stopped(shards, tmp_path, monkeypatch):
    aligned, occluded = shards
    settings = resolve_settings("arcface_occ", {**TINY, "epochs": 2})
    reference = train(settings, aligned, occluded, tmp_path / "uninterrupted")["history"]

    out = tmp_path / "killed"
    original_step, calls = Trainer.train_step, {"n": 0}

    def killed_in_epoch_2(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == TINY["max_steps_per_epoch"] + 2:
            raise KeyboardInterrupt  # the "kill", at the second step of epoch 2
        return original_step(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "train_step", killed_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        train(settings, aligned, occluded, out)
    assert torch.load(out / "last.pt", weights_only=True)["epoch"] == 1
    assert len(_rows(out / "loss.csv")) == 1
    monkeypatch.setattr(Trainer, "train_step", original_step)

    resumed = train(settings, aligned, occluded, out)["history"]
    assert [r["epoch"] for r in resumed] == [1, 2]
    assert torch.load(out / "last.pt", weights_only=True)["epoch"] == 2
    assert [r["epoch"] for r in _rows(out / "loss.csv")] == ["1", "2"]
    # the resumed epoch replays the same batches from the same state as an uninterrupted run
    assert resumed[0]["train_loss"] == pytest.approx(reference[0]["train_loss"], rel=1e-5)
    assert resumed[1]["train_loss"] == pytest.approx(reference[1]["train_loss"], rel=1e-4)

    # a finished run asked for more epochs extends training from its last epoch
    more = train(resolve_settings("arcface_occ", {**TINY, "epochs": 3}), aligned, occluded, out)["history"]
    assert [r["epoch"] for r in more] == [1, 2, 3]


def test_nan_loss_stops_with_clear_message(shards, tmp_path):
    aligned, occluded = shards
    settings = resolve_settings("arcface_clean", {**TINY, "s": float("nan")})
    with pytest.raises(NonFiniteLossError, match="loss became nan.*Lower `lr`"):
        train(settings, aligned, {}, tmp_path / "nan")
    code = stage.main(["--method", "arcface_clean", "--params-json", json.dumps({**TINY, "s": float("nan")}),
                       "--aligned", *aligned, "--out-dir", str(tmp_path / "nan_cli")])
    assert code == 3


def test_kd_and_full_methods_train_from_a_teacher_checkpoint(shards, tmp_path):
    aligned, occluded = shards
    models = tmp_path / "models"
    train(resolve_settings("arcface_clean", TINY), aligned, occluded, models / "arcface_clean")
    # teacher: arcface_clean resolves to the sibling best.pt
    own_teacher = {**TINY, "teacher": "arcface_clean"}
    train(resolve_settings("amofr_kd", own_teacher), aligned, occluded, models / "amofr_kd")
    # the KD targets are arcface_clean's embeddings of the training faces (rows in shard order; others zero)
    cache = torch.load(models / "amofr_kd" / "teacher_embeddings.pt", weights_only=True)["embeddings"][0]
    faces = np.concatenate([read_shard(path)["images"] for path in aligned])
    trained = cache.norm(dim=1) > 0
    assert 0 < int(trained.sum()) < len(faces)  # the training people only
    expected = load_trained_embedder(models / "arcface_clean" / "best.pt", device="cpu").embed(faces[trained.numpy()])
    torch.testing.assert_close(cache[trained], torch.from_numpy(expected), atol=1e-4, rtol=0)
    warm = Trainer(resolve_settings("amofr_kd", {**own_teacher, "init_from_teacher": True}), aligned, occluded,
                   models / "warm_kd", teacher=str(models / "arcface_clean" / "best.pt"))
    teacher_weights = torch.load(models / "arcface_clean" / "best.pt", weights_only=True)["model"]
    assert all(torch.equal(v, teacher_weights[f"backbone.{k}"]) for k, v in warm.model.backbone.state_dict().items())
    assert (models / "amofr_kd" / "teacher_embeddings.pt").is_file()

    full_trainer = Trainer(resolve_settings("amofr_full", {**own_teacher, "embedding_dim": 64}), aligned, occluded,
                           models / "amofr_full", teacher=str(models / "arcface_clean" / "best.pt"))
    assert full_trainer.projection is not None and full_trainer.projection.out_features == 128  # 64-d student -> 128-d teacher
    full = full_trainer.fit()["history"]
    # two steps of a 2-way occlusion-type classifier: its cross-entropy is still near chance, ln 2
    assert float(full[0]["type_loss"]) == pytest.approx(math.log(2), abs=0.15)
    checkpoint = torch.load(models / "amofr_full" / "best.pt", weights_only=True)
    assert checkpoint["spec"]["adaptive"] and checkpoint["spec"]["type_names"] == ["clean", OCCLUSION]
    assert load_trained_embedder(models / "amofr_full" / "best.pt", device="cpu").dim == 64


def test_bad_settings_fail_clearly(shards, tmp_path):
    aligned, occluded = shards
    with pytest.raises(ValueError, match="unknown setting"):
        resolve_settings("arcface_clean", {"learning_rate": 0.1})
    with pytest.raises(ValueError, match="'diversion_lamda' -> did you mean 'diversion_lambda'"):
        resolve_settings("ri_diversion", {"diversion_lamda": 2.0})
    with pytest.raises(ValueError, match="no occluded shards"):
        train(resolve_settings("arcface_occ", TINY), aligned, {}, tmp_path / "x")
    with pytest.raises(ValueError, match="teacher 'nonexistent'"):
        train(resolve_settings("amofr_kd", {**TINY, "teacher": "nonexistent"}), aligned, occluded, tmp_path / "y")
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        train(resolve_settings("amofr_kd", {**TINY, "teacher": "arcface_clean"}), aligned, occluded, tmp_path / "models" / "amofr_kd")
    with pytest.raises(ValueError, match="nothing to learn"):
        resolve_settings("kd_sface", {"kd_lambda": 0.0})
    with pytest.raises(ValueError, match="lr_ratio > 0 but no low-resolution"):
        train(resolve_settings("kd_sface", {**TINY, "occlusion_ratio": 0.0}), aligned, occluded, tmp_path / "z")
