"""Ingest: a dataset directory -> resources/{ds}/manifest.csv (image_id, person, path, split, shard).

Splits are identity-disjoint and deterministic: a person's split depends only on a hash of the
name, so adding images or people never moves anyone. With a people file (LFW's
peopleDevTrain.txt), people outside it go to `test`.
"""
from __future__ import annotations

import argparse
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from robustface.atomic import write_csv

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm", ".pgm"}
MANIFEST_COLUMNS = ["image_id", "person", "path", "split", "shard"]
LFW_NAME = re.compile(r"^(?P<person>.+)_(?P<index>\d{4})$")


@dataclass(frozen=True)
class Entry:
    image_id: str
    person: str
    path: str


def person_split(person: str, val_fraction: float, test_fraction: float) -> str:
    u = int(hashlib.sha256(person.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if u < test_fraction:
        return "test"
    if u < test_fraction + val_fraction:
        return "val"
    return "train"


def read_people_file(path: Path) -> set[str]:
    """LFW people file: first line a count (or a fold count), then `name<TAB>n_images` lines."""
    people = set()
    for line in path.read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            people.add(parts[0])
    return people


def scan_folder(root: Path, every_file: bool = True) -> list[Entry]:
    """person/image layout. Every regular file is listed (non-images become named rejects later),
    unless every_file is False, in which case only image suffixes are kept."""
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder {root} does not exist or is not a directory")
    entries = []
    for person_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for f in sorted(person_dir.iterdir()):
            if not f.is_file() or f.name.startswith("."):
                continue
            if not every_file and f.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            entries.append(Entry(f"{person_dir.name}/{f.stem}" if not LFW_NAME.match(f.stem) else f.stem, person_dir.name, str(f.resolve())))
    return entries


def lfw_images_dir(root: Path) -> Path:
    """Accept the LFW root (containing lfw/ or lfw-deepfunneled/) or the image folder itself."""
    for name in ("lfw", "lfw-deepfunneled", "lfw_funneled", "lfw-funneled"):
        if (root / name).is_dir():
            return root / name
    if root.is_dir() and any(p.is_dir() for p in root.iterdir()):
        return root
    raise FileNotFoundError(f"no LFW image folder under {root} (expected {root}/lfw/<Person>/<Person>_0001.jpg)")


def build_manifest(entries: list[Entry], people: set[str] | None, n_shards: int, max_images: int,
                   val_fraction: float, test_fraction: float) -> list[dict]:
    seen: set[str] = set()
    rows = []
    for e in entries:
        if e.image_id in seen:
            raise ValueError(f"duplicate image_id {e.image_id!r} ({e.path})")
        seen.add(e.image_id)
        split = "test" if people is not None and e.person not in people else person_split(e.person, val_fraction, test_fraction)
        rows.append({"image_id": e.image_id, "person": e.person, "path": e.path, "split": split})
    if max_images:
        rows = rows[:max_images]
    for i, row in enumerate(rows):
        row["shard"] = i % n_shards
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="robustface ingest", description=__doc__)
    ap.add_argument("--kind", choices=["lfw", "folder"], required=True)
    ap.add_argument("--root", required=True, type=Path)
    ap.add_argument("--people", type=Path, help="LFW people file restricting train/val (others -> test)")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--n-shards", type=int, default=2)
    ap.add_argument("--max-images", type=int, default=0)
    ap.add_argument("--val-fraction", type=float, default=0.1)
    ap.add_argument("--test-fraction", type=float, default=0.1)
    args = ap.parse_args(argv)
    root = lfw_images_dir(args.root) if args.kind == "lfw" else args.root
    entries = scan_folder(root)
    people = read_people_file(args.people) if args.people and args.people.exists() else None
    rows = build_manifest(entries, people, args.n_shards, args.max_images, args.val_fraction, args.test_fraction)
    if not rows:
        raise SystemExit(f"no images found under {root}")
    write_csv(args.out, rows, MANIFEST_COLUMNS)
    counts = {s: sum(r["split"] == s for r in rows) for s in ("train", "val", "test")}
    print(f"manifest: {len(rows)} images, {len({r['person'] for r in rows})} people, splits {counts} -> {args.out}")
    return 0
