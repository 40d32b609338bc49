"""Verification figures: ROC, accuracy vs threshold, training loss. Written atomically as PNG."""
from __future__ import annotations

import os
from typing import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..atomic import save_figure  # noqa: E402
from .protocol import Roc, accuracy_at  # noqa: E402

MIN_FAR = 1e-4


def _save(fig, path: str | os.PathLike) -> None:
    """The verification figures' style: 120 dpi, tight bounding box."""
    save_figure(fig, path, dpi=120, bbox_inches="tight")


def plot_roc(curves: Mapping[str, Roc], path: str | os.PathLike, title: str) -> None:
    """TAR against FAR (log axis) for each condition; FAR = 0 points are drawn at MIN_FAR."""
    fig, ax = plt.subplots(figsize=(7, 5.5))
    for k, (label, roc) in enumerate(curves.items()):
        if roc.n_pos == 0 or roc.n_neg == 0:
            continue
        ax.step(np.maximum(roc.far, MIN_FAR), roc.tar, where="post", label=label, linewidth=1.2,
                **_style(k, label))
    ax.set_xscale("log")
    ax.set_xlim(MIN_FAR, 1.0)
    ax.set_ylim(0.0, 1.01)
    ax.set_xlabel("false accept rate (FAR)")
    ax.set_ylabel("true accept rate (TAR)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _save(fig, path)


FAMILY_LINESTYLES = {"clean-clean": "-", "clean-occluded": "--", "occluded-occluded": ":", "lr-hr": "-.",
                     "lr-lr": (0, (1, 1)), "sr-hr": (0, (5, 1, 1, 1)), "labelled-mask": "--"}


def _style(index: int, label: str) -> dict:
    """Distinct colour per curve (tab20) and a line style per condition family."""
    return {"color": plt.get_cmap("tab20")(index % 20),
            "linestyle": FAMILY_LINESTYLES.get(label.split(" ")[0], "-")}


def plot_accuracy_vs_threshold(scored: Mapping[str, tuple[np.ndarray, np.ndarray]], path: str | os.PathLike,
                               title: str) -> None:
    """Accuracy of "same iff cosine >= t" over t in [-1, 1] for each (scores, same) condition."""
    thresholds = np.linspace(-1.0, 1.0, 401)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for k, (label, (scores, same)) in enumerate(scored.items()):
        if len(scores):
            ax.plot(thresholds, accuracy_at(scores, same, thresholds), label=label, linewidth=1.2,
                    **_style(2 * k, label))
    ax.set_xlabel("cosine similarity threshold")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0.0, 1.01)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    _save(fig, path)


def plot_training_loss(losses: Mapping[str, str | os.PathLike], path: str | os.PathLike) -> None:
    """One panel per trained method: the loss columns (`*loss`) of its loss.csv against the first
    of `epoch`/`step`/`iteration` (or the row number); throughput, lr and val columns are left out."""
    fig, axes = plt.subplots(1, max(len(losses), 1), figsize=(5 * max(len(losses), 1), 3.8), squeeze=False)
    for ax, (method, csv_path) in zip(axes[0], losses.items()):
        table = pd.read_csv(csv_path)
        x_name = next((c for c in ("epoch", "step", "iteration", "iter") if c in table.columns), None)
        x = table[x_name] if x_name else np.arange(len(table))
        y_columns = [c for c in table.select_dtypes("number").columns if c != x_name and c.endswith("loss")]
        if not y_columns:
            raise ValueError(f"{csv_path}: no numeric loss column to plot")
        for column in y_columns:
            ax.plot(x, table[column], label=column)
        ax.set_xlabel(x_name or "row")
        ax.set_ylabel("loss")
        ax.set_title(method)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    _save(fig, path)


def pick_accuracy_conditions(labels: Sequence[str], limit: int = 5) -> list[str]:
    """clean-clean plus the first condition of each other family, at most `limit`."""
    chosen, families = [], set()
    for label in labels:
        family = label.split(" ")[0]
        if family not in families:
            chosen.append(label)
            families.add(family)
    return chosen[:limit]
