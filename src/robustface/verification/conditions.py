"""Image sets (aligned / occluded / LR / SR shards) and the verification conditions built on them.

Conventions: in every mixed condition the first image of a pair comes from the clean HR set
(the enrolled face) and the second from the degraded set (the probe). LR images are upscaled to
the aligned size with PIL bicubic before embedding, so each recognizer sees its usual input size.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
from tqdm import tqdm

from robustface.atomic import atomic_path
from robustface.degrade import upscale_bicubic
from robustface.h5io import ShardIndex, open_shard, read_strings


@dataclass(frozen=True)
class ImageSet:
    key: str                 # e.g. "aligned", "occluded/mask", "lr/16", "sr/bicubic/32"
    paths: tuple[str, ...]   # shard files
    upscale: bool = False    # LR: bicubic back to the aligned size before embedding


CONDITION_NAMES = ("clean-clean", "clean-occluded", "occluded-occluded", "lr-hr", "lr-lr", "sr-hr")


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


class EmbeddingCache:
    """Embeds each image set once, only the ids asked for; L2-normalised float32 rows.

    `save`/`load` keep the embeddings in a file, so a later stage with the same embedder (method_eval
    after verify) embeds only what the file lacks."""

    def __init__(self, embed: Callable[[np.ndarray], np.ndarray], hr_size: int, batch_size: int = 64,
                 progress: bool = True):
        self.embed = embed
        self.hr_size = hr_size
        self.batch_size = batch_size
        self.progress = progress
        self._indices: dict[str, ShardIndex] = {}
        self._embeddings: dict[str, dict[str, np.ndarray]] = {}
        self.images_embedded = 0

    def _index(self, image_set: ImageSet) -> ShardIndex:
        if image_set.key not in self._indices:
            self._indices[image_set.key] = ShardIndex(image_set.paths)
        return self._indices[image_set.key]

    def available(self, image_set: ImageSet) -> set[str]:
        return set(self._index(image_set).where)

    def get(self, image_set: ImageSet, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Embeddings of `ids` (those present in the set); each image embedded at most once."""
        done = self._embeddings.setdefault(image_set.key, {})
        index = self._index(image_set)
        todo = sorted({i for i in ids if i in index and i not in done}, key=lambda i: index.where[i])
        bar = tqdm(total=len(todo), desc=f"embed {image_set.key}", unit="img", disable=not self.progress or not todo)
        for start in range(0, len(todo), self.batch_size):
            batch_ids = todo[start:start + self.batch_size]
            images = index.images(batch_ids)
            if image_set.upscale:
                images = upscale_bicubic(images, self.hr_size)
            done.update(zip(batch_ids, self._normalised(self.embed(images), len(batch_ids), image_set.key)))
            self.images_embedded += len(batch_ids)
            bar.update(len(batch_ids))
        bar.close()
        return {i: done[i] for i in ids if i in done}

    def save(self, path: str | os.PathLike, method: str) -> None:
        """Every embedding computed or loaded so far, as one npz table (set key, image id, vector)."""
        keys, ids, vectors = [], [], []
        for key, table in sorted(self._embeddings.items()):
            for image_id, vector in sorted(table.items()):
                keys.append(key)
                ids.append(image_id)
                vectors.append(vector)
        dim = len(vectors[0]) if vectors else 0
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:  # a handle: np.savez would append ".npz"
            np.savez(fh, set_key=np.array(keys, dtype=str), image_id=np.array(ids, dtype=str),
                     embedding=np.stack(vectors) if vectors else np.zeros((0, dim), np.float32),
                     method=np.array(method))

    def load(self, path: str | os.PathLike, method: str) -> int:
        """Embeddings saved by `save` for the same method; returns how many were loaded."""
        with np.load(path, allow_pickle=False) as z:
            if str(z["method"]) != method:
                raise ValueError(f"{path} holds embeddings of {str(z['method'])!r}, not of {method!r}")
            keys, ids, vectors = z["set_key"].tolist(), z["image_id"].tolist(), z["embedding"]
        for key, image_id, vector in zip(keys, ids, vectors):
            self._embeddings.setdefault(key, {})[image_id] = vector.astype(np.float32)
        return len(ids)

    def reuse(self, paths: Sequence[str | os.PathLike], method: str) -> None:
        """`load` each file of an earlier stage (verify, verify_sr) and say how much it held."""
        for path in paths:
            print(f"{method}: {self.load(path, method)} embeddings reused from {path}")

    @staticmethod
    def _normalised(vectors: np.ndarray, expected: int, key: str) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != expected:
            raise ValueError(f"embedder returned shape {vectors.shape} for {expected} images of {key}")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)
