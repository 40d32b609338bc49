"""Verification metrics against hand-computed answers."""
import math

import numpy as np
import pytest

from robustface.verification.protocol import accuracy_at, best_threshold, equal_error_rate, evaluate, kfold_accuracy, roc_auc, roc_curve, tar_at_far


def brute_force_auc(pos, neg):
    """P(score_pos > score_neg) + 0.5 P(tie), by enumeration."""
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def test_perfectly_separable():
    scores = np.r_[np.linspace(0.6, 0.9, 50), np.linspace(-0.2, 0.3, 50)]
    same = np.r_[np.ones(50, bool), np.zeros(50, bool)]
    folds = np.r_[np.arange(50) // 5, np.arange(50) // 5]
    result = evaluate(scores, same, folds)
    assert result.acc_mean == 1.0 and result.acc_std == 0.0
    assert result.eer == 0.0 and result.auc == 1.0
    assert 0.3 < result.best_threshold < 0.6
    assert len(result.fold_accuracies) == 10
    assert math.isnan(result.tar_at_far[1e-3]) and math.isnan(result.tar_at_far[1e-2])  # 50 negatives only


def test_hand_computed_small_case():
    # pos: 0.9 0.7 0.4 ; neg: 0.8 0.3 0.1  -> ROC points at thresholds 0.9,0.8,0.7,0.4,0.3,0.1
    scores = np.array([0.9, 0.7, 0.4, 0.8, 0.3, 0.1])
    same = np.array([1, 1, 1, 0, 0, 0], bool)
    roc = roc_curve(scores, same)
    assert np.allclose(roc.far, [0, 0, 1 / 3, 1 / 3, 1 / 3, 2 / 3, 1])
    assert np.allclose(roc.tar, [0, 1 / 3, 1 / 3, 2 / 3, 1, 1, 1])
    assert roc_auc(roc) == pytest.approx(brute_force_auc([0.9, 0.7, 0.4], [0.8, 0.3, 0.1]))  # 8/9
    # FAR - FRR: -1, -2/3, -1/3, 0 (far 1/3, tar 2/3) -> EER 1/3
    assert equal_error_rate(roc) == pytest.approx(1 / 3)
    threshold, accuracy = best_threshold(scores, same)
    assert accuracy == pytest.approx(5 / 6) and 0.3 < threshold < 0.4
    assert accuracy_at(scores, same, np.array([0.35, 2.0]))[0] == pytest.approx(5 / 6)
    assert accuracy_at(scores, same, np.array([2.0]))[0] == pytest.approx(0.5)


def test_ties_count_half():
    scores = np.array([0.5, 0.5, 0.5, 0.5])
    same = np.array([1, 0, 1, 0], bool)
    roc = roc_curve(scores, same)
    assert np.allclose(roc.far, [0, 1]) and np.allclose(roc.tar, [0, 1])
    assert roc_auc(roc) == 0.5 and equal_error_rate(roc) == pytest.approx(0.5)


def test_identical_distributions_are_chance():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=4000)
    same = np.r_[np.ones(2000, bool), np.zeros(2000, bool)]
    result = evaluate(scores, same, np.r_[np.arange(2000) // 200, np.arange(2000) // 200])
    assert abs(result.auc - 0.5) < 0.03
    assert abs(result.eer - 0.5) < 0.03
    assert abs(result.acc_mean - 0.5) < 0.04
    assert result.tar_at_far[1e-2] < 0.05  # TAR ~ FAR for a useless score


def test_tar_at_far_is_conservative_step():
    # 1000 negatives at 0..0.999; positives: 10 above all negatives, 90 in between
    neg = np.arange(1000) / 1000.0
    pos = np.r_[np.full(10, 2.0), np.linspace(0.9955, 0.9975, 90)]
    scores, same = np.r_[pos, neg], np.r_[np.ones(100, bool), np.zeros(1000, bool)]
    roc = roc_curve(scores, same)
    # FAR <= 1e-3 admits one false accept (neg 0.999); the 90 positives lie below neg 0.998 -> TAR 0.10
    assert tar_at_far(roc, 1e-3) == pytest.approx(0.10)
    # FAR <= 1e-2 admits 10 false accepts (negs >= 0.990): every positive -> 1.0
    assert tar_at_far(roc, 1e-2) == pytest.approx(1.0)
    assert math.isnan(tar_at_far(roc_curve(scores[:-1], same[:-1]), 1e-3))  # 999 negatives


def test_kfold_threshold_comes_from_other_folds():
    # fold 0 alone is mislabelled relative to folds 1..: its accuracy must be poor
    scores = np.array([0.9, 0.1, 0.9, 0.1, 0.1, 0.9])
    same = np.array([1, 0, 1, 0, 1, 0], bool)
    folds = np.array([1, 1, 2, 2, 0, 0])
    accuracies, thresholds = kfold_accuracy(scores, same, folds)
    assert accuracies[0] == 0.0 and accuracies[1] == 0.5 and accuracies[2] == 0.5


def test_empty_and_one_label():
    result = evaluate(np.zeros(0), np.zeros(0, bool))
    assert result.n_pairs == 0 and math.isnan(result.acc_mean) and math.isnan(result.auc)
    result = evaluate(np.array([0.1, 0.2]), np.array([True, True]), np.array([0, 1]))
    assert math.isnan(result.auc) and math.isnan(result.eer) and result.acc_mean == 1.0
