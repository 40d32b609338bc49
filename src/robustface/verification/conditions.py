"""Image sets (aligned / occluded / LR / SR shards) and the verification conditions built on them.

Conventions: in every mixed condition the first image of a pair comes from the clean HR set
(the enrolled face) and the second from the degraded set (the probe). LR images are upscaled to
the aligned size with PIL bicubic before embedding, so each recognizer sees its usual input size.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
from tqdm import tqdm

from robustface.degrade import resize_batch
from robustface.h5io import open_shard, read_strings


@dataclass(frozen=True)
class ImageSet:
    key: str                 # e.g. "aligned", "occluded/mask", "lr/16", "sr/bicubic/32"
    paths: tuple[str, ...]   # shard files
    upscale: bool = False    # LR: bicubic back to the aligned size before embedding


@dataclass(frozen=True)
class Condition:
    condition: str           # clean-clean | clean-occluded | occluded-occluded | lr-hr | lr-lr | sr-hr
    type_or_model: str       # occlusion type, SR model, or ""
    res: int | None
    set_a: str               # ImageSet key of the first image
    set_b: str               # ImageSet key of the second image

    @property
    def label(self) -> str:
        parts = [self.condition, self.type_or_model, f"{self.res}px" if self.res else ""]
        return " ".join(p for p in parts if p)


def build_image_sets(aligned: Sequence[str], occluded: Mapping[str, Sequence[str]] | None = None,
                     lr: Mapping[int, Sequence[str]] | None = None,
                     sr: Mapping[tuple[str, int], Sequence[str]] | None = None) -> dict[str, ImageSet]:
    sets = {"aligned": ImageSet("aligned", tuple(map(str, aligned)))}
    for kind, paths in (occluded or {}).items():
        sets[f"occluded/{kind}"] = ImageSet(f"occluded/{kind}", tuple(map(str, paths)))
    for res, paths in (lr or {}).items():
        sets[f"lr/{res}"] = ImageSet(f"lr/{res}", tuple(map(str, paths)), upscale=True)
    for (model, res), paths in (sr or {}).items():
        sets[f"sr/{model}/{res}"] = ImageSet(f"sr/{model}/{res}", tuple(map(str, paths)))
    return sets


def build_conditions(sets: Mapping[str, ImageSet]) -> list[Condition]:
    """Every condition the available image sets allow, in a stable order."""
    conditions = [Condition("clean-clean", "", None, "aligned", "aligned")]
    occluded = sorted(k.split("/", 1)[1] for k in sets if k.startswith("occluded/"))
    lr = sorted(int(k.split("/")[1]) for k in sets if k.startswith("lr/"))
    sr = sorted((k.split("/")[1], int(k.split("/")[2])) for k in sets if k.startswith("sr/"))
    for kind in occluded:
        conditions.append(Condition("clean-occluded", kind, None, "aligned", f"occluded/{kind}"))
    for kind in occluded:
        conditions.append(Condition("occluded-occluded", kind, None, f"occluded/{kind}", f"occluded/{kind}"))
    for res in lr:
        conditions.append(Condition("lr-hr", "", res, "aligned", f"lr/{res}"))
    for res in lr:
        conditions.append(Condition("lr-lr", "", res, f"lr/{res}", f"lr/{res}"))
    for model, res in sr:
        conditions.append(Condition("sr-hr", model, res, "aligned", f"sr/{model}/{res}"))
    return conditions


def probe_ids(pairs) -> set[str]:
    """The images the probe set of a mixed condition (clean-occluded, lr-hr, sr-hr: `set_a` is the
    aligned set) must hold for these pairs: the second image of each. SR enters verification only
    through sr-hr, so this is what the SR stage super-resolves for it."""
    return {p.id_b for p in pairs}


def shard_index(paths: Sequence[str]) -> dict[str, tuple[int, int]]:
    """image_id -> (shard number, row) over a set's shards."""
    index: dict[str, tuple[int, int]] = {}
    for shard, path in enumerate(paths):
        with open_shard(path) as f:
            if "image_id" not in f:
                raise ValueError(f"{path}: no `image_id` dataset (see docs/data_formats.md)")
            for row, image_id in enumerate(read_strings(f, "image_id")):
                index.setdefault(image_id, (shard, row))
    return index


def read_people(paths: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """(image_ids, persons, splits) of the aligned shards, in shard order."""
    ids, persons, splits = [], [], []
    for path in paths:
        with open_shard(path) as f:
            n = len(f["image_id"])
            ids += read_strings(f, "image_id")
            persons += read_strings(f, "person") if "person" in f else [""] * n
            splits += read_strings(f, "split") if "split" in f else [""] * n
    return ids, persons, splits


def upscale_bicubic(images: np.ndarray, size: int) -> np.ndarray:
    """LR faces back to the aligned size with the same PIL bicubic the degrade stage uses."""
    if images.shape[1] == size and images.shape[2] == size:
        return images
    return resize_batch(images, size, "pil_bicubic")


class EmbeddingCache:
    """Embeds each image set once, only the ids the pairs need; L2-normalised float32 rows."""

    def __init__(self, embed: Callable[[np.ndarray], np.ndarray], hr_size: int, batch_size: int = 64,
                 progress: bool = True):
        self.embed = embed
        self.hr_size = hr_size
        self.batch_size = batch_size
        self.progress = progress
        self._indices: dict[str, dict[str, tuple[int, int]]] = {}
        self._embeddings: dict[str, dict[str, np.ndarray]] = {}
        self.images_embedded = 0

    def available(self, image_set: ImageSet) -> set[str]:
        if image_set.key not in self._indices:
            self._indices[image_set.key] = shard_index(image_set.paths)
        return set(self._indices[image_set.key])

    def get(self, image_set: ImageSet, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Embeddings of `ids` (those present in the set); each image embedded at most once."""
        done = self._embeddings.setdefault(image_set.key, {})
        index = self._indices.get(image_set.key) or {}
        if not index:
            self.available(image_set)
            index = self._indices[image_set.key]
        todo = sorted({i for i in ids if i in index and i not in done}, key=lambda i: index[i])
        by_shard: dict[int, list[str]] = {}
        for image_id in todo:
            by_shard.setdefault(index[image_id][0], []).append(image_id)
        bar = tqdm(total=len(todo), desc=f"embed {image_set.key}", unit="img", disable=not self.progress or not todo)
        for shard, shard_ids in by_shard.items():
            with open_shard(image_set.paths[shard]) as f:
                for start in range(0, len(shard_ids), self.batch_size):
                    batch_ids = shard_ids[start:start + self.batch_size]
                    rows = [index[i][1] for i in batch_ids]  # increasing: h5py fancy indexing needs it
                    images = f["images"][rows]
                    if image_set.upscale:
                        images = upscale_bicubic(images, self.hr_size)
                    vectors = self._normalised(self.embed(images), len(batch_ids), image_set.key)
                    done.update(zip(batch_ids, vectors))
                    self.images_embedded += len(batch_ids)
                    bar.update(len(batch_ids))
        bar.close()
        return {i: done[i] for i in ids if i in done}

    @staticmethod
    def _normalised(vectors: np.ndarray, expected: int, key: str) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != expected:
            raise ValueError(f"embedder returned shape {vectors.shape} for {expected} images of {key}")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)
