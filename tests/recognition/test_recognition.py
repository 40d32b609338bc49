"""Unit tests of the recognition package: architecture, heads, losses, adaptive module, data
(real-face shards from tiny_shards.build_tiny_shards)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from robustface.h5io import write_shard
from robustface.recognition.adaptive import OcclusionAdaptiveModule
from robustface.recognition.heads import ArcFaceHead, CosFaceHead
from robustface.recognition.losses import kd_loss
from robustface.recognition.mobilefacenet import MobileFaceNet, count_parameters
from robustface.recognition.model import FaceRecognizer, ModelSpec
from tiny_shards import OCCLUSION, build_tiny_shards, needs_lfw


# ------------------------------------------------------------------ architecture
@pytest.mark.parametrize("dim", [128, 512])
def test_mobilefacenet_is_under_1_2m_parameters(dim):
    n = count_parameters(MobileFaceNet(dim))
    assert 0.9e6 < n < 1.2e6


def test_embeddings_are_l2_normalised_and_have_configured_dim():
    model = FaceRecognizer(ModelSpec(embedding_dim=128)).eval()
    out = model(torch.randn(3, 3, 112, 112))
    assert out["embedding"].shape == (3, 128)
    assert torch.allclose(out["embedding"].norm(dim=1), torch.ones(3), atol=1e-5)


def test_wrong_input_size_is_rejected():
    with pytest.raises(ValueError, match="112x112"):
        MobileFaceNet().eval()(torch.zeros(1, 3, 96, 96))


# ------------------------------------------------------------------ heads
def _unit(v):
    v = torch.tensor(v, dtype=torch.float32)
    return v / v.norm()


def test_arcface_target_logit_is_s_cos_theta_plus_m():
    head = ArcFaceHead(2, 3, s=10.0, m=0.3)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]))
    theta = 0.7
    x = torch.tensor([[math.cos(theta), math.sin(theta)]]) * 5.0  # norm must not matter
    logits = head(x, torch.tensor([0]))
    assert logits[0, 0].item() == pytest.approx(10.0 * math.cos(theta + 0.3), abs=1e-4)
    assert logits[0, 1].item() == pytest.approx(10.0 * math.cos(math.pi / 2 - theta), abs=1e-4)  # non-target: s*cos
    assert logits[0, 2].item() == pytest.approx(-10.0 * math.cos(theta), abs=1e-4)


def test_arcface_beyond_pi_minus_m_uses_monotonic_fallback():
    m = 0.5
    head = ArcFaceHead(2, 2, s=1.0, m=m)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    theta = math.pi - 0.2  # theta + m > pi
    logits = head(torch.tensor([[math.cos(theta), math.sin(theta)]]), torch.tensor([0]))
    assert logits[0, 0].item() == pytest.approx(math.cos(theta) - math.sin(math.pi - m) * m, abs=1e-4)
    easy = ArcFaceHead(2, 2, s=1.0, m=m, easy_margin=True)
    with torch.no_grad():
        easy.weight.copy_(head.weight)
    assert easy(torch.tensor([[math.cos(theta), math.sin(theta)]]), torch.tensor([0]))[0, 0].item() == pytest.approx(math.cos(theta), abs=1e-4)


def test_cosface_subtracts_margin_from_target_cosine():
    head = CosFaceHead(2, 2, s=8.0, m=0.35)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    x = _unit([0.6, 0.8])[None]
    logits = head(x, torch.tensor([1]))
    assert logits[0, 1].item() == pytest.approx(8.0 * (0.8 - 0.35), abs=1e-4)
    assert logits[0, 0].item() == pytest.approx(8.0 * 0.6, abs=1e-4)


# ------------------------------------------------------------------ KD loss
def test_kd_loss_on_known_vectors():
    s = torch.stack([_unit([1, 0]), _unit([1, 0]), _unit([1, 0])])
    t = torch.stack([_unit([1, 0]), _unit([0, 1]), _unit([-1, 0])])
    # 1 - cos per pair: 0, 1, 2 -> mean 1
    assert kd_loss(s, t).item() == pytest.approx(1.0, abs=1e-6)
    assert kd_loss(s[:1] * 3, t[:1]).item() == pytest.approx(0.0, abs=1e-6)  # scale-invariant
    with pytest.raises(ValueError, match="differ in shape"):
        kd_loss(s, t[:, :1])


def test_kd_loss_decreases_as_student_approaches_teacher():
    t = _unit([0.0, 1.0])[None]
    values = [kd_loss(_unit([math.cos(a), math.sin(a)])[None], t).item() for a in (0.0, 0.5, 1.0, math.pi / 2)]
    assert values == sorted(values, reverse=True) and values[-1] < 1e-6


# ------------------------------------------------------------------ adaptive module
def test_amofr_full_forward_shapes_and_type_head():
    spec = ModelSpec(embedding_dim=128, adaptive=True, type_names=["clean", "mask", "glasses"])
    model = FaceRecognizer(spec).eval()
    out = model(torch.randn(4, 3, 112, 112))
    assert out["embedding"].shape == (4, 128)
    assert out["type_logits"].shape == (4, 3)
    assert torch.allclose(out["embedding"].norm(dim=1), torch.ones(4), atol=1e-5)
    # zero-initialised adapters: the module starts as the identity on the backbone's embedding
    raw, _ = model.backbone.forward_features(torch.randn(2, 3, 112, 112))
    module = OcclusionAdaptiveModule(512, 128, 3)
    fused, _ = module(raw, torch.randn(2, 512, 7, 7))
    assert torch.allclose(fused, raw)


def test_type_head_learns_synthetic_types():
    torch.manual_seed(0)
    module = OcclusionAdaptiveModule(8, 4, 2, adapter_hidden=4)
    features = torch.randn(64, 8, 2, 2)
    types = (features[:, 0].mean(dim=(1, 2)) > 0).long()
    opt = torch.optim.Adam(module.parameters(), lr=0.05)
    for _ in range(60):
        _, logits = module(torch.randn(64, 4), features)
        loss = torch.nn.functional.cross_entropy(logits, types)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert (logits.argmax(1) == types).float().mean() > 0.9


def test_adaptive_needs_an_occlusion_type():
    with pytest.raises(ValueError, match="at least one occlusion type"):
        OcclusionAdaptiveModule(512, 128, 1)


# ------------------------------------------------------------------ data
@needs_lfw
def test_face_table_pairs_occluded_rows_by_image_id(tmp_path):
    from robustface.recognition.data import FaceTable, TrainFaces, identity_labels

    aligned, occluded = build_tiny_shards(tmp_path, n_train=2, n_val=1, per_person=2)
    table = FaceTable.open(aligned, occluded)
    assert table.type_names == ["clean", OCCLUSION]
    rejected = 0  # first row of shard 0 has no occluded version
    assert table.available_types(rejected) == [0]
    other = 1
    assert table.available_types(other) == [0, 1]
    occ = table.image(other, 1)
    assert (occ[60:] == 128).all() and np.array_equal(occ[:60], table.image(other)[:60])
    rows = table.rows_of_split("train")
    labels, names = identity_labels(table.persons, rows)
    dataset = TrainFaces(table, rows, labels, occlusion_ratio=1.0, seed=0)
    items = [dataset[i] for i in range(len(dataset))]
    assert {it["type_label"] for it in items if it["row"] != rejected} == {1}
    assert all(it["type_label"] == 0 for it in items if it["row"] == rejected)
    assert [it["image"].shape for it in items] == [(112, 112, 3)] * len(items)


# ------------------------------------------------------------------ config -> settings
def test_config_overrides_scope_budget_and_teacher():
    from robustface.recognition.methods import config_overrides, resolve_settings, teacher_method

    recognition = {
        "budget": "small", "budgets": {"small": {"epochs": 1, "lr": 0.01}, "full": {"epochs": 40}},
        "occlusion_ratio": 0.3, "embedding_dim": 512, "threads": 2,
        "methods": {"arcface_clean": {}, "arcface_occ": {}, "amofr_kd": {"teacher": "arcface_clean", "kd_lambda": 0.5},
                    "kd_sface": {"base": "amofr_kd", "teacher": "sface"}},
    }
    clean = resolve_settings("arcface_clean", config_overrides(recognition, "arcface_clean"))
    occ = resolve_settings("arcface_occ", config_overrides(recognition, "arcface_occ"))
    assert clean["occlusion_ratio"] == 0.0 and occ["occlusion_ratio"] == 0.3  # common ratio only for occlusion methods
    assert clean["epochs"] == 1 and clean["lr"] == 0.01 and clean["embedding_dim"] == 512
    assert teacher_method(recognition, "amofr_kd") == "arcface_clean"
    assert teacher_method(recognition, "kd_sface") is None  # external teacher: no checkpoint input
    assert resolve_settings("kd_sface", config_overrides(recognition, "kd_sface"))["kd_lambda"] == 1.0
    # a common backbone reaches every method; starting from a teacher only the methods built to
    recognition = {**recognition, "backbone": "sface", "init_from_teacher": True, "embedding_dim": 128}
    assert resolve_settings("arcface_clean", config_overrides(recognition, "arcface_clean"))["backbone"] == "sface"
    assert not resolve_settings("arcface_clean", config_overrides(recognition, "arcface_clean"))["init_from_teacher"]
    with pytest.raises(ValueError, match="not configured"):
        config_overrides(recognition, "amofr_full")
    with pytest.raises(ValueError, match="budget"):
        config_overrides({**recognition, "budget": "huge"}, "arcface_clean")


@pytest.mark.parametrize("preload", [True, False])
def test_hr_size_other_than_112_is_resized_lazily_or_preloaded(tmp_path, preload):
    from robustface.recognition.data import FaceTable

    rng = np.random.default_rng(0)
    path = tmp_path / "shard-0000.h5"
    write_shard(path, {"images": rng.integers(0, 256, (4, 128, 128, 3), dtype=np.uint8),
                       "image_id": ["a_1", "a_2", "b_1", "b_2"], "person": ["a", "a", "b", "b"], "split": ["train"] * 4})
    table = FaceTable.open([str(path)], {}, preload=preload)
    assert (table.clean.cache is not None) == preload
    assert table.image(3).shape == (112, 112, 3) and table.image(3).dtype == np.uint8
    with pytest.raises(ValueError, match="preload must be"):
        FaceTable.open([str(path)], {}, preload="sometimes")


@pytest.mark.parametrize("backbone", ["mobilefacenet", "sface"])
def test_inference_folds_batchnorm_into_convs_without_changing_embeddings(tmp_path, backbone):
    from robustface.recognition.embedder import fuse_conv_bn, load_trained_embedder

    torch.manual_seed(0)
    spec = ModelSpec(backbone=backbone, attention=True)
    model = FaceRecognizer(spec).eval()
    for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        bn.running_mean.uniform_(-0.5, 0.5), bn.running_var.uniform_(0.5, 2.0), bn.weight.data.uniform_(0.5, 1.5)
    torch.save({"model": model.state_dict(), "spec": spec.to_dict(), "method": "m"}, tmp_path / "best.pt")
    images = np.random.default_rng(0).integers(0, 256, (4, 112, 112, 3), dtype=np.uint8)
    with torch.no_grad():
        expected = model(torch.from_numpy(images).permute(0, 3, 1, 2).float().sub(127.5).div(128))["embedding"].numpy()

    embedder = load_trained_embedder(tmp_path / "best.pt", "cpu")
    batchnorms = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.backbone.modules())
    remaining = sum(isinstance(m, torch.nn.BatchNorm2d) for m in embedder.model.backbone.modules())
    folded = sum(isinstance(m, torch.nn.Conv2d) and m.bias is not None for m in embedder.model.backbone.modules())
    assert remaining <= 1 and folded == batchnorms - remaining  # SFace's BN after its last block stands alone
    np.testing.assert_allclose(embedder.embed(images), expected, atol=1e-4)
    with pytest.raises(ValueError, match="eval"):
        fuse_conv_bn(FaceRecognizer(spec).train())
