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
