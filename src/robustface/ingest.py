"""Ingest: a dataset directory -> resources/{ds}/manifest.csv (image_id, person, path, split, shard).

Splits are identity-disjoint and deterministic: a person's split depends only on a hash of the
name, so adding images or people never moves anyone. With a people file (LFW's
peopleDevTrain.txt), people outside it go to `test`.
"""
from __future__ import annotations

import argparse
import errno
import hashlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from robustface.atomic import write_csv
from robustface.config_schema import schema_default
from robustface.rejects import REJECT_COLUMNS

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


@dataclass(frozen=True)
class Skipped:
    """An entry of the dataset folder that yields no manifest row, with its named reason."""
    image_id: str
    path: str
    reason: str
    detail: str

    def row(self) -> dict:
        return {"image_id": self.image_id, "path": self.path, "reason": self.reason, "detail": self.detail}


def _link_problem(path: Path) -> tuple[str, str] | None:
    """(reason, detail) when `path` is a symlink that leads nowhere usable, else None."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink_loop", f"{path} -> {os.readlink(path)}: too many levels of symbolic links"
        if isinstance(exc, FileNotFoundError) and path.is_symlink():
            return "dangling_symlink", f"{path} -> {os.readlink(path)}: the target does not exist"
        return "unreadable_path", f"{path}: {exc.strerror or exc}"
    return None


def scan_folder(root: Path, every_file: bool = True) -> list[Entry]:
    """person/image layout (see `scan_folder_with_rejects`); the entries only."""
    return scan_folder_with_rejects(root, every_file)[0]


def scan_folder_with_rejects(root: Path, every_file: bool = True) -> tuple[list[Entry], list[Skipped]]:
    """person/image layout. Every regular file of a person folder is listed (non-images become named
    rejects in detect_align), unless every_file is False, in which case only image suffixes are kept.
    Hidden names (`.DS_Store`) are ignored. Everything else that cannot become a face is a named
    reject, never silently dropped: broken or looping symlinks, files directly in `root` (no person
    folder), folders nested in a person folder, unreadable folders, and a second file with the same
    image_id (`a.jpg` + `a.png`: the first in name order is kept, the others are `duplicate_stem`)."""
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder {root} does not exist or is not a directory")
    entries: list[Entry] = []
    skipped: list[Skipped] = []
    kept: dict[str, str] = {}

    def skip(path: Path, reason: str, detail: str) -> None:
        skipped.append(Skipped(path.relative_to(root).as_posix(), str(path), reason, detail))

    for top in sorted(root.iterdir()):
        if top.name.startswith("."):
            continue
        problem = _link_problem(top)
        if problem:
            skip(top, *problem)
            continue
        if not top.is_dir():
            skip(top, "outside_person_folder", f"{top.name} is directly in {root}; images go in <root>/<person>/")
            continue
        try:
            children = sorted(top.iterdir())
        except OSError as exc:
            skip(top, "unreadable_folder", f"{top}: {exc.strerror or exc}")
            continue
        for f in children:
            if f.name.startswith("."):
                continue
            problem = _link_problem(f)
            if problem:
                skip(f, *problem)
                continue
            if f.is_dir():
                skip(f, "nested_folder", f"{f} is a folder inside person folder {top.name}; only files directly in a person folder are read")
                continue
            if not f.is_file():
                skip(f, "not_a_file", f"{f} is not a regular file")
                continue
            if not every_file and f.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            image_id = f.stem if LFW_NAME.match(f.stem) else f"{top.name}/{f.stem}"
            if image_id in kept:
                skip(f, "duplicate_stem", f"image_id {image_id!r} is already taken by {kept[image_id]}; rename one to keep both")
                continue
            kept[image_id] = str(f)
            entries.append(Entry(image_id, top.name, str(f.resolve())))
    return entries, skipped


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


def _reason_counts(skipped: list[Skipped]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for k in skipped:
        counts[k.reason] = counts.get(k.reason, 0) + 1
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="robustface ingest", description=__doc__)
    ap.add_argument("--kind", choices=["lfw", "folder"], required=True)
    ap.add_argument("--root", required=True, type=Path)
    ap.add_argument("--people", type=Path, help="LFW people file restricting train/val (others -> test)")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--rejects", type=Path, help="CSV of folder entries that yield no manifest row, with their named reason")
    ap.add_argument("--n-shards", type=int, default=schema_default("n_shards"))
    ap.add_argument("--max-images", type=int, default=schema_default("max_images"))
    ap.add_argument("--val-fraction", type=float, default=schema_default("split.val_fraction"))
    ap.add_argument("--test-fraction", type=float, default=schema_default("split.test_fraction"))
    args = ap.parse_args(argv)
    root = lfw_images_dir(args.root) if args.kind == "lfw" else args.root
    entries, skipped = scan_folder_with_rejects(root)
    people = read_people_file(args.people) if args.people and args.people.exists() else None
    rows = build_manifest(entries, people, args.n_shards, args.max_images, args.val_fraction, args.test_fraction)
    if not rows:
        raise SystemExit(f"no images found under {root}")
    if args.rejects:
        write_csv(args.rejects, [k.row() for k in skipped], REJECT_COLUMNS)
    elif skipped:
        print(f"warning: {len(skipped)} folder entries yield no image (pass --rejects to list them)", file=sys.stderr)
    write_csv(args.out, rows, MANIFEST_COLUMNS)
    counts = {s: sum(r["split"] == s for r in rows) for s in ("train", "val", "test")}
    print(f"manifest: {len(rows)} images, {len({r['person'] for r in rows})} people, splits {counts} -> {args.out}"
          + (f"; {len(skipped)} entries rejected {_reason_counts(skipped)} -> {args.rejects}" if skipped else ""))
    return 0
