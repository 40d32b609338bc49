"""bsrgan / swinir / gfpgan: randomly initialised weights of the real architectures, saved in the
official checkpoint layout, loaded through the pipeline's loader, run on a real face."""
import functools
import re

import cv2
import numpy as np
import pytest
import skimage.data
import torch

from robustface.superres import IncompatibleWeightsError, MissingWeightsError, bare_forward, get_entry, load_model
from robustface.superres.weights import WEIGHTS_DIR_ENV, sha256_file


def astronaut_faces(res: int, n: int = 1) -> np.ndarray:
    face = skimage.data.astronaut()[20:200, 160:340]  # Eileen Collins' face, 180x180
    lr = cv2.resize(face, (res, res), interpolation=cv2.INTER_AREA)
    return np.stack([lr, lr[:, ::-1]][:n]) if n <= 2 else np.repeat(lr[None], n, axis=0)


@functools.lru_cache(maxsize=None)
def random_state_dict(name: str) -> dict:
    torch.manual_seed(0)
    return get_entry(name).build().state_dict()


def save_random_weights(name: str, path, layout: str):
    state_dict = random_state_dict(name)
    torch.save(state_dict if layout == "raw" else {layout: state_dict}, path)
    return state_dict


def assert_loaded_exactly(model, state_dict):
    loaded = model.network.state_dict()
    assert loaded.keys() == state_dict.keys()
    for key in ("conv_first.weight", "conv_last.bias"):
        if key in state_dict:
            assert torch.equal(loaded[key], state_dict[key])


def test_bsrgan_uses_kair_key_names():
    keys = list(get_entry("bsrgan").build().state_dict())
    assert len(keys) == 702  # 1 + 23*3*5 + 5 convolutions, weight + bias each
    for key in ("conv_first.weight", "RRDB_trunk.0.RDB1.conv1.weight", "RRDB_trunk.22.RDB3.conv5.bias",
                "trunk_conv.weight", "upconv1.weight", "upconv2.weight", "HRconv.weight", "conv_last.bias"):
        assert key in keys


def test_bsrgan_raw_state_dict_loads_and_upscales(tmp_path):
    path = tmp_path / "BSRGAN.pth"
    state_dict = save_random_weights("bsrgan", path, "raw")  # KAIR saves a bare state dict
    model = load_model("bsrgan", path, "cpu")
    assert_loaded_exactly(model, state_dict)
    assert model.weights_sha256 == sha256_file(path)
    lr = astronaut_faces(16, 2)
    batch = model.prepare(lr)
    assert bare_forward(model, batch).shape == (2, 3, 64, 64)
    sr = model.upscale(lr, 112)
    assert sr.shape == (2, 112, 112, 3) and sr.dtype == np.uint8
    assert sr.std() > 0  # a real forward, not a constant fill
    np.testing.assert_array_equal(sr, model.upscale(lr, 112))  # deterministic


def test_swinir_params_ema_loads_and_upscales(tmp_path):
    path = tmp_path / "swinir.pth"
    state_dict = save_random_weights("swinir", path, "params_ema")
    model = load_model("swinir", path, "cpu")
    assert_loaded_exactly(model, state_dict)
    lr = astronaut_faces(12)  # not a multiple of the window size 8: padded then cropped
    assert bare_forward(model, model.prepare(lr)).shape == (1, 3, 48, 48)
    sr = model.upscale(lr, 64)
    assert sr.shape == (1, 64, 64, 3) and sr.dtype == np.uint8
    assert sr.std() > 0


def test_gfpgan_params_ema_loads_and_restores_at_512(tmp_path):
    path = tmp_path / "GFPGANv1.4.pth"
    state_dict = save_random_weights("gfpgan", path, "params_ema")
    model = load_model("gfpgan", path, "cpu")
    assert_loaded_exactly(model, state_dict)
    lr = astronaut_faces(16)
    batch = model.prepare(lr)
    assert batch.shape == (1, 3, 512, 512) and batch.min() >= -1 and batch.max() <= 1
    seen = []
    model.network.register_forward_hook(lambda module, args, output: seen.append(args[0]))
    sr = model.upscale(lr, 112)  # one 512x512 forward: slow on CPU
    assert sr.shape == (1, 112, 112, 3) and sr.dtype == np.uint8
    assert sr.std() > 0
    # the restorer sees the FFHQ-aligned crop of the face (grey border), not a plain 512 upscale
    from robustface.superres import ffhq

    torch.testing.assert_close(seen[0], batch)
    corner = (seen[0][0, :, :20, :20] + 1) / 2 * 255
    torch.testing.assert_close(corner, torch.tensor(ffhq.FILL_RGB).float().view(3, 1, 1).expand(3, 20, 20), atol=0.5, rtol=0)


