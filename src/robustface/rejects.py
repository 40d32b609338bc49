"""Named rejects: every input that yields no output row is listed with its reason."""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

from robustface.atomic import write_csv

REJECT_COLUMNS = ["image_id", "path", "reason", "detail"]


def read_rejects(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="robustface merge-rejects", description="concatenate per-shard rejects CSVs")
    ap.add_argument("--inputs", nargs="+", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    rows = [row for p in args.inputs for row in read_rejects(p)]
    rows.sort(key=lambda r: r["image_id"])
    write_csv(args.out, rows, REJECT_COLUMNS)
    reasons: dict[str, int] = {}
    for row in rows:
        reasons[row["reason"]] = reasons.get(row["reason"], 0) + 1
    print(f"rejects: {len(rows)} {reasons} -> {args.out}")
    return 0
