"""Published methods (recognition/published): each mechanism on tiny tensors, and each method
training a few steps on real LFW faces (the SFace teacher cache, CPU) with its loss falling."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from robustface.recognition.embedder import load_trained_embedder
from robustface.recognition.methods import config_overrides, mechanism_on, resolve_settings, uses_teacher
from robustface.recognition.model import FaceRecognizer, ModelSpec
from robustface.recognition.published.alob import grad_reverse, purify
from robustface.recognition.published.pairwise import pair_distillation, teacher_correct
from robustface.recognition.published.ri import index_diversion_loss, recognizability, unrecognisable
from robustface.recognition.published.rikd import cosine_logits, posterior_kl
from robustface.recognition.trainer import LOSS_COLUMNS, Trainer
from tiny_shards import build_distillation_set, needs_lfw


# ------------------------------------------------------------------ mechanisms on tiny tensors
def test_gradient_reversal_flips_and_scales_the_gradient_only():
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = grad_reverse(x, 0.5)
    assert torch.equal(y, x)
    (y * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert torch.allclose(x.grad, torch.tensor([-0.5, -1.0, -1.5]))


def test_purification_leaves_a_feature_orthogonal_to_the_occlusion_direction():
    g = torch.Generator().manual_seed(0)
    e, o = torch.randn(5, 16, generator=g), torch.randn(5, 16, generator=g)
    p = purify(e, o)
    assert torch.allclose((p * o).sum(1), torch.zeros(5), atol=1e-5)
    # what is removed lies along o; a feature already orthogonal to o is left unchanged
    removed = e - p
    assert torch.allclose(F.cosine_similarity(removed, o).abs(), torch.ones(5), atol=1e-5)
    assert torch.allclose(purify(p, o), p, atol=1e-5)


def test_shared_classifier_kl_is_zero_when_student_equals_teacher_and_not_otherwise():
    g = torch.Generator().manual_seed(1)
    features, weight = torch.randn(6, 8, generator=g), torch.randn(4, 8, generator=g)
    teacher_logits = cosine_logits(features, weight, 30.0)
    assert posterior_kl(teacher_logits, cosine_logits(features, weight, 30.0), 4.0).item() == pytest.approx(0.0, abs=1e-6)
    other_classifier = torch.randn(4, 8, generator=g)
    assert posterior_kl(teacher_logits, cosine_logits(features, other_classifier, 30.0), 4.0).item() > 1e-3


def test_dynamic_balancing_keeps_only_faces_the_teacher_classifies_correctly():
    # two identities around e1 and e2; face 2 (label 0) lies at identity 1's centre
    t = torch.tensor([[1.0, 0.1, 0], [1.0, -0.1, 0], [0.05, 1.0, 0], [0.1, 1.0, 0], [-0.1, 1.0, 0], [0, 0, 1.0]])
    labels = torch.tensor([0, 0, 0, 1, 1, 2])  # identity 2 has a single face: cannot be judged, kept
    assert teacher_correct(t, labels, 3).tolist() == [True, True, False, True, True, True]


def test_pair_losses_vanish_when_the_pair_matches_and_grow_when_it_does_not():
    g = torch.Generator().manual_seed(2)
    teacher = F.normalize(torch.randn(6, 16, generator=g), dim=1)
    labels = torch.arange(6)
    matched = teacher * 16**0.5  # unit-variance scale, as the student's BN output
    for kind in ("cosine", "mse"):
        assert pair_distillation(matched, teacher, kind).abs().max().item() < 1e-5
        assert pair_distillation(torch.randn(6, 16, generator=g), teacher, kind).min().item() > 0.05
    assert pair_distillation(matched, teacher, "margin_cosine", labels, 0.2).max().item() == 0.0
    swapped = matched[[1, 0, 2, 3, 4, 5]]  # faces 0 and 1 closer to the other's teacher embedding
    assert (pair_distillation(swapped, teacher, "margin_cosine", labels, 0.2)[:2] > 1.0).all()
    with pytest.raises(ValueError, match="unknown pair_loss"):
        pair_distillation(matched, teacher, "l1")


def test_recognizability_is_larger_for_clear_than_for_degraded_to_noise_embeddings():
    g = torch.Generator().manual_seed(3)
    ui = F.normalize(torch.randn(32, generator=g), dim=0)
    noise = F.normalize(ui + 0.2 * torch.randn(10, 32, generator=g), dim=1)  # the unrecognisable cluster
    clear = F.normalize(torch.randn(10, 32, generator=g), dim=1)
    assert recognizability(clear, ui).min() > recognizability(noise, ui).max()
    assert index_diversion_loss(noise, ui) > index_diversion_loss(clear, ui)
    x = torch.rand(2, 3, 112, 112, generator=g) * 2 - 1
    degraded = unrecognisable(x, 8)
    assert degraded.shape == x.shape and torch.allclose(unrecognisable(degraded, 8), degraded, atol=0.05)


def test_the_methods_modules_are_part_of_the_network_and_its_checkpoint(tmp_path):
    spec = ModelSpec(embedding_dim=32, trimmer=True, purification=True, attention=True)
    model = FaceRecognizer(spec).eval()
    out = model(torch.randn(2, 3, 112, 112))
    assert torch.allclose((out["raw"] * out["occlusion"]).sum(1), torch.zeros(2), atol=1e-3)
    assert model.attention is not None and model.trimmer is not None
    torch.save({"model": model.state_dict(), "spec": spec.to_dict(), "method": "alob"}, tmp_path / "best.pt")
    embedder = load_trained_embedder(tmp_path / "best.pt", device="cpu")
    faces = np.random.default_rng(0).integers(0, 256, (2, 112, 112, 3), dtype=np.uint8)
    expected = model(torch.from_numpy(faces).permute(0, 3, 1, 2).float().sub(127.5).div(128))["embedding"]
    np.testing.assert_allclose(embedder.embed(faces), expected.detach().numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="purification needs the trimmer"):
        FaceRecognizer(ModelSpec(purification=True))


def test_settings_ablation_switches_and_config_scoping():
    assert uses_teacher(resolve_settings("pairwise_kd")) and uses_teacher(resolve_settings("rikd"))
    assert not uses_teacher(resolve_settings("alob")) and not uses_teacher(resolve_settings("ri_diversion"))
    assert mechanism_on(resolve_settings("alob")) and not mechanism_on(resolve_settings("alob", {"trimmer": False, "purification": False}))
    assert not mechanism_on(resolve_settings("pairwise_kd", {"dynamic_balancing": False}))
    assert not mechanism_on(resolve_settings("rikd", {"shared_classifier": False}))
    assert not mechanism_on(resolve_settings("ri_diversion", {"diversion_lambda": 0.0}))
    assert mechanism_on(resolve_settings("amofr_kd")) is None
    recognition = {"dynamic_balancing": False, "methods": {"pairwise_kd": {}, "arcface_clean": {}}}
    assert config_overrides(recognition, "pairwise_kd")["dynamic_balancing"] is False
    assert "dynamic_balancing" not in config_overrides(recognition, "arcface_clean")  # not its key
    with pytest.raises(ValueError, match="unknown objective"):
        resolve_settings("arcface_clean", {"objective": "nope"})
    with pytest.raises(ValueError, match="needs a `teacher`"):
        resolve_settings("rikd", {"teacher": None})


# ------------------------------------------------------------------ training on real faces
@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """Tiny aligned/occluded shards of real LFW faces, their 16 px copies and SFace's cache."""
    return build_distillation_set(tmp_path_factory.mktemp("published"), n_train=6, n_val=3)[:4]


