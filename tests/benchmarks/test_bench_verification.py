"""benchmarks/verification.py: evaluated pairs per second, with and without embedding."""
import time

import numpy as np
import pytest

from benchmarks.verification import benchmark


def test_benchmark_reports_pairs_per_second():
    start = time.perf_counter()
    result = benchmark(n_pairs=2000, n_images=64)
    wall = time.perf_counter() - start
    assert result["n_pairs"] == 2000 and result["includes_embedding"] is False
    assert 0 < result["seconds"] <= wall  # the timed section lies inside the call
    assert result["pairs_per_s"] == pytest.approx(2000 / result["seconds"])


def test_benchmark_with_an_embedder_embeds_every_image_once_in_batches():
    class CountingEmbedder:
        def __init__(self):
            self.batches = []

        def embed(self, faces):
            assert faces.dtype == np.uint8 and faces.shape[1:] == (32, 32, 3)
            self.batches.append(len(faces))
            return np.random.default_rng(len(self.batches)).standard_normal((len(faces), 16))

    embedder = CountingEmbedder()
    result = benchmark(embedder, n_pairs=500, n_images=70, image_size=32, batch_size=32)
    assert embedder.batches == [32, 32, 6] and result["includes_embedding"] is True


def test_embedding_benchmark_times_folded_and_plain_inference_per_backbone(tmp_path):
    from benchmarks.verification import benchmark_embedding

    result = benchmark_embedding(n_images=8, batch_size=4, repeats=1, tmp=tmp_path)
    assert set(result["backbones"]) == {"mobilefacenet", "sface"}
    for row in result["backbones"].values():
        assert row["fused_img_s"] > 0 and row["plain_img_s"] > 0
        assert row["fused_over_plain"] == pytest.approx(row["fused_img_s"] / row["plain_img_s"])
        assert row["max_abs_diff"] < 1e-4  # folding changes only float rounding
