"""Stage `aggregate-sr-metrics`: per-face CSVs -> one row per model x variant x res.

    python -m robustface aggregate-sr-metrics --inputs per_face.csv [...] --out results/sr_metrics.csv
        [--missing-json missing.json] [--dataset NAME --rejects resources/NAME/aligned/rejects.csv]
        [--figure results/figures/sr_metrics.png]

`--missing-json` holds a list of {"model": ..., "reason": ...} (optionally "variant", "res")
for models that could not run; each becomes a row with empty numbers and status = reason.
A per-face column `id_cos_<judge>` (an extra identity judge) becomes `id_cos_<judge>_mean` and
`_std`, placed after the main recognizer's. Every row carries `dataset` and `n_rejected`: the inputs of that dataset that gave no aligned face
(the rows of its merged rejects CSV: ingest and detect_align), so `n` is read against what was lost.
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import pandas as pd

from robustface.atomic import write_dataframe

KEYS = ["model", "variant", "res"]
OUT_COLUMNS = ["dataset", *KEYS] + [
    "n", "n_rejected", "psnr_y_mean", "psnr_y_std", "ssim_y_mean", "ssim_y_std", "psnr_rgb_mean", "psnr_rgb_std",
    "lpips_mean", "lpips_status", "id_cos_mean", "id_cos_std", "recognizer", "kernel", "hr_size", "status",
]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="robustface aggregate-sr-metrics")
    p.add_argument("--inputs", nargs="*", default=[], help="per-face CSVs from sr-metrics")
    p.add_argument("--out", required=True)
    p.add_argument("--missing-json", default=None, help='a JSON file or inline JSON: [{"model": ..., "reason": ...}, ...]')
    p.add_argument("--dataset", default="", help="dataset name written in every row")
    p.add_argument("--rejects", default=None, help="the dataset's merged rejects CSV (its row count is n_rejected)")
    p.add_argument("--figure", default=None, help="also plot each metric against the LR width per model (PNG)")
    return p.parse_args(argv)


def _joined(values: pd.Series) -> str:
    return ";".join(sorted({str(v) for v in values.dropna() if str(v) != ""}))


def judge_metrics(per_face: pd.DataFrame) -> list[str]:
    """The extra judges' per-face identity columns (`id_cos_<judge>`), in their order."""
    return [c for c in per_face.columns if c.startswith("id_cos_")]


def out_columns(judged: list[str]) -> list[str]:
    at = OUT_COLUMNS.index("id_cos_std") + 1
    return OUT_COLUMNS[:at] + [f"{c}_{stat}" for c in judged for stat in ("mean", "std")] + OUT_COLUMNS[at:]


def summarise(group: pd.DataFrame, judged: list[str] = ()) -> dict:
    row: dict = {"n": len(group)}
    for metric in ("psnr_y", "ssim_y", "psnr_rgb", "id_cos", *judged):
        values = group[metric].astype(float)
        row[f"{metric}_mean"] = values.mean() if values.notna().any() else np.nan
        row[f"{metric}_std"] = values.std(ddof=0) if values.notna().any() else np.nan
    lpips = group["lpips"].astype(float)
    row["lpips_mean"] = lpips.mean() if lpips.notna().all() else np.nan
    notes = _joined(group["notes"]) if "notes" in group else ""
    if lpips.notna().all():
        row["lpips_status"] = "ok"
    else:
        row["lpips_status"] = notes.removeprefix("lpips: ") or f"lpips missing for {int(lpips.isna().sum())} faces"
    row["recognizer"] = _joined(group["recognizer"]) if "recognizer" in group else ""
    row["kernel"] = _joined(group["kernel"])
    row["hr_size"] = _joined(group["hr_size"])
    row["status"] = "ok"
    return row


def aggregate(frames: list[pd.DataFrame], missing: list[dict], dataset: str = "", n_rejected: int | None = None) -> pd.DataFrame:
    rows, judged = [], []
    if frames:
        per_face = pd.concat(frames, ignore_index=True)
        judged = judge_metrics(per_face)
        for key, group in per_face.groupby(KEYS, sort=False, dropna=False):
            rows.append({**dict(zip(KEYS, key)), **summarise(group, judged)})
    for item in missing:
        if "model" not in item or "reason" not in item:
            raise ValueError(f"--missing-json entries need 'model' and 'reason': {item}")
        rows.append({"model": item["model"], "variant": item.get("variant", ""), "res": item.get("res", ""),
                     "n": 0, "status": item["reason"]})
    out = pd.DataFrame(rows, columns=out_columns(judged))
    out["dataset"] = dataset
    out["n_rejected"] = pd.array([n_rejected] * len(out), dtype="Int64")
    out["_res"] = pd.to_numeric(out["res"], errors="coerce")
    out = out.sort_values(["model", "variant", "_res"], kind="stable", na_position="last").drop(columns="_res")
    return out.reset_index(drop=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    frames = [pd.read_csv(path, keep_default_na=True, dtype={"notes": str, "recognizer": str, "kernel": str})
              for path in args.inputs]
    missing = []
    if args.missing_json:
        text = args.missing_json.strip()
        if text.startswith("["):  # inline JSON, as the Snakemake rule passes it
            missing = json.loads(text)
        else:
            with open(text) as f:
                missing = json.load(f)
        if not isinstance(missing, list):
            raise ValueError(f"{args.missing_json}: expected a JSON list of {{model, reason}}")
    n_rejected = len(pd.read_csv(args.rejects, usecols=["reason"])) if args.rejects else None
    table = aggregate(frames, missing, args.dataset, n_rejected)
    write_dataframe(table, args.out, float_format="%.6g")  # 6 significant digits: 30.2738 dB, 0.871345
    print(f"aggregate-sr-metrics: {len(table)} rows -> {args.out}")
    if args.figure:
        from .figure import plot_sr_metrics

        plot_sr_metrics(table, args.figure, title=f"SR metrics, {args.dataset}" if args.dataset else "SR metrics")
        print(f"aggregate-sr-metrics: figure -> {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
