"""Verification pair lists: LFW `pairs.txt` style, MFR2 style, and all-pairs for small sets.

Image ids follow LFW file names without extension: `Person_Name_0001` (4-digit, 1-based).

LFW formats (tab- or space-separated):
  - View 1 (`pairsDevTrain.txt`, `pairsDevTest.txt`): first line `N`, then N same pairs
    `name i j` and N different pairs `name1 i name2 j`. One set: folds are assigned later.
  - View 2 (`pairs.txt`): first line `S N` (e.g. `10 300`), then S sets of N same + N
    different pairs. Set k is fold k.
  - A file without a numeric header is accepted as one set.
MFR2 (`pairs.txt` of the MFR2 dataset): no header, space-separated `name i j` / `name1 i name2 j`;
its labels file `mfr2_labels.txt` has `Name, num, mask_type` lines (`no-mask` = unmasked).
"""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..atomic import write_csv
from ..planning.paths import eval_pairs


class PairsFormatError(ValueError):
    """A pairs or labels file that does not follow its format; names file and line."""


@dataclass(frozen=True)
class Pair:
    id_a: str
    id_b: str
    same: bool
    fold: int | None = None


def image_id(person: str, number: int) -> str:
    return f"{person}_{int(number):04d}"


def _parse_index(token: str, path: Path, line_no: int) -> int:
    try:
        value = int(token)
    except ValueError:
        raise PairsFormatError(f"{path}:{line_no}: image number {token!r} is not an integer") from None
    if value < 1:
        raise PairsFormatError(f"{path}:{line_no}: image number {value} must be >= 1 (LFW numbers from 1)")
    return value


def _parse_pair_line(fields: Sequence[str], path: Path, line_no: int) -> tuple[str, str, bool]:
    if len(fields) == 3:
        name, i, j = fields
        return image_id(name, _parse_index(i, path, line_no)), image_id(name, _parse_index(j, path, line_no)), True
    if len(fields) == 4:
        name_a, i, name_b, j = fields
        return (image_id(name_a, _parse_index(i, path, line_no)),
                image_id(name_b, _parse_index(j, path, line_no)), False)
    raise PairsFormatError(
        f"{path}:{line_no}: expected `name i j` (same) or `name1 i name2 j` (different), "
        f"got {len(fields)} fields: {' '.join(fields)!r}")


def _numeric_header(fields: Sequence[str]) -> tuple[int, int] | None:
    """`N` -> (1, N); `S N` -> (S, N); anything else -> None (no header)."""
    if 1 <= len(fields) <= 2 and all(f.isdigit() for f in fields):
        return (1, int(fields[0])) if len(fields) == 1 else (int(fields[0]), int(fields[1]))
    return None