@pytest.mark.parametrize("name", ["bsrgan", "swinir", "gfpgan"])
def test_wrong_key_fails_clearly(tmp_path, name):
    state_dict = dict(random_state_dict(name))
    first_key = next(iter(state_dict))
    state_dict[first_key + "_renamed"] = state_dict.pop(first_key)
    path = tmp_path / "bad.pth"
    torch.save({"params": state_dict}, path)
    with pytest.raises(IncompatibleWeightsError) as info:
        load_model(name, path, "cpu")
    message = str(info.value)
    assert first_key in message and first_key + "_renamed" in message and str(path) in message


def test_wrong_architecture_fails_clearly(tmp_path):
    path = tmp_path / "realesrgan_as_bsrgan.pth"
    torch.save({"params_ema": get_entry("realesrgan").build().state_dict()}, path)
    with pytest.raises(IncompatibleWeightsError, match="KAIRRRDBNet"):
        load_model("bsrgan", path, "cpu")


@pytest.mark.parametrize("name", ["realesrgan", "bsrgan", "swinir", "gfpgan"])
def test_missing_weights_names_path_url_and_sha(tmp_path, monkeypatch, name):
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(tmp_path / "weights"))
    spec = get_entry(name).weights
    with pytest.raises(MissingWeightsError) as info:
        load_model(name, device="cpu")
    message = str(info.value)
    assert str(tmp_path / "weights" / spec.filename) in message
    assert spec.url in message and spec.sha256 in message
    assert "python -m robustface fetch" in message


def test_realesrgan_missing_weights_points_to_offline_provisioning(tmp_path):
    with pytest.raises(MissingWeightsError, match="provision-realesrgan"):
        load_model("realesrgan", tmp_path / "nothing.pth", "cpu")


def test_every_weight_spec_is_complete():
    digests = []
    for name in ("realesrgan", "bsrgan", "swinir", "gfpgan"):
        spec = get_entry(name).weights
        assert spec.url.startswith("https://") and spec.url.endswith(spec.filename)
        assert spec.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", spec.sha256), (name, spec.sha256)
        digests += [spec.sha256] if spec.sha256 else []
    assert len(set(digests)) == len(digests)  # different files, different digests (no copy-paste)


def test_bicubic_needs_no_weights_and_matches_size():
    model = load_model("bicubic", device="cpu")
    lr = astronaut_faces(16, 2)
    sr = model.upscale(lr, 112)
    assert sr.shape == (2, 112, 112, 3) and model.weights_sha256 is None
    # bicubic of the mean colour stays close to the LR mean colour
    assert np.abs(sr.reshape(-1, 3).mean(0) - lr.reshape(-1, 3).mean(0)).max() < 3


def test_the_bicubic_model_is_verifications_lr_upscale():
    """One bicubic: the SR `bicubic` rows and verification's LR faces see the same pixels."""
    from robustface.degrade import upscale_bicubic
    from robustface.verification.conditions import EmbeddingCache, ImageSet

    lr = astronaut_faces(16, 3)
    sr = load_model("bicubic", device="cpu", batch_size=2).upscale(lr, 112)
    np.testing.assert_array_equal(sr, upscale_bicubic(lr, 112))
    seen = []
    cache = EmbeddingCache(lambda images: seen.append(images) or np.ones((len(images), 2)), 112, progress=False)
    cache._index = lambda image_set: _InMemoryIndex(lr)  # the cache's reader, without a shard on disk
    cache.get(ImageSet("lr/16", (), upscale=True), ["f0", "f1", "f2"])
    np.testing.assert_array_equal(np.concatenate(seen), sr)
    torch_bicubic = torch.nn.functional.interpolate(torch.from_numpy(lr).permute(0, 3, 1, 2).float(), size=112,
                                                    mode="bicubic", align_corners=False)
    assert np.abs(torch_bicubic.round().clamp(0, 255).permute(0, 2, 3, 1).numpy() - sr).max() > 2  # not torch's kernel


class _InMemoryIndex:
    def __init__(self, images):
        self.images_by_id = {f"f{k}": im for k, im in enumerate(images)}
        self.where = {i: (0, k) for k, i in enumerate(self.images_by_id)}

    def __contains__(self, image_id):
        return image_id in self.where

    def images(self, ids):
        return np.stack([self.images_by_id[i] for i in ids])


def test_bad_input_and_unknown_model_rejected():
    model = load_model("bicubic", device="cpu")
    with pytest.raises(ValueError, match="uint8"):
        model.upscale(np.zeros((1, 16, 16, 3), np.float32), 64)
    with pytest.raises(ValueError, match="unknown SR model 'esrgan'"):
        load_model("esrgan")