# method -> (loss.csv column that must fall, extra settings)
TRAINED = {
    "pairwise_kd": ("pair_loss", {}),
    "alob": ("ce_loss", {}),  # the identity loss; the adversarial game's sum need not fall
    "rikd": ("kl_loss", {}),
    "ri_diversion": ("train_loss", {}),
}


@needs_lfw
@pytest.mark.parametrize("method", list(TRAINED))
def test_each_published_method_learns_on_real_faces(method, faces, tmp_path):
    """24 training faces, batch 8, 4 epochs x 3 steps: the method's own loss of the last epoch is
    below that of the first, and its parts are written to loss.csv."""
    aligned, occluded, lr, cache = faces
    column, extra = TRAINED[method]
    settings = resolve_settings(method, {"batch_size": 8, "epochs": 4, "lr": 0.01, "optimizer": "adamw", "weight_decay": 0.0,
                                         "val_max_pairs": 0, "torch_threads": 1, "seed": 0, **extra})
    trainer = Trainer(settings, aligned, occluded, tmp_path / method, lr=lr,
                      teacher_cache=cache if uses_teacher(settings) else None)
    history = trainer.fit()["history"]
    first, last = float(history[0][column]), float(history[-1][column])
    assert np.isfinite(first) and last < first, (column, [h[column] for h in history])
    reported = [c for c in LOSS_COLUMNS if history[0][c] != ""]
    assert set(type(trainer.objective).PARTS) <= set(reported)
    assert (tmp_path / method / "best.pt").is_file()


@needs_lfw
def test_an_objectives_state_is_saved_and_resumed(faces, tmp_path):
    aligned, occluded, lr, _ = faces
    tiny = {"batch_size": 8, "max_steps_per_epoch": 1, "epochs": 1, "val_max_pairs": 0, "torch_threads": 1, "seed": 0}
    first = Trainer(resolve_settings("ri_diversion", tiny), aligned, occluded, tmp_path / "ri", lr=lr)
    first.fit()
    centre = first.objective.ui_centre.clone()
    assert centre.norm().item() == pytest.approx(1.0, abs=1e-5)
    resumed = Trainer(resolve_settings("ri_diversion", {**tiny, "epochs": 2}), aligned, occluded, tmp_path / "ri", lr=lr)
    assert resumed.try_resume() and torch.equal(resumed.objective.ui_centre, centre)