def read_lfw_pairs(path: str | os.PathLike) -> list[Pair]:
    """LFW-style pairs file. Folds are set only for multi-set (View 2) files."""
    path = Path(path)
    lines = [(n, line.split()) for n, line in enumerate(path.read_text().splitlines(), start=1)]
    lines = [(n, fields) for n, fields in lines if fields]
    if not lines:
        raise PairsFormatError(f"{path}: no pairs")
    header = _numeric_header(lines[0][1])
    body = lines[1:] if header else lines
    pairs = []
    for n, fields in body:
        id_a, id_b, same = _parse_pair_line(fields, path, n)
        pairs.append(Pair(id_a, id_b, same))
    if header is None:
        return pairs
    n_sets, per_label = header
    expected = n_sets * 2 * per_label
    if len(pairs) != expected:
        raise PairsFormatError(
            f"{path}:1: header {' '.join(lines[0][1])!r} announces {n_sets} set(s) x {per_label} same + "
            f"{per_label} different = {expected} pairs, but the file has {len(pairs)}")
    if n_sets == 1:
        return pairs
    set_size = 2 * per_label
    return [Pair(p.id_a, p.id_b, p.same, fold=k // set_size) for k, p in enumerate(pairs)]


def read_mfr2_pairs(path: str | os.PathLike) -> list[Pair]:
    """MFR2 pairs file: no header; a numeric first line is tolerated as a count."""
    path = Path(path)
    pairs = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields or (n == 1 and _numeric_header(fields)):
            continue
        id_a, id_b, same = _parse_pair_line(fields, path, n)
        pairs.append(Pair(id_a, id_b, same))
    if not pairs:
        raise PairsFormatError(f"{path}: no pairs")
    return pairs


def read_mfr2_labels(path: str | os.PathLike) -> dict[str, str]:
    """MFR2 `mfr2_labels.txt`: `Name, num, mask_type` -> {image_id: mask_type}."""
    path = Path(path)
    labels: dict[str, str] = {}
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in (line.split(",") if "," in line else line.split())]
        if len(fields) != 3 or not fields[0]:
            raise PairsFormatError(f"{path}:{n}: expected `Name, num, mask_type`, got {line.strip()!r}")
        labels[image_id(fields[0], _parse_index(fields[1], path, n))] = fields[2]
    return labels


def load_pairs(path: str | os.PathLike, fmt: str = "lfw") -> list[Pair]:
    if fmt == "lfw":
        return read_lfw_pairs(path)
    if fmt == "mfr2":
        return read_mfr2_pairs(path)
    raise ValueError(f"unknown pairs format {fmt!r} (expected 'lfw' or 'mfr2')")


def all_pairs(image_ids: Sequence[str], persons: Sequence[str]) -> list[Pair]:
    """Every unordered pair of the given faces, same when the person matches (small sets only)."""
    if len(image_ids) != len(persons):
        raise ValueError(f"{len(image_ids)} image ids but {len(persons)} persons")
    order = sorted(range(len(image_ids)), key=lambda k: image_ids[k])
    return [Pair(image_ids[a], image_ids[b], persons[a] == persons[b])
            for a, b in itertools.combinations(order, 2)]


def assign_folds(pairs: Sequence[Pair], n_folds: int = 10) -> list[int]:
    """Fold of each pair: from the file when every pair has one; else contiguous blocks within
    each label (the k-th of n same pairs -> fold k*n_folds//n), so each fold holds the same share
    of same and different pairs. On a View-2 ordered list this equals insightface's unshuffled
    KFold; on View-1 files (all same, then all different) plain KFold would give one-label folds."""
    if pairs and all(p.fold is not None for p in pairs):
        return [int(p.fold) for p in pairs]
    folds = [0] * len(pairs)
    for label in (True, False):
        members = [k for k, p in enumerate(pairs) if p.same == label]
        for rank, k in enumerate(members):
            folds[k] = rank * n_folds // len(members)
    return folds


def default_pairs(config: Mapping) -> str | None:
    """Pairs file for a run: `verification.pairs` when set; for LFW, `pairsDevTest.txt` under
    `lfw_root` when it exists, else a View-1-style file drawn from the val + test people
    (planning.paths.eval_pairs); None (= all pairs among the faces present) for the other datasets or when
    `verification.pairs` is "all"."""
    explicit = (config.get("verification") or {}).get("pairs")
    if explicit == "all":
        return None
    if explicit:
        return str(explicit)
    if config.get("dataset") == "lfw":
        root = Path(config.get("lfw_root") or ".")
        dev_test = root / "pairsDevTest.txt"
        return str(dev_test) if dev_test.exists() else eval_pairs(config["dataset"])
    return None


def default_exclude_splits(config: Mapping) -> list[str]:
    """Splits whose people no method scores: `verification.exclude_splits`, default none. The people
    a trained method trained on are excluded for that method alone (see exclusion.py); pretrained
    references score every pair."""
    return list((config.get("verification") or {}).get("exclude_splits") or [])


REJECT_FIELDS = ["condition", "type_or_model", "res", "pair_index", "id_a", "id_b", "same", "reason"]


def write_rejects(path: str | os.PathLike, rows: Iterable[Mapping]) -> int:
    """Atomically write rejected pairs (one row per pair and condition); returns the count."""
    return write_csv(path, rows, REJECT_FIELDS)
