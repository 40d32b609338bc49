"""benchmarks/superres_training.py: what the shipped cpu budget implies per model and resolution."""
import pytest

from benchmarks.superres_training import cpu_budget_estimate


def test_cpu_budget_estimate_uses_each_resolutions_steps_and_the_budgets_layers():
    rows = [{"model": "swinir_face", "train_layers": "all", "res": r, "cpu_seconds_per_step": 1.7 * k}
            for r, k in ((16, 1.0), (32, 2.5), (64, 9.0))]
    rows.append({"model": "rrdb_face", "train_layers": "all", "res": 16, "cpu_seconds_per_step": 9.9})  # not the cpu budget's
    rows.append({"model": "rrdb_face", "train_layers": "tail:4", "res": 16, "cpu_seconds_per_step": 1.7})
    estimate = {(e["model"], e["res"]): e for e in cpu_budget_estimate(rows)}
    assert set(estimate) == {("swinir_face", 16), ("swinir_face", 32), ("swinir_face", 64), ("rrdb_face", 16)}
    steps = {r: estimate[("swinir_face", r)]["steps"] for r in (16, 32, 64)}
    assert steps[16] > steps[32] > steps[64]  # the budget's per-resolution steps
    for (model, res), e in estimate.items():
        assert e["minutes"] == pytest.approx(e["steps"] * next(
            r["cpu_seconds_per_step"] for r in rows if (r["model"], r["res"]) == (model, res)
            and r["train_layers"] == ("tail:4" if model == "rrdb_face" else "all")) / 1.7 / 60)
        assert e["within_goal"] == (e["minutes"] <= 40)
