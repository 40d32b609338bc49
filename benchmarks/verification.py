"""Throughput of the verification evaluation, in evaluated pairs per second (`python -m benchmarks --sections verify`)."""
from __future__ import annotations

import time

import numpy as np

from robustface.verification.pairs import Pair, assign_folds
from robustface.verification.protocol import evaluate


def benchmark(embedder=None, n_pairs: int = 6000, n_images: int = 512, image_size: int = 112,
              batch_size: int = 64, seed: int = 0) -> dict:
    """Pairs/s of embedding + cosine scoring + the full metric set (10-fold accuracy, ROC,
    TAR@FAR, AUC, EER) on synthetic images. Without an embedder only scoring + metrics are timed
    (on random unit embeddings): the protocol's own cost. Returns
    {"pairs_per_s", "n_pairs", "n_images", "seconds", "includes_embedding"}."""
    rng = np.random.default_rng(seed)
    persons = rng.integers(0, n_images // 4, size=n_images)
    first = rng.integers(0, n_images, size=n_pairs)
    second = rng.integers(0, n_images, size=n_pairs)
    pairs = [Pair(str(a), str(b), bool(persons[a] == persons[b])) for a, b in zip(first, second)]
    folds = np.asarray(assign_folds(pairs))
    same = np.array([p.same for p in pairs])

    start = time.perf_counter()
    if embedder is not None:
        images = rng.integers(0, 256, size=(n_images, image_size, image_size, 3), dtype=np.uint8)
        vectors = np.concatenate([np.asarray(embedder.embed(images[k:k + batch_size]), np.float32)
                                  for k in range(0, n_images, batch_size)])
    else:
        vectors = rng.standard_normal((n_images, 128)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = np.einsum("nd,nd->n", vectors[first], vectors[second])
    evaluate(scores, same, folds)
    seconds = time.perf_counter() - start
    return {"pairs_per_s": n_pairs / seconds, "n_pairs": n_pairs, "n_images": n_images, "seconds": seconds,
            "includes_embedding": embedder is not None}


def benchmark_embedding(n_images: int = 256, batch_size: int = 128, repeats: int = 3, tmp=None, device: str = "auto") -> dict:
    """Images/s of a trained checkpoint's inference as verify runs it (`load_trained_embedder`:
    Conv+BN folded, channels_last) against the same weights unfolded, per backbone, in one run:
    {backbones: {name: {fused_img_s, plain_img_s, fused_over_plain, max_abs_diff}}}."""
    import tempfile
    from pathlib import Path

    import torch

    from robustface.device import resolve_device
    from robustface.recognition.embedder import TrainedEmbedder, load_model, load_trained_embedder
    from robustface.recognition.methods import BACKBONE_NAMES
    from robustface.recognition.model import FaceRecognizer, ModelSpec

    images = np.random.default_rng(0).integers(0, 256, size=(n_images, 112, 112, 3), dtype=np.uint8)

    def rate(embedder) -> tuple[float, np.ndarray]:
        out = embedder.embed(images[:batch_size])  # warm-up
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            out = embedder.embed(images)
            best = min(best, time.perf_counter() - start)
        return n_images / best, out

    dev = resolve_device(device)
    results = {}
    with tempfile.TemporaryDirectory(dir=tmp) as folder:
        for backbone in BACKBONE_NAMES:
            path = Path(folder) / f"{backbone}.pt"
            spec = ModelSpec(embedding_dim=128, backbone=backbone)
            model = FaceRecognizer(spec).eval()
            for bn in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
                bn.running_mean.uniform_(-0.5, 0.5), bn.running_var.uniform_(0.5, 2.0)  # fresh BNs fold trivially
            torch.save({"model": model.state_dict(), "spec": spec.to_dict(), "method": backbone}, path)
            plain_model, _ = load_model(path, dev)
            plain_rate, plain_out = rate(TrainedEmbedder(plain_model, backbone, dev, batch_size))
            fused_rate, fused_out = rate(load_trained_embedder(path, str(dev), batch_size))
            results[backbone] = {"fused_img_s": fused_rate, "plain_img_s": plain_rate,
                                 "fused_over_plain": fused_rate / plain_rate,
                                 "max_abs_diff": float(np.abs(fused_out - plain_out).max())}
    return {"backbones": results, "device": str(dev), "threads": torch.get_num_threads(), "batch_size": batch_size}


def benchmark_judges(n_images: int = 64, repeats: int = 2) -> dict:
    """Faces/s of the pretrained judges as the stages run them, in one run: SFace, dlib's ResNet
    in PyTorch (the `dlib` judge and teacher) and the same network through the dlib wheel, with
    the largest difference between the two dlib descriptors (L2-normalised)."""
    import torch

    from robustface.metrics.identity import DLIB_RESNET_FILE, DlibEmbedder, _package_dir, l2_normalise, load_embedder

    images = np.random.default_rng(0).integers(0, 256, size=(n_images, 112, 112, 3), dtype=np.uint8)

    def rate(embed) -> tuple[float, np.ndarray]:
        out = embed(images[:4])  # warm-up
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            out = embed(images)
            best = min(best, time.perf_counter() - start)
        return n_images / best, out

    rates = {"sface": rate(load_embedder("sface").embed)[0]}
    rates["dlib_torch"], ported = rate(load_embedder("dlib").embed)
    result = {"threads": torch.get_num_threads(), "faces": n_images}
    try:
        import dlib
    except ImportError:
        result["dlib_wheel"] = "dlib not installed"
    else:
        wheel = dlib.face_recognition_model_v1(str(_package_dir("face_recognition_models") / "models" / DLIB_RESNET_FILE))
        rates["dlib_wheel"], reference = rate(lambda x: l2_normalise(np.asarray(
            wheel.compute_face_descriptor([np.ascontiguousarray(DlibEmbedder.chip(f)) for f in x]))))
        result["dlib_torch_over_wheel"] = rates["dlib_torch"] / rates["dlib_wheel"]
        result["dlib_max_abs_diff"] = float(np.abs(ported - reference).max())
    return {"faces_per_s": rates, **result}
