"""Distillation from a pretrained teacher: the cached teacher embeddings, the KD losses, and a
small fixed run showing that a student learns from SFace (real LFW faces, real SFace, CPU)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from robustface.h5io import read_shard, write_shard
from robustface.recognition.losses import kd_loss, relational_kd_loss
from robustface.recognition.methods import resolve_settings
from robustface.recognition.teacher_cache import TeacherCacheError, centre_teacher, embed_shard, read_teacher_cache
from robustface.recognition.trainer import Trainer
from robustface.recognition.validation import best_threshold_accuracy, build_val_pairs, embed_rows
from tiny_shards import build_distillation_set, needs_lfw


def test_relational_loss_ignores_a_rotation_of_the_space_but_not_a_change_of_similarities():
    g = torch.Generator().manual_seed(0)
    teacher = torch.nn.functional.normalize(torch.randn(16, 32, generator=g), dim=1)
    rotation, _ = torch.linalg.qr(torch.randn(32, 32, generator=g))
    assert relational_kd_loss(teacher @ rotation, teacher).item() < 1e-10
    assert kd_loss(teacher @ rotation, teacher).item() > 0.5  # feature KD does see the rotation
    other = torch.randn(16, 32, generator=g)
    assert relational_kd_loss(other, teacher).item() > 1e-3
    with pytest.raises(ValueError, match="at least 2"):
        relational_kd_loss(teacher[:1], teacher[:1])


@pytest.fixture(scope="module")
def kd_data(tmp_path_factory):
    """Tiny aligned/occluded shards, their 16 px copies and SFace's cache of them."""
    return build_distillation_set(tmp_path_factory.mktemp("kd"), n_train=10, n_val=4)


@needs_lfw
def test_teacher_cache_holds_the_teachers_embeddings_of_every_face_in_the_callers_order(kd_data, tmp_path):
    aligned, _, _, _, sface = kd_data
    cache = [str(tmp_path / f"all-{k}.h5") for k in range(len(aligned))]
    for path, out in zip(aligned, cache):
        embed_shard(sface, "sface", path, out, progress=False)
    shards = [read_shard(p) for p in aligned]
    ids = [i for s in shards for i in s["image_id"]][::-1]
    images = np.concatenate([s["images"] for s in shards])[::-1]
    embeddings, teacher = read_teacher_cache(cache, ids)
    assert teacher == "sface" and embeddings.shape == (2, len(ids), 128)
    np.testing.assert_allclose(embeddings[0].numpy(), sface.embed(images), atol=1e-5)
    np.testing.assert_allclose(embeddings[1].numpy(), sface.embed(np.ascontiguousarray(images[:, :, ::-1])), atol=1e-5)
    with pytest.raises(TeacherCacheError, match="no cached teacher embedding"):
        read_teacher_cache(cache[:1], ids)
    with pytest.raises(TeacherCacheError, match="not a teacher cache"):
        read_teacher_cache(aligned, ids)


@needs_lfw
def test_the_pipelines_teacher_cache_holds_the_training_faces_only(kd_data, tmp_path):
    aligned, _, _, train_cache, sface = kd_data
    shards = [read_shard(p) for p in aligned]
    ids = [i for s in shards for i in s["image_id"]]
    splits = [x for s in shards for x in s["split"]]
    train = [k for k, split in enumerate(splits) if split == "train"]
    assert 0 < len(train) < len(ids)
    cached_ids = [i for p in train_cache for i in read_shard(p)["image_id"]]
    assert cached_ids == [ids[k] for k in train]  # the aligned order, val faces skipped
    embeddings, _ = read_teacher_cache(train_cache, ids, required=train)
    images = np.concatenate([s["images"] for s in shards])
    np.testing.assert_allclose(embeddings[0, train].numpy(), sface.embed(images[train]), atol=1e-5)
    assert not embeddings[:, [k for k in range(len(ids)) if k not in train]].any()
    with pytest.raises(TeacherCacheError, match=rf"{len(ids) - len(train)} training faces have no cached"):
        read_teacher_cache(train_cache, ids)
    no_split = tmp_path / "no_split.h5"
    write_shard(no_split, {k: v for k, v in shards[0].items() if k != "split"})
    with pytest.raises(TeacherCacheError, match="no 'split' dataset, so --splits \\['train'\\]"):
        embed_shard(sface, "sface", no_split, tmp_path / "x.h5", progress=False, splits=["train"])


def test_centring_a_crowded_teacher_space_makes_identity_matter():
    """dlib-like space: 10 people around one shared direction. Against raw targets a student that
    outputs the shared direction for everyone already has a small KD loss; against centred targets
    it does not, so the loss rewards identity."""
    g = torch.Generator().manual_seed(0)
    shared = torch.nn.functional.normalize(torch.randn(64, generator=g), dim=0)
    people = 0.05 * torch.randn(10, 64, generator=g)  # random pairs at cos ~0.86, as dlib
    faces = torch.nn.functional.normalize(shared + people[torch.arange(40) % 10], dim=1)
    rows = list(range(30))  # training faces; the others are not in the mean
    centred = centre_teacher(torch.stack([faces, faces]), rows)
    ignores_identity = torch.nn.functional.normalize(faces[rows].mean(0), dim=0).expand(40, -1)
    assert kd_loss(ignores_identity, faces).item() < 0.15
    assert kd_loss(ignores_identity, centred[0]).item() > 0.9
    np.testing.assert_allclose(centred.norm(dim=-1).numpy(), 1.0, atol=1e-5)
    same = (centred[0, :10] * centred[0, 10:20]).sum(1).mean()  # the same 10 people, second face each
    assert same > 0.99 and (centred[0, :10] @ centred[0, :10].T).fill_diagonal_(0).abs().mean() < 0.5


