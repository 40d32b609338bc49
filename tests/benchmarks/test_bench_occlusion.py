"""benchmarks/occlusion.py: rendering rates per occlusion type."""
import time

import pytest

from benchmarks import occlusion as bench


def test_benchmark_returns_rates_per_type():
    start = time.perf_counter()
    result = bench.benchmark_rendering(types=["surgical_mask", "eyeglasses"], n_faces=10)
    wall = time.perf_counter() - start
    assert set(result) == {"surgical_mask", "eyeglasses"}
    for r in result.values():
        assert r["n_faces"] == 10 and r["workers"] == 1
        assert r["ms_per_face"] == pytest.approx(1000 / r["faces_per_s"], rel=0.01)
    # rendering 10 faces per type took at least the time the reported rates claim (+ warm-up)
    assert sum(r["n_faces"] / r["faces_per_s"] for r in result.values()) <= wall
