"""Stage `sr-grid`: a qualitative comparison figure (rows = faces, columns = HR, LR, SR).

    python -m robustface sr-grid --hr HR.h5 [HR.h5 ...] --lr RES=LR.h5 [...] --sr MODEL:RES=SR.h5 [...]
        --out grid.png [--n-faces 4] [--title TEXT]

Columns: HR, then for each resolution (ascending) its LR input (nearest-neighbour upsampled
for display) followed by every model's output at that resolution. Faces are the ones present
in every input, sorted by image_id and picked evenly spaced: deterministic. A spec key may be
repeated to add more shards of the same column.
"""
from __future__ import annotations

import argparse
import sys

import cv2
import numpy as np

from robustface.atomic import save_figure
from robustface.cli import group_paths, key_path, model_res_key
from robustface.config_schema import schema_default
from robustface.h5io import ShardIndex


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="robustface sr-grid")
    p.add_argument("--hr", nargs="+", required=True)
    p.add_argument("--lr", nargs="*", default=[], type=key_path, metavar="RES=H5")
    p.add_argument("--sr", nargs="*", default=[], type=key_path, metavar="MODEL:RES=H5")
    p.add_argument("--out", required=True)
    p.add_argument("--n-faces", type=int, default=schema_default("metrics.grid_faces"))
    p.add_argument("--title", default="")
    return p.parse_args(argv)


def choose_faces(columns: list[ShardIndex], n: int) -> list[str]:
    common = set(columns[0].where)
    for column in columns[1:]:
        common &= set(column.where)
    ids = sorted(common)
    if not ids:
        raise ValueError("no image_id is present in every input shard")
    picks = np.linspace(0, len(ids) - 1, num=min(n, len(ids))).round().astype(int)
    return [ids[i] for i in picks]


def build_columns(args: argparse.Namespace) -> list[tuple[str, ShardIndex]]:
    lr_paths = group_paths(args.lr, "--lr", int, form="RES=H5")
    sr_paths = {(res, model): paths for (model, res), paths in
                group_paths(args.sr, "--sr", model_res_key, form="MODEL:RES=H5").items()}
    columns = [("HR", ShardIndex(args.hr))]
    for res in sorted(set(lr_paths) | {r for r, _ in sr_paths}):
        if res in lr_paths:
            columns.append((f"LR {res}px", ShardIndex(lr_paths[res])))
        for (r, model) in sorted(k for k in sr_paths if k[0] == res):
            columns.append((f"{model} ({res}px)", ShardIndex(sr_paths[(r, model)])))
    return columns


def render(columns: list[tuple[str, ShardIndex]], image_ids: list[str], out: str, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hr_size = columns[0][1].image(image_ids[0]).shape[0]
    fig, axes = plt.subplots(len(image_ids), len(columns), squeeze=False,
                             figsize=(1.6 * len(columns), 1.6 * len(image_ids) + (0.4 if title else 0.2)))
    for r, image_id in enumerate(image_ids):
        for c, (label, column) in enumerate(columns):
            img = column.image(image_id)
            if img.shape[0] != hr_size:  # LR (or off-size) input: show blocky at HR size
                img = cv2.resize(img, (hr_size, hr_size), interpolation=cv2.INTER_NEAREST)
            ax = axes[r, c]
            ax.imshow(img)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(label, fontsize=8)
            if c == 0:
                ax.set_ylabel(image_id, fontsize=6)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, out, dpi=150)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.n_faces < 1:
        raise ValueError("--n-faces must be at least 1")
    columns = build_columns(args)
    image_ids = choose_faces([c for _, c in columns], args.n_faces)
    render(columns, image_ids, args.out, args.title)
    print(f"sr-grid: {len(image_ids)} faces x {len(columns)} columns -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
