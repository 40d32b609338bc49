"""`python -m robustface superres` on LR shards (bicubic + random-weight BSRGAN: no downloads)."""
import json
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest
import skimage.data
import torch

from robustface.h5io import read_attrs, read_shard, write_shard
from robustface.superres import MissingWeightsError, get_entry
from robustface.superres.stage import main
from robustface.superres.weights import sha256_file

LFW = Path(__file__).resolve().parents[3] / "shared/data/lfw-devtrain"


def lr_faces(res: int, n: int) -> np.ndarray:
    face = skimage.data.astronaut()[20:200, 160:340]
    faces = [face, face[:, ::-1], np.ascontiguousarray(np.rot90(face))]
    return np.stack([cv2.resize(faces[i % 3], (res, res), interpolation=cv2.INTER_AREA) for i in range(n)])


def write_lr_shard(path: Path, images: np.ndarray, hr_size: int = 112) -> None:
    ids = [f"Eileen_Collins_{i:04d}" for i in range(len(images))]
    write_shard(path, {"images": images, "image_id": ids, "person": ["Eileen_Collins"] * len(images),
                       "split": ["test"] * len(images)},
                {"kernel": "bicubic", "hr_size": hr_size, "res": int(images.shape[1]) if images.ndim == 4 else 0})


def test_bicubic_stage_writes_sr_shard(tmp_path):
    lr_path, out = tmp_path / "lr.h5", tmp_path / "sr" / "shard-0000.h5"
    write_lr_shard(lr_path, lr_faces(16, 3))
    assert main(["--model", "bicubic", "--params-json", "{}", "--lr", str(lr_path), "--out", str(out),
                 "--hr-size", "112", "--device", "cpu"]) == 0
    shard = read_shard(out)
    assert shard["images"].shape == (3, 112, 112, 3) and shard["images"].dtype == np.uint8
    assert shard["image_id"] == [f"Eileen_Collins_{i:04d}" for i in range(3)]
    assert shard["person"] == ["Eileen_Collins"] * 3
    attrs = read_attrs(out)
    assert attrs["model"] == "bicubic" and attrs["kernel"] == "bicubic"
    assert attrs["hr_size"] == 112 and attrs["res"] == 16
    assert attrs["device"] == "cpu" and attrs["dtype"] == "float32" and attrs["weights_sha256"] == ""
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # atomic write


def test_network_stage_records_weights_hash(tmp_path):
    weights = tmp_path / "BSRGAN.pth"
    torch.manual_seed(0)
    torch.save(get_entry("bsrgan").build().state_dict(), weights)
    lr_path, out = tmp_path / "lr.h5", tmp_path / "sr.h5"
    write_lr_shard(lr_path, lr_faces(16, 3))
    params = json.dumps({"tile": 0, "tile_overlap": 10, "batch_size": 2})
    assert main(["--model", "bsrgan", "--params-json", params, "--lr", str(lr_path), "--out", str(out),
                 "--hr-size", "112", "--weights", str(weights), "--device", "cpu"]) == 0
    attrs = read_attrs(out)
    assert attrs["weights_sha256"] == sha256_file(weights)
    assert attrs["model"] == "bsrgan" and attrs["params"]["batch_size"] == 2
    assert read_shard(out)["images"].shape == (3, 112, 112, 3)


def test_empty_shard(tmp_path):
    lr_path, out = tmp_path / "lr.h5", tmp_path / "sr.h5"
    write_lr_shard(lr_path, np.zeros((0, 32, 32, 3), np.uint8))
    assert main(["--model", "bicubic", "--lr", str(lr_path), "--out", str(out), "--hr-size", "112"]) == 0
    with h5py.File(out, "r") as f:
        assert f["images"].shape == (0, 112, 112, 3)
        assert len(f["image_id"]) == 0


def test_missing_weights_fails_before_writing(tmp_path):
    lr_path, out = tmp_path / "lr.h5", tmp_path / "sr.h5"
    write_lr_shard(lr_path, lr_faces(16, 1))
    with pytest.raises(MissingWeightsError, match="003_realSR_BSRGAN_DFO_s64w8_SwinIR-M_x4_GAN.pth"):
        main(["--model", "swinir", "--lr", str(lr_path), "--out", str(out), "--hr-size", "112",
              "--weights", str(tmp_path / "003_realSR_BSRGAN_DFO_s64w8_SwinIR-M_x4_GAN.pth")])
    assert not out.exists()


def test_bad_params_and_hr_size_rejected(tmp_path):
    lr_path = tmp_path / "lr.h5"
    write_lr_shard(lr_path, lr_faces(16, 1))
    common = ["--model", "bicubic", "--lr", str(lr_path), "--out", str(tmp_path / "sr.h5")]
    with pytest.raises(ValueError, match="unknown SR params \\['tiles'\\]"):
        main(common + ["--hr-size", "112", "--params-json", '{"tiles": 4}'])
    with pytest.raises(ValueError, match="differs from the LR shard's hr_size 112"):
        main(common + ["--hr-size", "128"])


def test_hr_size_comes_from_the_lr_shards(tmp_path):
    lr_path, out = tmp_path / "lr.h5", tmp_path / "sr.h5"
    write_lr_shard(lr_path, lr_faces(16, 2), hr_size=128)
    assert main(["--model", "bicubic", "--lr", str(lr_path), "--out", str(out)]) == 0
    with h5py.File(out) as f:
        assert f["images"].shape == (2, 128, 128, 3) and int(f.attrs["hr_size"]) == 128


@pytest.mark.skipif(not LFW.is_dir(), reason="LFW dev sample not available")
def test_bicubic_on_real_lfw_faces(tmp_path):
    photos = sorted(LFW.glob("lfw/*/*.jpg"))[:2]
    # centre crop of the 250x250 LFW photo, downscaled: a real face at 16 px
    faces = np.stack([cv2.resize(cv2.imread(str(p))[60:190, 60:190, ::-1], (16, 16), interpolation=cv2.INTER_AREA)
                      for p in photos])
    lr_path, out = tmp_path / "lr.h5", tmp_path / "sr.h5"
    write_lr_shard(lr_path, faces)
    assert main(["--model", "bicubic", "--lr", str(lr_path), "--out", str(out), "--hr-size", "112"]) == 0
    sr = read_shard(out)["images"]
    back = np.stack([cv2.resize(s, (16, 16), interpolation=cv2.INTER_AREA) for s in sr])
    assert np.abs(back.astype(int) - faces).mean() < 6  # downscaling the SR face recovers the LR face
