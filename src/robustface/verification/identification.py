"""Closed-set identification: rank-1 accuracy of probes against a gallery of one face per identity.

Gallery: for each evaluated person, the first of their faces (sorted image id) present in the
gallery's image set; probes: every other face of a gallery person present in the probe set. People
with a single face are gallery-only (distractors). A probe is correct when its most similar
gallery face (cosine; ties broken by gallery order) belongs to its own person.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np


@dataclass(frozen=True)
class Gallery:
    gallery: list[str]   # image ids, one per person
    probes: list[str]    # image ids

    def __len__(self) -> int:
        return len(self.probes)


def split_gallery(ids: Sequence[str], persons: Mapping[str, str], in_gallery_set: Iterable[str],
                  in_probe_set: Iterable[str], gallery_ok=None, probe_ok=None) -> Gallery:
    """One gallery face per person (first sorted id available in the gallery set and passing
    `gallery_ok`), probes = the person's other faces available in the probe set (passing `probe_ok`)."""
    have_gallery, have_probe = set(in_gallery_set), set(in_probe_set)
    by_person: dict[str, list[str]] = {}
    for image_id in sorted(ids):
        by_person.setdefault(persons[image_id], []).append(image_id)
    gallery, probes = [], []
    for person, faces in sorted(by_person.items()):
        enrolled = next((f for f in faces if f in have_gallery and (gallery_ok is None or gallery_ok(f))), None)
        if enrolled is None:
            continue
        gallery.append(enrolled)
        probes += [f for f in faces if f != enrolled and f in have_probe and (probe_ok is None or probe_ok(f))]
    return Gallery(gallery, probes)


def rank1_accuracy(gallery_emb: np.ndarray, gallery_persons: Sequence[str], probe_emb: np.ndarray,
                   probe_persons: Sequence[str]) -> float:
    """Share of probes whose nearest gallery embedding (cosine) is of their own person; NaN
    without probes. Embeddings are L2-normalised rows."""
    if len(probe_persons) == 0:
        return float("nan")
    if len(gallery_persons) == 0:
        raise ValueError("rank-1 identification needs a non-empty gallery")
    if len(set(gallery_persons)) != len(gallery_persons):
        raise ValueError("the gallery holds one face per person; found a person twice")
    nearest = np.argmax(np.asarray(probe_emb) @ np.asarray(gallery_emb).T, axis=1)
    return float(np.mean(np.asarray(gallery_persons, dtype=object)[nearest] == np.asarray(probe_persons, dtype=object)))
