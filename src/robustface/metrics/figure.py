"""The SR metrics at a glance: one panel per metric, its mean against the LR resolution per model."""
from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..atomic import save_figure  # noqa: E402

Z95 = 1.96
BASE_PANELS = [("psnr_y", "PSNR-Y (dB)"), ("ssim_y", "SSIM-Y"), ("lpips", "LPIPS (lower is better)"),
               ("id_cos", "identity cos ({judge})")]
VARIANT_LINESTYLES = ["-", "--", ":", "-.", (0, (1, 1)), (0, (5, 1, 1, 1))]


def panels(table: pd.DataFrame) -> list[tuple[str, str]]:
    """(metric, title) of the metrics the table has numbers for: LPIPS only when computed,
    one identity panel per judge (the main recognizer's `id_cos`, then each `id_cos_<judge>`)."""
    main_judge = next((r for r in table.get("recognizer", pd.Series(dtype=str)).dropna().astype(str) if r), "recognizer")
    out = []
    for metric, title in BASE_PANELS:
        if table[f"{metric}_mean"].notna().any():
            out.append((metric, title.format(judge=main_judge)))
    for column in table.columns:
        is_extra_judge = column.startswith("id_cos_") and column.endswith("_mean") and column != "id_cos_mean"
        if is_extra_judge and table[column].notna().any():
            judge = column.removeprefix("id_cos_").removesuffix("_mean")
            out.append((f"id_cos_{judge}", f"identity cos ({judge})"))
    return out


def _ci95(rows: pd.DataFrame, metric: str) -> np.ndarray:
    """Half-width of the 95 % interval of the mean; LPIPS has no std column, so none is drawn."""
    std_column = f"{metric}_std"
    if std_column not in rows:
        return np.zeros(len(rows))
    return Z95 * rows[std_column].to_numpy(float) / np.sqrt(np.maximum(rows["n"].to_numpy(float), 1.0))


def lr_width_axis(ax, resolutions) -> None:
    """The LR face width on a log2 axis, one tick per measured width."""
    ax.set_xscale("log", base=2)
    ax.set_xticks(resolutions, [f"{r:g} px" for r in resolutions])
    ax.minorticks_off()


def plot_sr_metrics(table: pd.DataFrame, path: str | os.PathLike, title: str = "") -> None:
    """Mean ± 95 % CI per model (colour) and variant (line style) against the LR width.
    Models that did not run (status other than ok) are named under the figure instead."""
    done = table[(table["status"] == "ok") & (table["n"] > 0)].copy()
    done["res"] = pd.to_numeric(done["res"])
    shown = panels(done) if len(done) else []
    fig, axes = plt.subplots(1, max(len(shown), 1), figsize=(4.2 * max(len(shown), 1), 3.8), squeeze=False)
    models = sorted(done["model"].unique())
    variants = sorted(done["variant"].unique())
    resolutions = sorted(done["res"].unique())
    for ax, (metric, panel_title) in zip(axes[0], shown):
        for (model, variant), rows in done.groupby(["model", "variant"], sort=True):
            rows = rows.sort_values("res")
            label = model if len(variants) == 1 else f"{model} · {variant}"
            ax.errorbar(rows["res"], rows[f"{metric}_mean"], yerr=_ci95(rows, metric), label=label,
                        color=plt.get_cmap("tab10")(models.index(model) % 10),
                        linestyle=VARIANT_LINESTYLES[variants.index(variant) % len(VARIANT_LINESTYLES)],
                        marker="o", markersize=4, linewidth=1.4, capsize=3)
        lr_width_axis(ax, resolutions)
        ax.set_xlabel("LR face width")
        ax.set_title(panel_title, fontsize=10)
        ax.grid(True, alpha=0.3)
    if not shown:
        axes[0][0].text(0.5, 0.5, "no SR model produced numbers", ha="center", va="center")
        axes[0][0].set_axis_off()
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper center", ncol=min(len(labels), 6), fontsize=8,
                   bbox_to_anchor=(0.5, 1.0), frameon=False)
    not_run = table[table["status"] != "ok"]
    if len(not_run):
        listed = "; ".join(f"{m}: {str(s)[:80]}" for m, s in zip(not_run["model"], not_run["status"]))
        fig.text(0.01, -0.02, f"not run: {listed}", fontsize=7, va="top", wrap=True)
    n_faces = sorted({int(n) for n in done["n"]}) if len(done) else []
    fig.suptitle(f"{title} (error bars: 95 % CI of the mean; faces per cell: "
                 f"{', '.join(map(str, n_faces)) or 0})".strip(), y=1.07, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path, dpi=120, bbox_inches="tight")
