"""`python -m robustface method-comparison`: every method side by side, on one footing.

Joins the verification table (results/verification_metrics.csv) with each method's rank-1 and ERC
summary (`method-eval`) on (method, condition, type_or_model, res), and labels each method:
family (`reference` for pretrained recognizers, `amofr` for the AMOFR family and label/KD
baselines, else the published method's objective) and `mechanism` (on / off = the method's own
ablation / empty). Outputs:
- results/method_comparison.csv: one row per method and condition;
- results/method_ablation.csv: per published method and condition, the mechanism's effect =
  method minus its ablation (same objective, mechanism switched off) in accuracy, rank-1 and ERC area;
- results/erc_curves.csv: every method's ERC curves;
- figures: accuracy and rank-1 heatmaps (methods x conditions); ERC curves of every method for
  clean-clean and the lowest-resolution LR-HR condition.
"""
from __future__ import annotations

import argparse
import math
import sys
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..atomic import write_dataframe
from ..cli import json_arg
from .conditions import CONDITION_NAMES

KEYS = ["method", "condition", "type_or_model", "res"]
VERIFICATION_COLUMNS = ["pairs_scored", "low_coverage", "acc_mean", "acc_std", "auc", "eer", "tar_far1e-2"]
SUMMARY_COLUMNS = ["n_probes", "rank1", "erc_fnmr_r0", "erc_fnmr_r30", "erc_auc"]
COLUMNS = ["method", "family", "mechanism", "condition", "type_or_model", "res", *VERIFICATION_COLUMNS, *SUMMARY_COLUMNS]
DELTAS = [("acc_mean", "d_acc"), ("rank1", "d_rank1"), ("erc_auc", "d_erc_auc")]
ABLATION_COLUMNS = ["method", "ablation", "objective", "condition", "type_or_model", "res", "acc_mean", "acc_ablation", "d_acc",
                    "rank1", "rank1_ablation", "d_rank1", "erc_auc", "erc_auc_ablation", "d_erc_auc"]
CONDITION_ORDER = [*CONDITION_NAMES, "labelled-mask"]


def ablation_pairs(roles: Mapping[str, dict]) -> list[tuple[str, str]]:
    """(method, ablation): same objective, mechanism on vs off, and the same other settings
    (`signature`, when the roles carry one)."""
    on = [m for m, r in roles.items() if r["objective"] and r["mechanism"]]
    off = [m for m, r in roles.items() if r["objective"] and r["mechanism"] is False]
    return [(m, a) for m in on for a in off if roles[m]["objective"] == roles[a]["objective"]
            and roles[m].get("signature") == roles[a].get("signature")]


def _read(path: str) -> pd.DataFrame:
    table = pd.read_csv(path, dtype={"type_or_model": str, "res": str})
    table[["type_or_model", "res"]] = table[["type_or_model", "res"]].fillna("")
    table["res"] = table["res"].astype(str).str.replace(r"\.0$", "", regex=True)
    return table


