"""`python -m robustface sr-faces`: the faces a target needs super-resolved, one image id a line.

Super-resolving every aligned face is the dominant cost of the SR stage (Real-ESRGAN over the
13k LFW faces is hours on a CPU) while each consumer reads only some of them:

- sr_metrics measures the faces of `--splits` (default every split), optionally a fixed sample
  of `--max-faces` of them (ordered by a hash of the image id: stable when images are added);
- verification's sr-hr conditions read only the probe (second) image of each evaluated pair
  (see verification.conditions.probe_ids); pairs touching an `--exclude-splits` identity are
  not evaluated, so their faces are not needed.

    python -m robustface sr-faces --manifest resources/ds/manifest.csv --out resources/ds/sr_faces/metrics.txt \
        [--splits val test] [--max-faces N]
    python -m robustface sr-faces --manifest M --out resources/ds/sr_faces/verification.txt \
        --pairs PAIRS|all [--pairs-format lfw|mfr2] [--exclude-splits train]

The superres stage processes the union of the lists it is given; the ids absent from its LR
shards (alignment or occlusion rejects) are counted there, not an error here.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import os
import sys
from pathlib import Path
from typing import Iterable, Sequence

from robustface.atomic import write_text_atomic


def read_manifest(path: str | os.PathLike) -> list[dict]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    missing = {"image_id", "split"} - set(rows[0] if rows else {})
    if rows and missing:
        raise ValueError(f"{path}: manifest lacks columns {sorted(missing)}")
    return rows


def _hash_order(image_id: str) -> str:
    return hashlib.sha1(image_id.encode()).hexdigest()


def metrics_ids(manifest: Sequence[dict], splits: Sequence[str] | None = None, max_faces: int = 0) -> list[str]:
    """Faces of `splits` (None or empty: all); with max_faces > 0 the first max_faces by id hash."""
    ids = [r["image_id"] for r in manifest if not splits or r["split"] in set(splits)]
    if max_faces and len(ids) > max_faces:
        ids = sorted(ids, key=_hash_order)[:max_faces]
    return sorted(ids)


def verification_ids(manifest: Sequence[dict], pairs_path: str | None, pairs_format: str = "lfw",
                     exclude_splits: Iterable[str] = ()) -> list[str]:
    """Probe faces of the pairs the verify stage evaluates; `pairs_path` None/'all': every face
    (every pair among the faces present)."""
    from robustface.verification.conditions import probe_ids
    from robustface.verification.pairs import load_pairs

    excluded = set(exclude_splits)
    split_of = {r["image_id"]: r["split"] for r in manifest}
    if not pairs_path or pairs_path == "all":
        return sorted(i for i, s in split_of.items() if s not in excluded)
    pairs = [p for p in load_pairs(pairs_path, pairs_format)
             if split_of.get(p.id_a) not in excluded and split_of.get(p.id_b) not in excluded]
    return sorted(probe_ids(pairs))


def read_ids(path: str | os.PathLike) -> list[str]:
    """An id list written by this stage (blank lines ignored)."""
    return [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m robustface sr-faces", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--manifest", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--splits", nargs="*", default=None, help="metrics: faces of these splits (default: all)")
    p.add_argument("--max-faces", type=int, default=0, help="metrics: at most this many (0 = all)")
    p.add_argument("--pairs", default=None, help="verification: pairs file, or 'all'")
    p.add_argument("--pairs-format", default="lfw", choices=["lfw", "mfr2"])
    p.add_argument("--exclude-splits", nargs="*", default=[])
    args = p.parse_args(argv)
    if args.max_faces < 0:
        p.error(f"--max-faces must be >= 0, got {args.max_faces}")
    if args.pairs is not None and (args.splits or args.max_faces):
        p.error("--pairs (verification faces) and --splits/--max-faces (metrics faces) are separate lists")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    manifest = read_manifest(args.manifest)
    if args.pairs is not None:
        ids = verification_ids(manifest, args.pairs, args.pairs_format, args.exclude_splits)
        what = f"probe faces of {args.pairs}"
    else:
        ids = metrics_ids(manifest, args.splits, args.max_faces)
        what = f"splits {args.splits or 'all'}" + (f", at most {args.max_faces}" if args.max_faces else "")
    write_text_atomic(args.out, "".join(f"{i}\n" for i in ids))
    print(f"sr-faces: {len(ids)} of {len(manifest)} faces ({what}) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
