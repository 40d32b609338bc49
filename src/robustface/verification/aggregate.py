"""`python -m robustface aggregate-verification`: concatenate per-method verification CSVs into
results/verification_metrics.csv (stable order: method, condition, type_or_model, res) and draw
the training-loss figure of the trained methods."""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

import pandas as pd

from robustface.atomic import write_dataframe
from robustface.cli import key_path

from .exclusion import MIN_COVERAGE
from .figures import plot_training_loss
from .stage import COLUMNS

SORT_KEYS = ["method", "condition", "type_or_model", "res"]


def aggregate(inputs: Sequence[str]) -> pd.DataFrame:
    tables = []
    for path in inputs:
        table = pd.read_csv(path, dtype={"type_or_model": str, "res": str, "exclusion_reason": str})
        missing = [c for c in COLUMNS if c not in table.columns]
        if missing:
            raise ValueError(f"{path}: missing columns {missing} (written by an older `verify`? rerun it)")
        table[["type_or_model", "res", "exclusion_reason"]] = table[["type_or_model", "res", "exclusion_reason"]].fillna("")
        table["low_coverage"] = table["low_coverage"].astype(str).str.lower().map({"true": True, "false": False})
        if table["low_coverage"].isna().any():
            raise ValueError(f"{path}: low_coverage must be True or False")
        tables.append(table)
    if not tables:
        return pd.DataFrame(columns=COLUMNS)
    merged = pd.concat(tables, ignore_index=True)
    merged["res"] = merged["res"].astype(str).str.replace(r"\.0$", "", regex=True)
    order = merged.assign(_res=pd.to_numeric(merged["res"], errors="coerce").fillna(-1))
    order = order.sort_values(["method", "condition", "type_or_model", "_res"], kind="stable")
    return merged.loc[order.index].reset_index(drop=True)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m robustface aggregate-verification", description=__doc__)
    p.add_argument("--inputs", nargs="+", required=True, help="per-method CSVs from `verify`")
    p.add_argument("--out", required=True, help="results/verification_metrics.csv")
    p.add_argument("--loss", nargs="*", default=[], type=key_path, metavar="METHOD=CSV",
                   help="training loss.csv of each trained method")
    p.add_argument("--loss-figure", default="results/figures/training_loss.png")
    args = p.parse_args(list(sys.argv[1:] if argv is None else argv))
    table = aggregate(args.inputs)
    write_dataframe(table, args.out)
    print(f"{len(table)} rows from {len(args.inputs)} file(s) -> {args.out}")
    low = table[table["low_coverage"].astype(bool)]
    if len(low):
        print(f"WARNING: {len(low)} of {len(table)} rows scored fewer than {MIN_COVERAGE:.0%} of their requested "
              "pairs (low_coverage); their numbers describe a subset:", file=sys.stderr)
        for row in low.to_dict("records"):
            label = " ".join(str(row[c]) for c in ("method", "condition", "type_or_model", "res") if str(row[c]))
            print(f"  {label}: scored {row['pairs_scored']} of {row['pairs_requested']} "
                  f"({row['exclusion_reason'] or 'no reason recorded'})", file=sys.stderr)
    if args.loss:
        plot_training_loss(dict(args.loss), args.loss_figure)
        print(f"training loss of {len(args.loss)} method(s) -> {args.loss_figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
