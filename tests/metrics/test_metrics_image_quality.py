"""PSNR/SSIM on Y (BT.601) against basicsr's reference implementation."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from robustface.metrics import image_quality as iq

LFW = Path(__file__).resolve().parents[3] / "shared/data/lfw-devtrain"


def _lfw_faces(n: int = 6, size: int = 112) -> np.ndarray:
    if not (LFW / "lfw").is_dir():
        pytest.skip(f"LFW sample not found at {LFW}")
    paths = sorted((LFW / "lfw").glob("*/*_0001.jpg"))[:n]
    # deep-funneled LFW is roughly centred: a central crop is a face
    return np.stack([cv2.resize(cv2.imread(str(p))[55:195, 55:195, ::-1], (size, size), interpolation=cv2.INTER_AREA) for p in paths])


def _degrade(faces: np.ndarray, factor: int) -> np.ndarray:
    s = faces.shape[1]
    small = [cv2.resize(f, (s // factor, s // factor), interpolation=cv2.INTER_AREA) for f in faces]
    return np.stack([cv2.resize(f, (s, s), interpolation=cv2.INTER_CUBIC) for f in small])


@pytest.fixture(scope="module")
def basicsr_metrics():
    import robustface.compat  # noqa: F401

    from basicsr.metrics import calculate_psnr, calculate_ssim

    return calculate_psnr, calculate_ssim


def test_matches_basicsr_on_real_faces(basicsr_metrics):
    calculate_psnr, calculate_ssim = basicsr_metrics
    hr = _lfw_faces()
    sr = _degrade(hr, 4)
    got = iq.image_quality(sr, hr)
    for i in range(len(hr)):
        bgr_sr, bgr_hr = sr[i][..., ::-1], hr[i][..., ::-1]  # basicsr takes BGR
        assert got["psnr_y"][i] == pytest.approx(calculate_psnr(bgr_sr, bgr_hr, 0, test_y_channel=True), abs=1e-5)
        assert got["ssim_y"][i] == pytest.approx(calculate_ssim(bgr_sr, bgr_hr, 0, test_y_channel=True), abs=1e-7)
        assert got["psnr_rgb"][i] == pytest.approx(calculate_psnr(sr[i], hr[i], 0), abs=1e-9)
    assert 20 < got["psnr_y"].mean() < 40 and 0.5 < got["ssim_y"].mean() < 0.99


def test_matches_basicsr_on_noise_and_odd_size(basicsr_metrics):
    calculate_psnr, calculate_ssim = basicsr_metrics
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (2, 37, 53, 3), dtype=np.uint8)
    sr = np.clip(hr.astype(int) + rng.integers(-30, 31, hr.shape), 0, 255).astype(np.uint8)
    for i in range(2):
        assert iq.ssim_y(sr[i], hr[i])[0] == pytest.approx(calculate_ssim(sr[i][..., ::-1], hr[i][..., ::-1], 0, test_y_channel=True), abs=1e-7)
        assert iq.psnr_y(sr[i], hr[i])[0] == pytest.approx(calculate_psnr(sr[i][..., ::-1], hr[i][..., ::-1], 0, test_y_channel=True), abs=1e-5)


def test_better_reconstruction_scores_higher():
    hr = _lfw_faces(4)
    mild, strong = iq.image_quality(_degrade(hr, 2), hr), iq.image_quality(_degrade(hr, 8), hr)
    for key in ("psnr_y", "ssim_y", "psnr_rgb"):
        assert np.all(mild[key] > strong[key]), key


def test_identical_images_are_capped_and_ssim_one():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    assert np.all(iq.psnr_y(x, x) == iq.PSNR_CAP_DB)
    assert np.all(iq.psnr_rgb(x, x) == iq.PSNR_CAP_DB)
    np.testing.assert_allclose(iq.ssim_y(x, x), 1.0, atol=1e-12)


def test_known_values():
    black = np.zeros((1, 16, 16, 3), np.uint8)
    white = np.full((1, 16, 16, 3), 255, np.uint8)
    assert iq.psnr_rgb(white, black)[0] == pytest.approx(0.0)
    # Y spans [16, 235]: black/white differ by 219 in Y
    assert iq.rgb_to_y(black)[0, 0, 0] == pytest.approx(16.0)
    assert iq.rgb_to_y(white)[0, 0, 0] == pytest.approx(235.0)
    assert iq.psnr_y(white, black)[0] == pytest.approx(20 * np.log10(255 / 219))
    gray = np.full((1, 16, 16, 3), 100, np.uint8)
    assert iq.psnr_rgb(gray + 5, gray)[0] == pytest.approx(20 * np.log10(255 / 5))


def test_batch_equals_single_and_rejects_bad_shapes():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (4, 24, 24, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (4, 24, 24, 3), dtype=np.uint8)
    batch = iq.ssim_y(a, b)
    assert batch.shape == (4,)
    assert batch[2] == pytest.approx(iq.ssim_y(a[2], b[2])[0])
    with pytest.raises(ValueError, match="differ in shape"):
        iq.psnr_y(a, b[:, :20])
    with pytest.raises(ValueError, match="RGB"):
        iq.psnr_y(a[..., 0], b[..., 0])
    with pytest.raises(ValueError, match="at least 11"):
        iq.ssim_y(a[:, :8, :8], b[:, :8, :8])
