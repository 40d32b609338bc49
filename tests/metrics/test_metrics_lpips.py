"""LPIPS-Alex loader: no download, backbone from a local file, clear status when absent."""
import numpy as np
import pytest
import torch

from robustface.metrics import lpips_metric


@pytest.fixture(scope="module")
def random_alexnet(tmp_path_factory):
    import robustface.compat  # noqa: F401

    import torchvision

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / lpips_metric.ALEXNET_FILE
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), path)
    return path


def _images(seed: int, n: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (n, 8, 8, 3), dtype=np.uint8)
    return np.repeat(np.repeat(base, 8, axis=1), 8, axis=2)  # 64x64 with structure


def test_lpips_from_local_backbone(random_alexnet):
    metric, status = lpips_metric.load_lpips(random_alexnet)
    assert status.ok and str(status) == "ok"
    x = _images(0)
    rng = np.random.default_rng(1)
    mild = np.clip(x + rng.normal(0, 8, x.shape), 0, 255).astype(np.uint8)
    strong = np.clip(x + rng.normal(0, 60, x.shape), 0, 255).astype(np.uint8)
    same, d_mild, d_strong = metric(x, x), metric(mild, x), metric(strong, x)
    assert same.shape == (3,) and d_mild.shape == (3,)
    np.testing.assert_allclose(same, 0.0, atol=1e-7)
    assert np.all(d_mild > 0) and np.all(d_strong > d_mild)
    # batching does not change values
    np.testing.assert_allclose(metric(strong, x, batch_size=1), d_strong, rtol=1e-5)


def test_lpips_uses_the_packaged_linear_weights(random_alexnet):
    metric, _ = lpips_metric.load_lpips(random_alexnet)
    linear = torch.load(lpips_metric._lpips_linear_weights(), map_location="cpu", weights_only=True)
    key = next(k for k in linear if k.startswith("lin0"))
    assert torch.equal(metric.model.state_dict()[key], linear[key])


def test_missing_backbone_names_file_url_and_hash(tmp_path):
    metric, status = lpips_metric.load_lpips(tmp_path / "nope" / lpips_metric.ALEXNET_FILE)
    assert metric is None and not status.ok
    assert "alexnet-owt-7be5be79.pth" in status.reason
    assert "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth" in status.reason
    assert "7be5be79" in status.reason
    assert lpips_metric.load_lpips(None)[1].ok is False


def test_wrong_state_dict_is_rejected(tmp_path):
    path = tmp_path / "bad.pth"
    torch.save({"features.0.weight": torch.zeros(64, 3, 11, 11)}, path)
    with pytest.raises(ValueError, match="expected 10"):
        lpips_metric.load_lpips(path)
