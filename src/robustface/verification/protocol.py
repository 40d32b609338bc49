"""Verification metrics from pair scores (higher score = more alike; cosine similarity here).

A pair is declared "same" when score >= threshold.
- 10-fold accuracy as insightface's `lfw.calculate_roc`: for each fold, the threshold with the
  best accuracy on the other folds is applied to it; mean and (population) std over folds.
  Candidate thresholds are the midpoints between consecutive distinct training scores (exact,
  no grid).
- ROC: exact, one point per distinct score. TAR@FAR=f takes the highest TAR among ROC points
  with FAR <= f (conservative step interpolation, no linear interpolation between points). It is
  NaN when f is not resolvable: fewer than 1/f negative pairs (e.g. < 1000 for 1e-3).
- AUC: trapezoids on the exact ROC (ties count one half, = Mann-Whitney U / (n_pos n_neg)).
- EER: FAR = FRR, linearly interpolated between the two ROC points where FAR - FRR changes sign.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

FAR_TARGETS = (1e-3, 1e-2)


@dataclass
class Roc:
    far: np.ndarray
    tar: np.ndarray
    thresholds: np.ndarray  # far[k], tar[k] hold for "same iff score >= thresholds[k]"
    n_pos: int
    n_neg: int


@dataclass
class VerificationResult:
    n_pairs: int
    acc_mean: float
    acc_std: float
    fold_accuracies: list[float]
    fold_thresholds: list[float]
    tar_at_far: dict[float, float]
    auc: float
    eer: float
    best_threshold: float
    roc: Roc | None = field(default=None, repr=False)


def _split(scores: np.ndarray, same: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.sort(scores[same]), np.sort(scores[~same])


def accuracy_at(scores: np.ndarray, same: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Accuracy of "same iff score >= t" for every t in `thresholds`."""
    scores, same = np.asarray(scores, dtype=np.float64), np.asarray(same, dtype=bool)
    pos, neg = _split(scores, same)
    thresholds = np.asarray(thresholds, dtype=np.float64)
    true_accepts = len(pos) - np.searchsorted(pos, thresholds, side="left")
    true_rejects = np.searchsorted(neg, thresholds, side="left")
    return (true_accepts + true_rejects) / max(len(scores), 1)


def candidate_thresholds(scores: np.ndarray) -> np.ndarray:
    distinct = np.unique(np.asarray(scores, dtype=np.float64))
    if len(distinct) == 0:
        return np.array([0.0])
    return np.concatenate([[distinct[0] - 1.0], (distinct[:-1] + distinct[1:]) / 2, [distinct[-1] + 1.0]])


def best_threshold(scores: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """(threshold, accuracy) maximising accuracy on these pairs."""
    candidates = candidate_thresholds(scores)
    accuracies = accuracy_at(scores, same, candidates)
    k = int(np.argmax(accuracies))
    return float(candidates[k]), float(accuracies[k])


def kfold_accuracy(scores: np.ndarray, same: np.ndarray, folds: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-fold test accuracy and the threshold chosen on the other folds (empty folds skipped)."""
    scores, same, folds = np.asarray(scores, float), np.asarray(same, bool), np.asarray(folds)
    accuracies, thresholds = [], []
    for fold in np.unique(folds):
        test = folds == fold
        if test.all():
            continue  # nothing left to choose a threshold on
        threshold, _ = best_threshold(scores[~test], same[~test])
        accuracies.append(float(accuracy_at(scores[test], same[test], np.array([threshold]))[0]))
        thresholds.append(threshold)
    return accuracies, thresholds


def roc_curve(scores: np.ndarray, same: np.ndarray) -> Roc:
    scores, same = np.asarray(scores, dtype=np.float64), np.asarray(same, dtype=bool)
    n_pos, n_neg = int(same.sum()), int((~same).sum())
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_same = scores[order], same[order]
    # last index of each run of equal scores: all tied pairs switch together
    run_ends = np.r_[np.nonzero(np.diff(sorted_scores))[0], len(scores) - 1] if len(scores) else np.array([], int)
    true_accepts = np.cumsum(sorted_same)[run_ends] if len(scores) else np.array([])
    false_accepts = np.cumsum(~sorted_same)[run_ends] if len(scores) else np.array([])
    tar = np.r_[0.0, true_accepts / n_pos] if n_pos else np.full(len(run_ends) + 1, np.nan)
    far = np.r_[0.0, false_accepts / n_neg] if n_neg else np.full(len(run_ends) + 1, np.nan)
    thresholds = np.r_[np.inf, sorted_scores[run_ends]]
    return Roc(far=far, tar=tar, thresholds=thresholds, n_pos=n_pos, n_neg=n_neg)


def tar_at_far(roc: Roc, target: float) -> float:
    if roc.n_pos == 0 or roc.n_neg * target < 1:
        return math.nan
    return float(roc.tar[roc.far <= target + 1e-12].max())


def roc_auc(roc: Roc) -> float:
    if roc.n_pos == 0 or roc.n_neg == 0:
        return math.nan
    return float(np.sum(np.diff(roc.far) * (roc.tar[1:] + roc.tar[:-1]) / 2))


def equal_error_rate(roc: Roc) -> float:
    if roc.n_pos == 0 or roc.n_neg == 0:
        return math.nan
    gap = roc.far - (1.0 - roc.tar)  # FAR - FRR: -1 at the strictest threshold, +1 at the loosest
    k = int(np.argmax(gap >= 0))
    if gap[k] == 0 or k == 0:
        return float(roc.far[k])
    t = -gap[k - 1] / (gap[k] - gap[k - 1])
    return float(roc.far[k - 1] + t * (roc.far[k] - roc.far[k - 1]))


def evaluate(scores: np.ndarray, same: np.ndarray, folds: np.ndarray | None = None,
             far_targets: tuple[float, ...] = FAR_TARGETS) -> VerificationResult:
    """All metrics for one condition. `folds` default: one fold (no cross-validated accuracy)."""
    scores, same = np.asarray(scores, dtype=np.float64), np.asarray(same, dtype=bool)
    if scores.shape != same.shape:
        raise ValueError(f"{scores.shape} scores but {same.shape} labels")
    folds = np.zeros(len(scores), int) if folds is None else np.asarray(folds)
    roc = roc_curve(scores, same)
    accuracies, thresholds = kfold_accuracy(scores, same, folds) if len(scores) else ([], [])
    return VerificationResult(
        n_pairs=len(scores),
        acc_mean=float(np.mean(accuracies)) if accuracies else math.nan,
        acc_std=float(np.std(accuracies)) if accuracies else math.nan,
        fold_accuracies=accuracies,
        fold_thresholds=thresholds,
        tar_at_far={f: tar_at_far(roc, f) for f in far_targets},
        auc=roc_auc(roc),
        eer=equal_error_rate(roc),
        best_threshold=float(np.mean(thresholds)) if thresholds else math.nan,
        roc=roc,
    )
