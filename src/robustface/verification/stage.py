"""`python -m robustface verify`: verification metrics of one method under every condition.

Embeds each needed image set once, scores pairs by cosine similarity and writes one CSV row per
condition (see `COLUMNS`), a rejects CSV naming every pair that could not be evaluated and why,
and per-method figures (ROC, accuracy vs threshold).

Conditions (first image = enrolled HR face, second = probe): clean-clean; clean-occluded and
occluded-occluded per occlusion type; lr-hr and lr-lr per resolution (LR faces upscaled to the
aligned size with PIL bicubic before embedding); sr-hr per SR model and resolution; with an MFR2
labels file, `labelled-mask` rows split clean-clean by the labelled mask state of both images.
CSV columns: pairs_requested = pairs of the list (for a labelled-mask row: of its label group),
pairs_scored = pairs evaluated, pairs_excluded = the rest, exclusion_reason = their count per reason
(`trained_people: 12; missing_face: 3`; see exclusion.py), low_coverage = fewer than 90 % scored (the
log warns); every unscored pair is named in the rejects CSV. acc_mean/acc_std = 10-fold accuracy
(threshold from the other folds); tar_far1e-3/1e-2 empty (NaN) when there are too few negatives;
best_threshold = mean of the per-fold cosine thresholds. See protocol.py for the definitions.

Exclusion is per method: a trained method (--checkpoint) never scores pairs touching the people it
trained on (--trained-split: that split of the aligned shards; and the names its checkpoint
records); a pretrained reference scores every pair. `exclude_splits` applies to every method.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from robustface.config_schema import schema_default

from ..atomic import write_dataframe
from .conditions import CONDITION_NAMES, Condition, EmbeddingCache, ImageSet, build_conditions, read_people
from .exclusion import COVERAGE_COLUMNS, TRAINED_PEOPLE, count_reasons, coverage, low_coverage_warning, missing_reason, pair_exclusions
from .figures import pick_accuracy_conditions, plot_accuracy_vs_threshold, plot_roc
from .inputs import add_common_arguments, aligned_size, image_sets, mask_state, pair_list, resolve_embedder, trained_people
from .pairs import Pair, assign_folds, read_mfr2_labels, write_rejects
from .protocol import evaluate

COLUMNS = ["method", "condition", "type_or_model", "res", *COVERAGE_COLUMNS, "acc_mean", "acc_std",
           "tar_far1e-3", "tar_far1e-2", "auc", "eer", "best_threshold"]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m robustface verify", description=__doc__)
    add_common_arguments(p)
    p.add_argument("--out", required=True, help="per-method metrics CSV")
    p.add_argument("--rejects", help="rejected pairs CSV (default: <out stem>-rejects.csv)")
    p.add_argument("--figures-dir", help="ROC and accuracy-vs-threshold PNGs go here")
    p.add_argument("--embeddings", help="write every embedding computed here (npz) for method-eval to reuse")
    p.add_argument("--reuse-embeddings", nargs="*", default=[],
                   help="npz files of this method's embeddings (an earlier `verify --embeddings`): not recomputed")
    p.add_argument("--only", nargs="+", choices=CONDITION_NAMES,
                   help="evaluate only these conditions (e.g. sr-hr: one SR model's job beside the main verify)")
    return p.parse_args(argv)


def _metrics_row(method: str, condition: Condition, type_or_model: str, cover: dict, result) -> dict:
    return {
        "method": method, "condition": condition.condition, "type_or_model": type_or_model,
        "res": condition.res if condition.res else "", **cover,
        "acc_mean": result.acc_mean, "acc_std": result.acc_std,
        "tar_far1e-3": result.tar_at_far[1e-3], "tar_far1e-2": result.tar_at_far[1e-2],
        "auc": result.auc, "eer": result.eer, "best_threshold": result.best_threshold,
    }


def run_verification(embedder, method: str, pairs: list[Pair], sets: dict[str, ImageSet], *, hr_size: int,
                     folds: list[int], excluded: dict[int, str] | None = None, labels: dict[str, str] | None = None,
                     batch_size: int = 64, progress: bool = True, only: Sequence[str] | None = None,
                     reuse: Sequence[str] = ()):
    """Evaluate every condition (or those named in `only`); `excluded` = {pair index: reason} this
    method must not score; `reuse`: npz files of this method's embeddings, loaded instead of recomputed.
    Returns (metrics table, reject rows, {label: (scores, same, roc)}, embedding cache)."""
    excluded = dict(excluded or {})
    cache = EmbeddingCache(embedder.embed, hr_size, batch_size=batch_size, progress=progress)
    cache.reuse(reuse, method)
    folds_arr, same_arr = np.asarray(folds), np.array([p.same for p in pairs], dtype=bool)
    rows, rejects, curves = [], [], {}
    for k, reason in sorted(excluded.items()):
        p = pairs[k]
        rejects.append({"condition": "*", "type_or_model": "", "res": "", "pair_index": k, "id_a": p.id_a,
                        "id_b": p.id_b, "same": int(p.same), "reason": reason})
    candidates = [k for k in range(len(pairs)) if k not in excluded]
    have_face = cache.available(sets["aligned"])
    for condition in build_conditions(sets):
        if only and condition.condition not in only:
            continue
        set_a, set_b = sets[condition.set_a], sets[condition.set_b]
        have_a, have_b = cache.available(set_a), cache.available(set_b)
        valid, reason_of = [], dict(excluded)
        for k in candidates:
            p = pairs[k]
            missing = [(side, s.key) for side, pid, s, have in
                       (("id_a", p.id_a, set_a, have_a), ("id_b", p.id_b, set_b, have_b)) if pid not in have]
            if missing:
                no_face = p.id_a not in have_face or p.id_b not in have_face
                reason_of[k] = missing_reason("aligned" if no_face else missing[0][1])
                rejects.append({"condition": condition.condition, "type_or_model": condition.type_or_model,
                                "res": condition.res or "", "pair_index": k, "id_a": p.id_a, "id_b": p.id_b,
                                "same": int(p.same), "reason": "; ".join(f"{side} not in {key}" for side, key in missing)})
            else:
                valid.append(k)
        emb_a = cache.get(set_a, [pairs[k].id_a for k in valid])
        emb_b = cache.get(set_b, [pairs[k].id_b for k in valid])
        scores = _cosine_scores([emb_a[pairs[k].id_a] for k in valid], [emb_b[pairs[k].id_b] for k in valid])
        valid_arr = np.asarray(valid, dtype=int)
        result = evaluate(scores, same_arr[valid_arr], folds_arr[valid_arr])
        cover = coverage(len(pairs), count_reasons(reason_of))
        rows.append(_metrics_row(method, condition, condition.type_or_model, cover, result))
        curves[condition.label] = (scores, same_arr[valid_arr], result.roc)
        if labels is not None and condition.condition == "clean-clean":
            rows += _label_subsets(method, condition, pairs, valid, reason_of, scores, same_arr, folds_arr, labels)
    return pd.DataFrame(rows, columns=COLUMNS), rejects, curves, cache


def _cosine_scores(rows_a: list[np.ndarray], rows_b: list[np.ndarray]) -> np.ndarray:
    if not rows_a:
        return np.zeros(0)
    return np.einsum("nd,nd->n", np.stack(rows_a), np.stack(rows_b)).astype(np.float64)


def _label_subsets(method, condition, pairs, valid, reason_of, scores, same_arr, folds_arr, labels) -> list[dict]:
    """MFR2: clean-clean split by the labelled mask state of both images (masked-unmasked, ...);
    each group's requested pairs are those of the whole list with that label combination."""
    group_of = ["-".join(sorted([mask_state(labels.get(p.id_a)), mask_state(labels.get(p.id_b))])) for p in pairs]
    position = {k: i for i, k in enumerate(valid)}
    out = []
    for name in sorted(set(group_of)):
        members = [k for k, g in enumerate(group_of) if g == name]
        ks = np.asarray([k for k in members if k in position], dtype=int)
        positions = np.asarray([position[k] for k in ks], dtype=int)
        result = evaluate(scores[positions], same_arr[ks], folds_arr[ks])
        subset = Condition("labelled-mask", name, None, condition.set_a, condition.set_b)
        out.append(_metrics_row(method, subset, name, coverage(len(members), count_reasons(reason_of, members)), result))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    settings, params = args.params_json, args.embedder_params
    sets = image_sets(args)
    ids, persons, splits = read_people(args.aligned)
    pairs = pair_list(args.pairs, args.pairs_format, ids, persons)
    labels = read_mfr2_labels(args.labels) if args.labels else None
    people, about = trained_people(args, persons, splits)
    excluded = pair_exclusions(pairs, dict(zip(ids, persons)), dict(zip(persons, splits)),
                               settings.get("exclude_splits") or [], people or ())
    n_trained = sum(reason == TRAINED_PEOPLE for reason in excluded.values())
    print(about + (f"; {n_trained} of {len(pairs)} pairs touch them and are not scored ({TRAINED_PEOPLE})"
                   if people else ""))
    folds = assign_folds(pairs, int(settings.get("n_folds", schema_default("verification.n_folds"))))
    embedder = resolve_embedder(args.method, args.checkpoint, params)

    start = time.perf_counter()
    table, rejects, curves, cache = run_verification(
        embedder, args.method, pairs, sets, hr_size=aligned_size(args.aligned), folds=folds, excluded=excluded,
        labels=labels, batch_size=int(settings.get("batch_size", schema_default("verification.batch_size"))),
        progress=not args.no_progress, only=args.only, reuse=args.reuse_embeddings)
    elapsed = time.perf_counter() - start

    write_dataframe(table, args.out)
    rejects_path = args.rejects or str(Path(args.out).with_name(Path(args.out).stem + "-rejects.csv"))
    write_rejects(rejects_path, rejects)
    if args.embeddings:
        cache.save(args.embeddings, args.method)
    if args.figures_dir:
        write_figures(args.method, curves, args.figures_dir)
    evaluated = int(table["pairs_scored"].sum())
    print(f"{args.method}: {len(pairs)} pairs, {len(table)} conditions, {evaluated} pair evaluations, "
          f"{cache.images_embedded} images embedded in {elapsed:.1f}s "
          f"({evaluated / max(elapsed, 1e-9):.1f} pairs/s); {len(rejects)} rejects -> {rejects_path}")
    for row in table.to_dict("records"):
        print(f"  {row['condition']:18s} {str(row['type_or_model']):16s} {str(row['res']):>4s} "
              f"scored {row['pairs_scored']:5d}/{row['pairs_requested']:<5d} acc={_fmt(row['acc_mean'])} "
              f"auc={_fmt(row['auc'])} eer={_fmt(row['eer'])}{'  LOW COVERAGE' if row['low_coverage'] else ''}")
    for row in table[table["low_coverage"]].to_dict("records"):
        label = " ".join(str(row[c]) for c in ("condition", "type_or_model", "res") if str(row[c]))
        print(low_coverage_warning(args.method, label, row), file=sys.stderr)
    return 0


def _fmt(value: float) -> str:
    return "  nan " if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"


def write_figures(method: str, curves: dict, figures_dir: str | os.PathLike) -> None:
    figures_dir = Path(figures_dir)
    plot_roc({label: roc for label, (_, _, roc) in curves.items()}, figures_dir / "roc.png", f"ROC: {method}")
    chosen = pick_accuracy_conditions(list(curves))
    plot_accuracy_vs_threshold({label: curves[label][:2] for label in chosen},
                               figures_dir / "accuracy_vs_threshold.png", f"Accuracy vs threshold: {method}")


if __name__ == "__main__":
    sys.exit(main())
