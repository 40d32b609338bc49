"""benchmarks/superres_training.py: what the shipped cpu budget implies per model and resolution."""
import pytest

from benchmarks.superres_training import cpu_budget_estimate, gan_cost


def test_cpu_budget_estimate_uses_each_resolutions_steps_and_the_budgets_layers():
    rows = [{"model": "swinir_face", "train_layers": "all", "adversarial_weight": 0.0, "res": r, "cpu_seconds_per_step": 1.7 * k}
            for r, k in ((16, 1.0), (32, 2.5), (64, 9.0))]
    # not the cpu budget's: all layers of rrdb_face, the GAN term
    rows.append({"model": "rrdb_face", "train_layers": "all", "adversarial_weight": 0.0, "res": 16, "cpu_seconds_per_step": 9.9})
    rows.append({"model": "swinir_face", "train_layers": "all", "adversarial_weight": 0.1, "res": 16, "cpu_seconds_per_step": 2.4})
    rows.append({"model": "rrdb_face", "train_layers": "tail:4", "adversarial_weight": 0.0, "res": 16, "cpu_seconds_per_step": 1.7})
    estimate = {(e["model"], e["res"]): e for e in cpu_budget_estimate(rows)}
    assert set(estimate) == {("swinir_face", 16), ("swinir_face", 32), ("swinir_face", 64), ("rrdb_face", 16)}
    steps = {r: estimate[("swinir_face", r)]["steps"] for r in (16, 32, 64)}
    assert steps[16] > steps[32] > steps[64]  # the budget's per-resolution steps
    for (model, res), e in estimate.items():
        assert e["minutes"] == pytest.approx(e["steps"] * next(
            r["cpu_seconds_per_step"] for r in rows if (r["model"], r["res"]) == (model, res)
            and r["train_layers"] == ("tail:4" if model == "rrdb_face" else "all")) / 1.7 / 60)
        assert e["within_goal"] == (e["minutes"] <= 40)


def test_gan_cost_pairs_each_gan_row_with_its_plain_twin():
    rows = [{"model": "swinir_face", "train_layers": "all", "adversarial_weight": w, "discriminator_features": f,
             "res": r, "cpu_seconds_per_step": c}
            for w, f, r, c in ((0.0, None, 16, 2.0), (0.1, 64, 16, 3.0), (0.1, 32, 16, 2.5), (0.0, None, 32, 4.0),
                               (0.1, 64, 32, 5.0), (0.1, 64, 64, 9.0))]
    assert gan_cost(rows) == [{"model": "swinir_face", "res": 16, "discriminator_features": 64, "ratio": 1.5},
                              {"model": "swinir_face", "res": 16, "discriminator_features": 32, "ratio": 1.25},
                              {"model": "swinir_face", "res": 32, "discriminator_features": 64, "ratio": 1.25}]