def _sort(table: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    rank = {m: k for k, m in enumerate(methods)}
    order = table.assign(_m=table["method"].map(lambda m: rank.get(m, len(rank))),
                         _c=table["condition"].map(lambda c: CONDITION_ORDER.index(c) if c in CONDITION_ORDER else 99),
                         _r=pd.to_numeric(table["res"], errors="coerce").fillna(-1))
    order = order.sort_values(["_m", "_c", "type_or_model", "_r"], kind="stable")
    return table.loc[order.index].reset_index(drop=True)


def compare(verification: pd.DataFrame, summaries: pd.DataFrame, roles: Mapping[str, dict]) -> pd.DataFrame:
    missing = [c for c in KEYS + VERIFICATION_COLUMNS if c not in verification.columns]
    if missing:
        raise ValueError(f"verification table lacks columns {missing}")
    unknown = sorted(set(verification["method"]) - set(roles))
    if unknown:
        raise ValueError(f"methods {unknown} of the verification table have no role (family) given")
    table = verification[KEYS + VERIFICATION_COLUMNS].merge(summaries[KEYS + SUMMARY_COLUMNS], on=KEYS, how="outer")
    table["family"] = table["method"].map(lambda m: roles.get(m, {}).get("family", ""))
    table["mechanism"] = table["method"].map(lambda m: {True: "on", False: "off"}.get(roles.get(m, {}).get("mechanism"), ""))
    return _sort(table[COLUMNS], list(roles))


def ablation_table(table: pd.DataFrame, roles: Mapping[str, dict]) -> pd.DataFrame:
    rows = []
    for method, ablation in ablation_pairs(roles):
        a = table[table.method == method].set_index(KEYS[1:])
        b = table[table.method == ablation].set_index(KEYS[1:])
        for key in a.index.intersection(b.index):
            row = {"method": method, "ablation": ablation, "objective": roles[method]["objective"],
                   **dict(zip(KEYS[1:], key))}
            for column, delta in DELTAS:
                x, y = a.at[key, column], b.at[key, column]
                suffix = "_ablation"
                row[column], row[column + suffix] = x, y
                row[delta] = x - y if not (pd.isna(x) or pd.isna(y)) else math.nan
            rows.append(row)
    return pd.DataFrame(rows, columns=ABLATION_COLUMNS)


def _condition_label(row) -> str:
    parts = [row.condition, row.type_or_model, f"{row.res}px" if row.res else ""]
    return " ".join(p for p in parts if p)


def plot_comparison(table: pd.DataFrame, path: str, methods: Sequence[str]) -> None:
    from .figures import _save, plt

    labelled = table.assign(label=[_condition_label(r) for r in table.itertuples(index=False)])
    conditions = list(dict.fromkeys(labelled["label"]))
    methods = [m for m in methods if m in set(labelled["method"])]
    fig, axes = plt.subplots(2, 1, figsize=(max(8, 0.55 * len(conditions) + 3), 2 * (0.38 * len(methods) + 1.6)),
                             constrained_layout=True)
    for ax, (column, title) in zip(axes, [("acc_mean", "verification accuracy (10-fold)"), ("rank1", "rank-1 identification")]):
        grid = labelled.pivot_table(index="method", columns="label", values=column, aggfunc="first").reindex(
            index=methods, columns=conditions)
        values = grid.to_numpy(dtype=float)
        image = ax.imshow(np.ma.masked_invalid(values), vmin=0.0 if column == "rank1" else 0.5, vmax=1.0, cmap="viridis",
                          aspect="auto")
        ax.set_xticks(range(len(conditions)), conditions, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(len(methods)), methods, fontsize=7)
        if values.size <= 400:
            for (i, j), v in np.ndenumerate(values):
                if np.isfinite(v):
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=5.5, color="white" if v < 0.8 else "black")
        ax.set_title(title, fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.02)
    _save(fig, path)


def plot_erc_methods(curves: pd.DataFrame, path: str, methods: Sequence[str]) -> None:
    """One panel per condition (clean-clean, lowest-res LR-HR): every method's ERC curve."""
    from .figures import _save, plt

    panels = [("clean-clean", "", "")]
    lr = sorted(pd.to_numeric(curves.loc[curves.condition == "lr-hr", "res"], errors="coerce").dropna().astype(int).unique())
    if lr:
        panels.append(("lr-hr", "", str(lr[0])))
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.2), squeeze=False)
    for ax, (condition, type_or_model, res) in zip(axes[0], panels):
        part = curves[(curves.condition == condition) & (curves.type_or_model == type_or_model) & (curves.res == res)]
        for k, method in enumerate(m for m in methods if m in set(part.method)):
            rows = part[part.method == method]
            ax.plot(rows.reject_fraction, rows.fnmr, label=method, color=plt.get_cmap("tab20")(k % 20), linewidth=1.2)
        ax.set_title(f"ERC: {condition}" + (f" {res}px" if res else ""), fontsize=9)
        ax.set_xlabel("fraction rejected (lowest recognizability first)")
        ax.set_ylabel("FNMR at fixed FMR threshold")
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
    _save(fig, path)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m robustface method-comparison", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--verification", required=True, help="results/verification_metrics.csv")
    p.add_argument("--summaries", nargs="+", required=True, help="method-eval summary CSVs")
    p.add_argument("--curves", nargs="+", required=True, help="method-eval ERC curve CSVs")
    p.add_argument("--roles", required=True, type=json_arg, help="JSON {method: {family, objective, mechanism}} (the planner's)")
    p.add_argument("--out", required=True)
    p.add_argument("--ablation-out", required=True)
    p.add_argument("--curves-out", required=True)
    p.add_argument("--figure", required=True)
    p.add_argument("--erc-figure", required=True)
    args = p.parse_args(list(sys.argv[1:] if argv is None else argv))
    roles = args.roles
    summaries = pd.concat([_read(s) for s in args.summaries], ignore_index=True)
    curves = pd.concat([_read(c) for c in args.curves], ignore_index=True)
    table = compare(_read(args.verification), summaries, roles)
    ablations = ablation_table(table, roles)
    write_dataframe(table, args.out)
    write_dataframe(ablations, args.ablation_out)
    write_dataframe(_sort(curves, list(roles)), args.curves_out)
    plot_comparison(table, args.figure, list(roles))
    plot_erc_methods(curves, args.erc_figure, list(roles))
    print(f"{table.method.nunique()} methods x {len(table) // max(table.method.nunique(), 1)} conditions -> {args.out}; "
          f"{len(ablation_pairs(roles))} mechanism/ablation pair(s) -> {args.ablation_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
