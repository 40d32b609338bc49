"""Which pairs a method may not score, and the coverage of each verification table row.

Exclusion is per method:
- `trained_people`: a trained method never scores a pair that touches a person it trained on
  (the people of the `train` split of the shards it was trained from, and/or the names its
  checkpoint records). A pretrained reference (SFace, dlib) trained on none of them scores every pair.
- `split:<name>`: `verification.exclude_splits` keeps the people of that split out for every method.
- `missing_face`: an image of the pair is not in the aligned set (alignment reject, or not in the
  dataset); `missing_<family>` (e.g. `missing_occluded`): the clean faces exist but the condition's
  other set lacks one (e.g. an occlusion reject).
Every table row says how many pairs were requested, scored and excluded, by reason, and is flagged
`low_coverage` when fewer than MIN_COVERAGE of the requested pairs were scored.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Mapping, Sequence

from .pairs import Pair

MIN_COVERAGE = 0.9
TRAINED_PEOPLE = "trained_people"
MISSING_FACE = "missing_face"
COVERAGE_COLUMNS = ["pairs_requested", "pairs_scored", "pairs_excluded", "exclusion_reason", "low_coverage"]


def split_reason(split: str) -> str:
    return f"split:{split}"


def missing_reason(set_key: str) -> str:
    return MISSING_FACE if set_key == "aligned" else f"missing_{set_key.split('/', 1)[0]}"


def person_of(image_id: str, persons_by_id: Mapping[str, str]) -> str:
    """The person of an image: from the shards, else from the LFW-style id (`Name_Surname_0003`)."""
    person = persons_by_id.get(image_id)
    return person if person else image_id.rpartition("_")[0] or image_id


def split_people(persons: Sequence[str], splits: Sequence[str], split: str) -> set[str]:
    return {person for person, s in zip(persons, splits) if s == split}


def pair_exclusions(pairs: Sequence[Pair], persons_by_id: Mapping[str, str], split_of_person: Mapping[str, str],
                    exclude_splits: Iterable[str] = (), trained_people: Iterable[str] = ()) -> dict[int, str]:
    """{pair index: reason} of the pairs this method must not score (first reason that applies)."""
    excluded_splits, trained = set(exclude_splits), set(trained_people)
    out: dict[int, str] = {}
    for k, pair in enumerate(pairs):
        people = (person_of(pair.id_a, persons_by_id), person_of(pair.id_b, persons_by_id))
        splits = [split_of_person.get(p) for p in people]
        hit = next((s for s in splits if s in excluded_splits), None)
        if hit is not None:
            out[k] = split_reason(hit)
        elif trained and (people[0] in trained or people[1] in trained):
            out[k] = TRAINED_PEOPLE
    return out


def _reason_rank(reason: str) -> tuple[int, str]:
    order = {TRAINED_PEOPLE: 1, MISSING_FACE: 2}
    return (0 if reason.startswith("split:") else order.get(reason, 3), reason)


def format_reasons(reasons: Mapping[str, int]) -> str:
    """`trained_people: 12; missing_face: 3` (stable order; zero counts left out)."""
    return "; ".join(f"{r}: {n}" for r, n in sorted(reasons.items(), key=lambda item: _reason_rank(item[0])) if n)


def coverage(requested: int, reasons: Mapping[str, int]) -> dict:
    """The coverage columns of one row; `reasons` counts every requested pair that was not scored."""
    excluded = int(sum(reasons.values()))
    if excluded > requested:
        raise ValueError(f"{excluded} pairs excluded of {requested} requested")
    scored = requested - excluded
    return {"pairs_requested": int(requested), "pairs_scored": scored, "pairs_excluded": excluded,
            "exclusion_reason": format_reasons(reasons),
            "low_coverage": bool(requested == 0 or scored < MIN_COVERAGE * requested)}


def count_reasons(reason_of: Mapping[int, str], members: Iterable[int] | None = None) -> Counter:
    keys = reason_of if members is None else [k for k in members if k in reason_of]
    return Counter(reason_of[k] for k in keys)


def low_coverage_warning(method: str, label: str, row: Mapping) -> str:
    share = row["pairs_scored"] / row["pairs_requested"] if row["pairs_requested"] else 0.0
    return (f"WARNING: {method} / {label}: LOW COVERAGE: scored {row['pairs_scored']} of {row['pairs_requested']} "
            f"requested pairs ({share:.1%} < {MIN_COVERAGE:.0%}); excluded {row['exclusion_reason'] or 'none'}")
