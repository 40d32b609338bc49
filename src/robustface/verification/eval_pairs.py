r"""`python -m robustface eval-pairs`: a View-1-style pairs file of people no model trained on.

    python -m robustface eval-pairs --manifest resources/lfw/manifest.csv --splits val test \
        --n-per-label 500 --seed 0 --out resources/lfw/eval_pairs.txt

The LFW DevTrain half has no pairs among its val/test people worth the name (269 identity-disjoint
pairs of pairsDevTrain.txt), so this draws them from the manifest, deterministically:
- same pairs: every person of the chosen splits with >= 2 images contributes its pairs in turn
  (round robin over people, each person's pairs in a seeded order), so no single person with
  hundreds of images dominates;
- different pairs: two distinct people and one image of each, seeded, without repeats.
Output: LFW View-1 format (`N`, then N `name i j` lines, then N `name1 i name2 j` lines), with
N = the number of same pairs found (at most --n-per-label) and as many different pairs, as the
format requires. Image numbers come from the image ids
(`Person_Name_0001` -> 1), so the manifest must follow LFW's naming.
"""
from __future__ import annotations

import argparse
import csv
import itertools
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import numpy as np

from ..atomic import atomic_path
from ..config_schema import schema_default
from .pairs import Pair

_LFW_ID = re.compile(r"^(?P<person>.+)_(?P<number>\d{4})$")


def _person_number(image_id: str, person: str) -> int:
    match = _LFW_ID.match(image_id)
    if not match or match["person"] != person:
        raise ValueError(f"image id {image_id!r} does not follow LFW naming `{person}_NNNN`; "
                         "eval-pairs writes LFW pair files, which name images by person and number")
    return int(match["number"])


def build_eval_pairs(image_ids: Sequence[str], persons: Sequence[str], splits: Sequence[str], use_splits: Sequence[str],
                     n_per_label: int = 500, seed: int = 0) -> list[Pair]:
    wanted = set(use_splits)
    by_person: dict[str, list[str]] = defaultdict(list)
    for image_id, person, split in zip(image_ids, persons, splits):
        if split in wanted:
            by_person[person].append(image_id)
    people = sorted(by_person)
    if len(people) < 2:
        raise ValueError(f"splits {sorted(wanted)} hold {len(people)} people; eval pairs need at least 2")
    rng = np.random.default_rng(seed)
    queues = []
    for person in people:
        combos = list(itertools.combinations(sorted(by_person[person]), 2))
        if combos:
            queues.append([combos[k] for k in rng.permutation(len(combos))])
    if not queues:
        raise ValueError(f"no person of splits {sorted(wanted)} has 2 images: no same-person pairs possible")
    order = [queues[k] for k in rng.permutation(len(queues))]
    same: list[Pair] = []
    for depth in itertools.count():
        layer = [q[depth] for q in order if depth < len(q)]
        if not layer or len(same) >= n_per_label:
            break
        same += [Pair(a, b, True) for a, b in layer[: n_per_label - len(same)]]
    target_diff = len(same)
    different: list[Pair] = []
    seen: set[tuple[str, str]] = set()
    max_unique = len(people) * (len(people) - 1) // 2
    while len(different) < target_diff and len(seen) < max_unique * 4:
        a, b = rng.choice(len(people), 2, replace=False)
        id_a = by_person[people[a]][rng.integers(len(by_person[people[a]]))]
        id_b = by_person[people[b]][rng.integers(len(by_person[people[b]]))]
        key = tuple(sorted((id_a, id_b)))
        if key in seen:
            continue
        seen.add(key)
        different.append(Pair(id_a, id_b, False))
    n = min(len(same), len(different))
    return same[:n] + different[:n]


def write_lfw_pairs(path: str | Path, pairs: Sequence[Pair], persons: dict[str, str]) -> None:
    same = [p for p in pairs if p.same]
    different = [p for p in pairs if not p.same]
    if len(same) != len(different):
        raise ValueError(f"View-1 files hold as many same as different pairs ({len(same)} vs {len(different)})")
    lines = [str(len(same))]
    for p in same:
        person = persons[p.id_a]
        lines.append(f"{person}\t{_person_number(p.id_a, person)}\t{_person_number(p.id_b, person)}")
    for p in different:
        pa, pb = persons[p.id_a], persons[p.id_b]
        lines.append(f"{pa}\t{_person_number(p.id_a, pa)}\t{pb}\t{_person_number(p.id_b, pb)}")
    with atomic_path(path) as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m robustface eval-pairs", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--splits", nargs="+", default=schema_default("verification.eval_splits"), help="people of these splits only")
    ap.add_argument("--n-per-label", type=int, default=schema_default("verification.eval_pairs_per_label"),
                    help="same pairs wanted (and as many different pairs)")
    ap.add_argument("--seed", type=int, default=schema_default("seed"))
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    with open(args.manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    ids, persons, splits = ([r[k] for r in rows] for k in ("image_id", "person", "split"))
    pairs = build_eval_pairs(ids, persons, splits, args.splits, args.n_per_label, args.seed)
    write_lfw_pairs(args.out, pairs, dict(zip(ids, persons)))
    n = len(pairs) // 2
    images = {image_id for p in pairs for image_id in (p.id_a, p.id_b)}
    message = f"[eval-pairs] {n} same + {n} different pairs over {len(images)} images of splits {args.splits} -> {args.out}"
    if n < args.n_per_label:
        message += f" (WARNING: asked for {args.n_per_label} same pairs, only {n} possible)"
    print(message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
