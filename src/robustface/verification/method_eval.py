"""`python -m robustface method-eval`: the evaluation habits beyond verification, for one method.

Same inputs as `verify` (pairs, image sets, checkpoint or pretrained recognizer). Per condition:
- rank-1 closed-set identification (verification/identification.py): gallery from the
  condition's first image set (the enrolled side), probes from its second;
- an ERC curve (verification/erc.py) over the condition's verification pairs, pairs ranked by the
  lower recognizability index (RI) of their two faces, RI measured against the method's own
  unrecognisable-identity centre (its embeddings of the evaluated faces shrunk to `ui_res` px).
With an MFR2 labels file (real masks), also identification of the masked faces against a
gallery of unmasked ones, and an ERC curve per labelled mask subset of the clean-clean pairs.

People: a trained method never sees the people it trained on (--trained-split and the names its
checkpoint records, as in `verify`); --exclude-people-of-split drops a split's people for any
method, so that in this DAG the pretrained references are scored on the same people as the
trained methods (every row of the comparison on one footing). `exclude_splits` applies to all.

Outputs: --summary (one row per condition: rank1, n_gallery, n_probes, ERC summary), --curves
(one row per condition and rejection fraction), --figure (ERC curves).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..atomic import write_dataframe
from ..degrade import resize_batch, upscale_bicubic
from ..h5io import ShardIndex
from .conditions import Condition, EmbeddingCache, build_conditions, read_people
from .erc import REJECT_FRACTIONS, erc_auc, erc_curve, fnmr_at, recognizability, ui_centre
from .exclusion import split_people
from .identification import rank1_accuracy, split_gallery
from .inputs import add_common_arguments, aligned_size, image_sets, mask_state, pair_list, resolve_embedder, trained_people
from .pairs import read_mfr2_labels

SUMMARY_COLUMNS = ["method", "condition", "type_or_model", "res", "n_gallery", "n_probes", "rank1", "erc_pairs",
                   "erc_fmr", "erc_fnmr_r0", "erc_fnmr_r10", "erc_fnmr_r30", "erc_auc"]
CURVE_COLUMNS = ["method", "condition", "type_or_model", "res", "reject_fraction", "fnmr", "n_pairs_kept",
                 "n_genuine_kept", "threshold"]
UI_MAX_FACES = 256  # faces shrunk to find the UI centre (evenly spread over the evaluated ones)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m robustface method-eval", description=__doc__)
    add_common_arguments(p)
    p.add_argument("--exclude-people-of-split", help="leave this split's people out for any method (references too)")
    p.add_argument("--embeddings", nargs="*", default=[],
                   help="npz files written by `verify --embeddings` (and verify_sr) for this method: reused, not recomputed")
    p.add_argument("--summary", required=True, help="per-condition CSV (rank-1, ERC summary)")
    p.add_argument("--curves", required=True, help="ERC curves CSV")
    p.add_argument("--figure", help="ERC figure (PNG)")
    return p.parse_args(argv)


def method_ui_centre(embedder, aligned: Sequence[str], ids: Sequence[str], hr_size: int, res: int) -> np.ndarray:
    """The method's UI centre: its mean embedding of evaluated faces shrunk to `res` px and back."""
    chosen = [ids[k] for k in np.unique(np.linspace(0, len(ids) - 1, min(len(ids), UI_MAX_FACES)).astype(int))]
    faces = ShardIndex(aligned).images(chosen)
    unrecognisable = upscale_bicubic(resize_batch(faces, res, "pil_bicubic"), hr_size)
    return ui_centre(np.asarray(embedder.embed(unrecognisable), dtype=np.float32))


def _summary(method: str, condition: Condition, type_or_model: str, gallery=None, rank1=math.nan, curve=None,
             fmr=math.nan) -> dict:
    curve = curve or []
    has_curve = bool(curve)
    return {
        "method": method, "condition": condition.condition, "type_or_model": type_or_model,
        "res": condition.res or "", "n_gallery": len(gallery.gallery) if gallery else 0,
        "n_probes": len(gallery.probes) if gallery else 0, "rank1": rank1,
        "erc_pairs": curve[0]["n_pairs_kept"] if has_curve else 0, "erc_fmr": fmr,
        "erc_fnmr_r0": fnmr_at(curve, 0.0) if has_curve else math.nan,
        "erc_fnmr_r10": fnmr_at(curve, 0.1) if has_curve else math.nan,
        "erc_fnmr_r30": fnmr_at(curve, 0.3) if has_curve else math.nan,
        "erc_auc": erc_auc(curve) if has_curve else math.nan,
    }


