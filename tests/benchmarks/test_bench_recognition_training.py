"""benchmarks/recognition_training.py: the real training loop vs the bare step, timed inside the call."""
from __future__ import annotations

import time

import pytest


def test_benchmark_reports_real_loop_and_bare_throughput():
    from benchmarks.recognition_training import benchmark_training

    start = time.perf_counter()
    result = benchmark_training(overrides={"batch_size": 4, "torch_threads": 1}, steps=2, warmup=1)
    wall = time.perf_counter() - start
    assert result["batch_size"] == 4 and result["device"] == "cpu" and result["steps"] == 2
    # both timed loops (2 steps x 4 images each) lie inside the call
    images = result["steps"] * result["batch_size"]
    assert images / result["real_loop_img_s"] + images / result["bare_fwd_bwd_img_s"] <= wall
    assert result["ratio"] == pytest.approx(result["bare_fwd_bwd_img_s"] / result["real_loop_img_s"])


def test_backbone_benchmark_times_both_networks_in_one_run():
    from benchmarks.recognition_training import benchmark_backbones

    result = benchmark_backbones(overrides={"batch_size": 4, "torch_threads": 1}, steps=1, warmup=1)
    runs = result["backbones"]
    assert set(runs) == {"mobilefacenet", "sface"}
    assert all(run["batch_size"] == 4 and run["real_loop_img_s"] > 0 for run in runs.values())
    assert result["sface_time_over_mobilefacenet"] == pytest.approx(
        runs["mobilefacenet"]["real_loop_img_s"] / runs["sface"]["real_loop_img_s"])