@needs_lfw
def test_kd_dlib_distils_a_centred_teacher(kd_data, tmp_path):
    aligned, occluded, lr, cache, _ = kd_data
    settings = resolve_settings("kd_sface", {"teacher_centering": True, "batch_size": 8, "epochs": 1,
                                             "max_steps_per_epoch": 1, "torch_threads": 1})
    assert resolve_settings("kd_dlib")["teacher_centering"] and not resolve_settings("kd_sface")["teacher_centering"]
    trainer = Trainer(settings, aligned, occluded, tmp_path / "centred", lr=lr, teacher_cache=cache)
    train = trainer.table.rows_of_split("train")
    assert trainer.teacher_cache[0, train].mean(0).norm() < 0.2 * trainer.teacher_cache[0, train].norm(dim=1).mean()
    raw, _ = read_teacher_cache(cache, trainer.table.image_ids, train)
    assert raw[0, train].mean(0).norm() > trainer.teacher_cache[0, train].mean(0).norm()


def _val_accuracy(model, trainer) -> float:
    pairs = build_val_pairs(trainer.table.persons, trainer.table.rows_of_split("val"), 200, seed=1)
    faces = sorted({int(r) for r in pairs[:, :2].ravel()})
    emb = embed_rows(model, trainer.table, [(r, 0) for r in faces], trainer.device, 32)
    index = {r: k for k, r in enumerate(faces)}
    sim = (emb[[index[int(r)] for r in pairs[:, 0]]] * emb[[index[int(r)] for r in pairs[:, 1]]]).sum(1)
    return best_threshold_accuracy(sim, pairs[:, 2])


@needs_lfw
def test_feature_distillation_from_sface_learns(kd_data, tmp_path):
    """From random weights, 48 steps on 40 faces (clean, occluded, 16 px): the KD loss of the
    last steps is under half that of the first, and held-apart people are verified better.
    (Relational KD alone does not pass this bar at this size; see the relational loss test.)"""
    method = "kd_sface"
    aligned, occluded, lr, cache, _ = kd_data
    settings = resolve_settings(method, {"batch_size": 20, "epochs": 24, "lr": 0.05, "optimizer": "adamw",
                                         "weight_decay": 0.0, "val_max_pairs": 0, "torch_threads": 1, "seed": 0})
    trainer = Trainer(settings, aligned, occluded, tmp_path / method, lr=lr, teacher_cache=cache)
    assert trainer.head is None and trainer.projection is None  # pure KD, straight into SFace's space
    before = _val_accuracy(trainer.model, trainer)
    trainer.fit()
    losses = trainer.step_losses
    assert len(losses) == 48
    assert np.mean(losses[-6:]) < 0.5 * np.mean(losses[:6])
    assert _val_accuracy(trainer.model, trainer) > before


@needs_lfw
def test_a_cache_of_another_teacher_is_refused(kd_data, tmp_path):
    aligned, occluded, lr, cache, _ = kd_data
    settings = resolve_settings("kd_dlib", {"batch_size": 8, "epochs": 1, "max_steps_per_epoch": 1, "torch_threads": 1})
    with pytest.raises(ValueError, match="holds 'sface' embeddings but the teacher is 'dlib'"):
        Trainer(settings, aligned, occluded, tmp_path / "kd_dlib", lr=lr, teacher_cache=cache)


@needs_lfw
def test_preloaded_batches_equal_the_dataloaders(kd_data):
    """The device-side data path (no DataLoader) yields the DataLoader's samples, variants and order."""
    from torch.utils.data import DataLoader

    from robustface.recognition.data import FaceTable, PreloadedBatches, TrainFaces, identity_labels

    aligned, occluded, lr, _, _ = kd_data
    table = FaceTable.open(aligned, occluded, preload=True, lr=lr)
    rows = table.rows_of_split("train")
    labels, _ = identity_labels(table.persons, rows)
    dataset = TrainFaces(table, rows, labels, occlusion_ratio=0.4, seed=3, lr_ratio=0.3)
    preloaded = list(PreloadedBatches(dataset, torch.device("cpu")).epoch(2, 8, torch.Generator().manual_seed(7)))
    dataset.set_epoch(2)
    loaded = list(DataLoader(dataset, batch_size=8, shuffle=True, drop_last=True, generator=torch.Generator().manual_seed(7)))
    assert len(preloaded) == len(loaded) == len(rows) // 8
    for a, b in zip(preloaded, loaded):
        for key in ("image", "label", "type_label", "row"):
            assert torch.equal(a[key], b[key]), key
    shown = torch.cat([b["type_label"] for b in preloaded])
    names = table.type_names
    assert {names[k] for k in shown.tolist()} >= {"clean", "lr16"} and (shown > 0).float().mean() > 0.3
