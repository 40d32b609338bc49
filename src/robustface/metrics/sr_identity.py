"""`python -m robustface sr-identity`: does SR make a small face recognisable? One row per SR model x
LR width x independent judge, side by side: the image metrics of results/sr_metrics.csv, the judge's
identity cosine to the HR face, its SR-HR verification accuracy, its LR-HR accuracy without SR, and
the gain over bicubic SR -> results/sr_identity.csv and results/figures/sr_identity.png."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..atomic import save_figure, write_dataframe  # noqa: E402
from .figure import lr_width_axis  # noqa: E402

BASELINE_MODEL = "bicubic"
DODGE_LOG2 = 0.03  # horizontal offset between models at one LR width, in log2 units
IMAGE_METRICS = {"psnr_y": "psnr_y_mean", "ssim_y": "ssim_y_mean", "lpips": "lpips_mean"}
COLUMNS = ["model", "res", "judge", "status", "n_faces", *IMAGE_METRICS, "id_cos", "pairs_scored",
           "sr_hr_acc", "sr_hr_acc_std", "lr_hr_acc", "d_acc_vs_lr_hr", "d_acc_vs_bicubic"]


def _judge_cosine(row: pd.Series, judge: str) -> float:
    """The judge's own identity cosine: `id_cos` when it is the metrics' recognizer, else `id_cos_<judge>`."""
    if str(row.get("recognizer", "")) == judge:
        return row.get("id_cos_mean", np.nan)
    return row.get(f"id_cos_{judge}_mean", np.nan)


def _accuracies(verification: pd.DataFrame, condition: str) -> pd.DataFrame:
    rows = verification[verification["condition"] == condition].copy()
    rows["res"] = pd.to_numeric(rows["res"], errors="coerce")
    return rows.dropna(subset=["res"]).astype({"res": int})


def sr_identity_table(sr_metrics: pd.DataFrame, verification: pd.DataFrame, judges: Sequence[str],
                      variant: str = "clean") -> pd.DataFrame:
    """The side-by-side table. Models that did not run keep one row per judge with their status;
    a cell the run did not compute (no SR-HR condition, no such judge) stays empty."""
    measured = sr_metrics[(sr_metrics["status"] == "ok") & (sr_metrics["variant"].astype(str) == variant)].copy()
    measured["res"] = pd.to_numeric(measured["res"]).astype(int)
    sr_hr = _accuracies(verification, "sr-hr").set_index(["method", "type_or_model", "res"])
    lr_hr = _accuracies(verification, "lr-hr").set_index(["method", "res"])
    keys = {(m, int(r)) for m, r in zip(measured["model"], measured["res"])}
    keys |= {(m, r) for j, m, r in sr_hr.index if j in judges}
    metrics_by_key = {(m, int(r)): row for (m, r), row in measured.set_index(["model", "res"]).iterrows()}
    rows = []
    for model, res in sorted(keys, key=lambda k: (k[1], k[0] != BASELINE_MODEL, k[0])):
        metrics = metrics_by_key.get((model, res), pd.Series(dtype=object))
        for judge in judges:
            row = {"model": model, "res": res, "judge": judge, "status": "ok",
                   "n_faces": metrics.get("n", np.nan), "id_cos": _judge_cosine(metrics, judge),
                   **{name: metrics.get(column, np.nan) for name, column in IMAGE_METRICS.items()}}
            if (judge, model, res) in sr_hr.index:
                cell = sr_hr.loc[(judge, model, res)]
                row.update(pairs_scored=cell["pairs_scored"], sr_hr_acc=cell["acc_mean"], sr_hr_acc_std=cell["acc_std"])
            if (judge, res) in lr_hr.index:
                row["lr_hr_acc"] = lr_hr.loc[(judge, res), "acc_mean"]
            rows.append(row)
    for model, status in zip(sr_metrics["model"], sr_metrics["status"]):
        if status != "ok" and not any(r["model"] == model for r in rows):
            rows += [{"model": model, "judge": judge, "status": status} for judge in judges]
    table = pd.DataFrame(rows).reindex(columns=COLUMNS).astype({"res": "Int64", "n_faces": "Int64", "pairs_scored": "Int64"})
    table["d_acc_vs_lr_hr"] = table["sr_hr_acc"] - table["lr_hr_acc"]
    bicubic = table[table["model"] == BASELINE_MODEL].set_index(["res", "judge"])["sr_hr_acc"]
    baseline = [bicubic.get((r, j), np.nan) if m != BASELINE_MODEL else np.nan
                for m, r, j in zip(table["model"], table["res"], table["judge"])]
    table["d_acc_vs_bicubic"] = table["sr_hr_acc"] - np.asarray(baseline, dtype=float)
    return table


def plot_sr_identity(table: pd.DataFrame, path: str | os.PathLike, title: str = "") -> None:
    """One panel per judge: SR-HR accuracy against the LR width per SR model (error bars: std over
    the verification folds), the judge's LR-HR accuracy without SR as a dashed black line."""
    judges = list(dict.fromkeys(table["judge"].dropna()))
    verified = table.dropna(subset=["sr_hr_acc"])
    fig, axes = plt.subplots(1, max(len(judges), 1), figsize=(4.4 * max(len(judges), 1), 3.8), squeeze=False)
    models = sorted(verified["model"].unique())
    for ax, judge in zip(axes[0], judges):
        rows = verified[verified["judge"] == judge]
        for model, by_model in rows.groupby("model", sort=True):
            by_model = by_model.sort_values("res")
            index = models.index(model)
            dodge = 2.0 ** (DODGE_LOG2 * (index - (len(models) - 1) / 2))  # overlapping error bars side by side
            ax.errorbar(by_model["res"] * dodge, by_model["sr_hr_acc"], yerr=by_model["sr_hr_acc_std"], label=model,
                        color=plt.get_cmap("tab10")(index % 10), marker="o", markersize=4,
                        linewidth=1.4, capsize=3)
        no_sr = table[(table["judge"] == judge)].dropna(subset=["lr_hr_acc"]).drop_duplicates("res").sort_values("res")
        if len(no_sr):
            ax.plot(no_sr["res"], no_sr["lr_hr_acc"], "k--", marker="x", markersize=7, linewidth=1, label="LR-HR, no SR")
        resolutions = sorted(set(rows["res"]) | set(no_sr["res"]))
        if resolutions:
            lr_width_axis(ax, resolutions)
        else:
            ax.text(0.5, 0.5, "no SR-HR verification in this run", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("LR face width")
        ax.set_ylabel("verification accuracy")
        ax.set_title(f"SR-HR pairs, judge {judge}", fontsize=10)
        ax.grid(True, alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper center", ncol=min(len(labels), 6), fontsize=8,
                   bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.suptitle(f"{title} (error bars: std over the verification folds)".strip(), y=1.07, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=120, bbox_inches="tight")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m robustface sr-identity", description=__doc__)
    p.add_argument("--sr-metrics", required=True, help="results/sr_metrics.csv")
    p.add_argument("--verification", required=True, help="results/verification_metrics.csv")
    p.add_argument("--judges", nargs="+", required=True,
                   help="the pretrained reference recognizers of the verification (never the SR identity loss network)")
    p.add_argument("--variant", default="clean", help="the degradation variant the SR-HR verification used")
    p.add_argument("--out", required=True, help="results/sr_identity.csv")
    p.add_argument("--figure", required=True, help="results/figures/sr_identity.png")
    p.add_argument("--dataset", default="")
    args = p.parse_args(list(sys.argv[1:] if argv is None else argv))
    sr_metrics = pd.read_csv(args.sr_metrics, dtype={"variant": str, "status": str})
    verification = pd.read_csv(args.verification, dtype={"type_or_model": str, "res": str})
    table = sr_identity_table(sr_metrics, verification, args.judges, args.variant)
    write_dataframe(table, args.out)
    plot_sr_identity(table, args.figure, title=f"{args.dataset} SR-HR verification".strip())
    verified = table.dropna(subset=["sr_hr_acc"])
    print(f"{len(table)} rows ({len(verified)} with SR-HR verification) for judges {', '.join(args.judges)} "
          f"-> {args.out}, {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