def _curve_rows(method: str, condition: Condition, type_or_model: str, curve: list[dict]) -> list[dict]:
    return [{"method": method, "condition": condition.condition, "type_or_model": type_or_model,
             "res": condition.res or "", **row} for row in curve]


def _rank1(gallery, emb_gallery, emb_probe, persons) -> float:
    """NaN without probes or with fewer than 2 gallery people (identification among one is no test)."""
    if not gallery.probes or len(gallery.gallery) < 2:
        return math.nan
    return rank1_accuracy(np.stack([emb_gallery[i] for i in gallery.gallery]), [persons[i] for i in gallery.gallery],
                          np.stack([emb_probe[i] for i in gallery.probes]), [persons[i] for i in gallery.probes])


def _erc(scores, same, quality, fmr) -> list[dict]:
    """An ERC curve, or [] when the pairs cannot define one (no genuine or no impostor pair)."""
    if len(scores) == 0 or same.all() or not same.any():
        return []
    return erc_curve(scores, same, quality, fmr, REJECT_FRACTIONS)


def evaluate_method(embedder, method: str, pairs, sets, ids: list[str], persons: dict[str, str], *, hr_size: int,
                    labels: dict[str, str] | None = None, fmr: float = 1e-2, ui_res: int = 8, batch_size: int = 64,
                    progress: bool = True, cache: EmbeddingCache | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`ids`: the evaluated faces (their people form the gallery); `pairs`: verification pairs
    among them; `cache`: embeddings already computed (by verify) for this embedder. Returns (summary, curves)."""
    cache = cache or EmbeddingCache(embedder.embed, hr_size, batch_size=batch_size, progress=progress)
    centre = method_ui_centre(embedder, sets["aligned"].paths, ids, hr_size, ui_res)
    summary, curves = [], []
    same_all = np.array([p.same for p in pairs], dtype=bool)
    for condition in build_conditions(sets):
        set_a, set_b = sets[condition.set_a], sets[condition.set_b]
        have_a, have_b = cache.available(set_a), cache.available(set_b)
        gallery = split_gallery(ids, persons, have_a, have_b)
        valid = [k for k, p in enumerate(pairs) if p.id_a in have_a and p.id_b in have_b]
        emb_a = cache.get(set_a, gallery.gallery + [pairs[k].id_a for k in valid])
        emb_b = cache.get(set_b, gallery.probes + [pairs[k].id_b for k in valid])
        rank1 = _rank1(gallery, emb_a, emb_b, persons)
        curve = []
        if valid:
            a = np.stack([emb_a[pairs[k].id_a] for k in valid])
            b = np.stack([emb_b[pairs[k].id_b] for k in valid])
            scores = np.einsum("nd,nd->n", a, b).astype(np.float64)
            quality = np.minimum(recognizability(a, centre), recognizability(b, centre))
            curve = _erc(scores, same_all[valid], quality, fmr)
            if labels is not None and condition.condition == "clean-clean":
                summary_l, curves_l = _labelled(method, condition, pairs, valid, scores, quality, same_all, labels, fmr)
                summary += summary_l
                curves += curves_l
        summary.append(_summary(method, condition, condition.type_or_model, gallery, rank1, curve, fmr))
        curves += _curve_rows(method, condition, condition.type_or_model, curve)
    if labels is not None:
        summary.append(_masked_identification(method, sets, cache, ids, persons, labels))
    return pd.DataFrame(summary, columns=SUMMARY_COLUMNS), pd.DataFrame(curves, columns=CURVE_COLUMNS)


def _labelled(method, condition, pairs, valid, scores, quality, same_all, labels, fmr):
    """MFR2 real masks: an ERC curve per labelled mask subset of the clean-clean pairs
    (masked-masked, masked-unmasked, unmasked-unmasked), as `verify`'s labelled-mask rows."""
    groups: dict[str, list[int]] = {}
    for position, k in enumerate(valid):
        states = sorted([mask_state(labels.get(pairs[k].id_a)), mask_state(labels.get(pairs[k].id_b))])
        groups.setdefault("-".join(states), []).append(position)
    summary, curves = [], []
    for name, positions in sorted(groups.items()):
        positions = np.asarray(positions)
        subset = Condition("labelled-mask", name, None, condition.set_a, condition.set_b)
        curve = _erc(scores[positions], same_all[np.asarray(valid)[positions]], quality[positions], fmr)
        summary.append(_summary(method, subset, name, None, math.nan, curve, fmr))
        curves += _curve_rows(method, subset, name, curve)
    return summary, curves


def _masked_identification(method, sets, cache, ids, persons, labels) -> dict:
    """Real masks: probes = labelled masked faces, gallery = one unmasked face per person."""
    aligned = sets["aligned"]
    have = cache.available(aligned)
    gallery = split_gallery(ids, persons, have, have, gallery_ok=lambda i: mask_state(labels.get(i)) == "unmasked",
                            probe_ok=lambda i: mask_state(labels.get(i)) == "masked")
    emb = cache.get(aligned, gallery.gallery + gallery.probes)
    rank1 = _rank1(gallery, emb, emb, persons)
    condition = Condition("labelled-mask", "masked-probe", None, "aligned", "aligned")
    return _summary(method, condition, "masked-probe", gallery, rank1)


def plot_erc(curves: pd.DataFrame, path: str | Path, title: str, limit: int = 8) -> None:
    """FNMR against the rejected fraction: clean-clean plus the first condition of each family and
    every 16 px condition (at most `limit` curves)."""
    from .figures import FAMILY_LINESTYLES, _save, plt

    labels = []
    for key, _ in curves.groupby(["condition", "type_or_model", "res"], sort=False):
        labels.append(key)
    chosen, families = [], set()
    for key in labels:
        if key[0] not in families or str(key[2]) == "16":
            chosen.append(key)
            families.add(key[0])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for k, key in enumerate(chosen[:limit]):
        rows = curves[(curves.condition == key[0]) & (curves.type_or_model == key[1]) & (curves.res == key[2])]
        label = " ".join(str(v) + ("px" if i == 2 else "") for i, v in enumerate(key) if str(v))
        ax.plot(rows.reject_fraction, rows.fnmr, marker="o", markersize=3, label=label,
                color=plt.get_cmap("tab10")(k % 10), linestyle=FAMILY_LINESTYLES.get(key[0], "-"))
    ax.set_xlabel("fraction of pairs rejected (lowest recognizability first)")
    ax.set_ylabel("FNMR at the fixed FMR threshold")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    _save(fig, path)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    settings = args.params_json
    sets = image_sets(args)
    all_ids, all_persons, splits = read_people(args.aligned)
    excluded = set(settings.get("exclude_splits") or [])
    trained, message = trained_people(args, all_persons, splits)
    left_out = set(trained or ())
    if args.exclude_people_of_split:
        left_out |= split_people(all_persons, splits, args.exclude_people_of_split)
    print(message)
    ids = [i for i, person, s in zip(all_ids, all_persons, splits) if s not in excluded and person not in left_out]
    if not ids:
        raise SystemExit(f"error: no aligned face left to evaluate (splits {sorted(excluded)} excluded, "
                         f"{len(left_out)} people left out)")
    persons = dict(zip(all_ids, all_persons))
    evaluated = set(ids)
    pairs = pair_list(args.pairs, args.pairs_format, ids, [persons[i] for i in ids])
    # pairs touching a face outside the evaluated people are left out, as verify does (its rejects CSV names them)
    pairs = [p for p in pairs if p.id_a in evaluated and p.id_b in evaluated]
    labels = read_mfr2_labels(args.labels) if args.labels else None
    embedder = resolve_embedder(args.method, args.checkpoint, args.embedder_params)
    hr_size = aligned_size(args.aligned)
    cache = EmbeddingCache(embedder.embed, hr_size, batch_size=int(settings.get("batch_size", 64)),
                           progress=not args.no_progress)
    cache.reuse(args.embeddings, args.method)
    start = time.perf_counter()
    summary, curves = evaluate_method(
        embedder, args.method, pairs, sets, ids, persons, hr_size=hr_size, labels=labels,
        fmr=float(settings.get("erc_fmr", 1e-2)), ui_res=int(settings.get("ui_res", 8)), cache=cache)
    write_dataframe(summary, args.summary)
    write_dataframe(curves, args.curves)
    if args.figure:
        plot_erc(curves, args.figure, f"ERC: {args.method}")
    print(f"{args.method}: {len(summary)} conditions, {len(ids)} faces, {len(pairs)} pairs in "
          f"{time.perf_counter() - start:.1f}s ({cache.images_embedded} images embedded) -> {args.summary}")
    for row in summary.itertuples(index=False):
        print(f"  {row.condition:18s} {str(row.type_or_model):16s} {str(row.res):>4s} rank1={row.rank1:.4f} "
              f"(n={row.n_probes}) erc_auc={row.erc_auc:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
