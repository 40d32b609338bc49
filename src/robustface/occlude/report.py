"""`python -m robustface occlusion-report`: occluded-fraction statistics and contact sheets.

    --shards TYPE=SHARD.h5 [TYPE=SHARD.h5 ...] [--rejects TYPE=CSV ...]
    --stats-out results/occlusion_stats.csv --sheets-dir results/figures/occlusion/ [--per-sheet 32]

A type may be given several shards. Rejects default to the `rejects-{k}.csv` beside each
`shard-{k}.h5`. Writes one `{TYPE}.png` contact sheet per type.
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

import cv2
import numpy as np

from robustface.atomic import atomic_path, write_csv
from robustface.cli import group_paths, key_path
from robustface.h5io import read_shard

STATS_COLUMNS = ["type", "n", "mean_occluded_fraction", "std_occluded_fraction", "n_rejected"]


def _paths_by_type(items: list[tuple[str, str]], flag: str) -> dict[str, list[Path]]:
    return {otype: [Path(p) for p in paths] for otype, paths in group_paths(items, flag).items()}


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m robustface occlusion-report", description=__doc__.splitlines()[0])
    ap.add_argument("--shards", nargs="+", required=True, type=key_path, metavar="TYPE=H5")
    ap.add_argument("--rejects", nargs="*", default=[], type=key_path, metavar="TYPE=CSV", help="default: rejects-{k}.csv beside each shard")
    ap.add_argument("--stats-out", required=True)
    ap.add_argument("--sheets-dir", required=True)
    ap.add_argument("--per-sheet", type=int, default=32, help="faces per contact sheet")
    return ap.parse_args(argv)


def default_rejects(shard: Path) -> Path:
    return shard.with_name(shard.name.replace("shard-", "rejects-", 1)).with_suffix(".csv")


def count_rejects(paths: list[Path]) -> int:
    n = 0
    for p in paths:
        if p.exists():
            with open(p, newline="") as fh:
                n += sum(1 for _ in csv.DictReader(fh))
    return n


def contact_sheet(images: np.ndarray, masks: np.ndarray, fractions: np.ndarray, title: str, columns: int = 8, zoom: int = 2) -> np.ndarray:
    """Grid of occluded faces, each with its occlusion mask as a small inset and its fraction."""
    s = images.shape[1]
    n = len(images)
    rows = max(1, -(-n // columns))
    tile = s * zoom
    header = 28
    sheet = np.full((header + rows * (tile + 16), columns * tile, 3), 255, np.uint8)
    cv2.putText(sheet, title, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    for i in range(n):
        r, c = divmod(i, columns)
        y, x = header + r * (tile + 16), c * tile
        face = cv2.resize(images[i], (tile, tile), interpolation=cv2.INTER_CUBIC)
        inset = max(8, tile // 4)
        m = cv2.resize(masks[i], (inset, inset), interpolation=cv2.INTER_AREA)
        face[:inset, tile - inset:] = np.repeat(m[..., None], 3, axis=2)
        sheet[y:y + tile, x:x + tile] = face
        cv2.putText(sheet, f"{fractions[i]:.2f}", (x + 4, y + tile + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return sheet


def write_png(path: Path, rgb: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
            raise OSError(f"could not write {path}")


def build_report(shards: dict[str, list[Path]], rejects: dict[str, list[Path]], stats_out: Path, sheets_dir: Path, per_sheet: int = 32) -> list[dict]:
    rows = []
    for otype in sorted(shards):
        fractions, sheet_images, sheet_masks, sheet_fracs = [], [], [], []
        for path in shards[otype]:
            if not path.exists():
                raise SystemExit(f"occluded shard not found: {path}")
            data = read_shard(path, ["occluded_fraction", "images", "occlusion_mask"])
            fractions.append(np.asarray(data["occluded_fraction"], np.float64))
            need = per_sheet - sum(len(x) for x in sheet_images)
            if need > 0:
                sheet_images.append(data["images"][:need])
                sheet_masks.append(data["occlusion_mask"][:need])
                sheet_fracs.append(data["occluded_fraction"][:need])
        f = np.concatenate(fractions) if fractions else np.zeros(0)
        n_rejected = count_rejects(rejects.get(otype) or [default_rejects(p) for p in shards[otype]])
        rows.append({
            "type": otype, "n": int(len(f)),
            "mean_occluded_fraction": round(float(f.mean()), 4) if len(f) else float("nan"),
            "std_occluded_fraction": round(float(f.std()), 4) if len(f) else float("nan"),
            "n_rejected": n_rejected,
        })
        images = np.concatenate(sheet_images) if sheet_images else np.zeros((0, 112, 112, 3), np.uint8)
        title = (f"{otype}: n={len(f)}, occluded fraction {rows[-1]['mean_occluded_fraction']:.2f} "
                 f"+- {rows[-1]['std_occluded_fraction']:.2f}, rejected {n_rejected}")
        if len(images):
            sheet = contact_sheet(images, np.concatenate(sheet_masks), np.concatenate(sheet_fracs), title)
        else:
            sheet = np.full((40, 600, 3), 255, np.uint8)
            cv2.putText(sheet, title + " (no faces)", (6, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        write_png(sheets_dir / f"{otype}.png", sheet)
    write_csv(stats_out, rows, STATS_COLUMNS, extrasaction="raise")
    return rows


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    rows = build_report(_paths_by_type(args.shards, "--shards"), _paths_by_type(args.rejects, "--rejects"),
                        Path(args.stats_out), Path(args.sheets_dir), args.per_sheet)
    for r in rows:
        print(f"{r['type']}: n={r['n']} occluded fraction {r['mean_occluded_fraction']} +- {r['std_occluded_fraction']} rejected {r['n_rejected']}")
    return 0
