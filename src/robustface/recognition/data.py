"""Training data over aligned + occluded HDF5 shards.

Rows come from the aligned shards (`images`, `person`, `split`, `image_id`); the occluded shards
of each type are paired to them by `image_id` (they may lack rejected rows). Images are read through
`robustface.h5io.LazyShards`, which opens files lazily in each DataLoader worker; small datasets
are preloaded into memory once (random single-row reads of LZF-chunked shards decompress a whole
chunk each time).

Augmentation is split in two: the per-sample choice of clean vs occluded version happens here
(it changes which image is read), flip + brightness jitter act on whole batches in `augment_batch`.
All randomness is derived from (seed, epoch, index) so an epoch replays identically after resume.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from ..h5io import LazyShards, read_strings
from .mobilefacenet import INPUT_SIZE

CLEAN = "clean"


def to_input_size(image: np.ndarray) -> np.ndarray:
    if image.shape[:2] == (INPUT_SIZE, INPUT_SIZE):
        return image
    return cv2.resize(image, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)


class ImageSource:
    """Row access to the `images` of a list of shards, either lazily per worker or preloaded."""

    def __init__(self, paths: list[str], preload: bool):
        self.shards = LazyShards(paths, "images")
        self.strings = {name: self._read_strings(name) for name in ("image_id",)}
        self.cache: np.ndarray | None = None
        if preload:
            self.cache = np.stack([to_input_size(img) for p in range(len(paths)) for img in self.shards.file(p)["images"][()]]) \
                if len(self.shards) else np.zeros((0, INPUT_SIZE, INPUT_SIZE, 3), np.uint8)
            self.shards.close()

    def _read_strings(self, name: str) -> list[str]:
        values = []
        for p in range(len(self.shards.paths)):
            f = self.shards.file(p)
            if name not in f:
                raise KeyError(f"{self.shards.paths[p]} has no dataset {name!r} (see docs/data_formats.md)")
            values += read_strings(f, name)
        return values

    def strings_of(self, name: str) -> list[str]:
        if name not in self.strings:
            self.strings[name] = self._read_strings(name)
        return self.strings[name]

    def __len__(self) -> int:
        return len(self.shards)

    def image(self, row: int) -> np.ndarray:
        if self.cache is not None:
            return self.cache[row]
        return to_input_size(self.shards.get(row))

    def nbytes_estimate(self) -> int:
        return len(self.shards) * INPUT_SIZE * INPUT_SIZE * 3


@dataclass
class FaceTable:
    """Clean faces plus, per occlusion type, the occluded row of each clean row (-1 if missing)."""

    clean: ImageSource
    image_ids: list[str]
    persons: list[str]
    splits: list[str]
    occluded: dict[str, ImageSource]
    occluded_row: dict[str, np.ndarray]

    @property
    def type_names(self) -> list[str]:
        return [CLEAN, *self.occluded]

    @classmethod
    def open(cls, aligned: list[str], occluded: dict[str, list[str]], preload: str | bool = "auto", preload_max_mb: int = 2048) -> "FaceTable":
        if not aligned:
            raise ValueError("no aligned shards given")
        if CLEAN in occluded:
            raise ValueError(f"{CLEAN!r} is reserved for the un-occluded faces; rename that occlusion type")
        clean = ImageSource(aligned, preload=False)
        total_mb = clean.nbytes_estimate() * (1 + len(occluded)) / 2**20
        if isinstance(preload, str) and preload.lower() in {"true", "false"}:
            preload = preload.lower() == "true"
        if preload not in ("auto", True, False):
            raise ValueError(f"preload must be auto, true or false, got {preload!r}")
        do_preload = total_mb <= preload_max_mb if preload == "auto" else preload
        if do_preload:
            clean = ImageSource(aligned, preload=True)
        image_ids = clean.strings_of("image_id")
        persons, splits = clean.strings_of("person"), clean.strings_of("split")
        position = {image_id: row for row, image_id in enumerate(image_ids)}
        occ_sources, occ_rows = {}, {}
        for name, paths in occluded.items():
            source = ImageSource(paths, preload=do_preload)
            rows = np.full(len(image_ids), -1, dtype=np.int64)
            for occ_row, image_id in enumerate(source.strings_of("image_id")):
                if image_id not in position:
                    raise ValueError(f"occluded type {name!r}: image_id {image_id!r} is not in the aligned shards")
                rows[position[image_id]] = occ_row
            occ_sources[name], occ_rows[name] = source, rows
        return cls(clean, image_ids, persons, splits, occ_sources, occ_rows)

    def rows_of_split(self, split: str) -> np.ndarray:
        return np.array([i for i, s in enumerate(self.splits) if s == split], dtype=np.int64)

    def image(self, row: int, type_index: int = 0) -> np.ndarray:
        if type_index == 0:
            return self.clean.image(row)
        name = self.type_names[type_index]
        occ_row = int(self.occluded_row[name][row])
        if occ_row < 0:
            raise KeyError(f"{self.image_ids[row]} has no {name!r} occluded version")
        return self.occluded[name].image(occ_row)

    def available_types(self, row: int) -> list[int]:
        return [k for k, name in enumerate(self.type_names) if k == 0 or self.occluded_row[name][row] >= 0]


class TrainFaces(Dataset):
    """One sample per clean training face; with probability `occlusion_ratio` the face is
    replaced by one of its occluded versions (type chosen uniformly among those available).

    Items: image uint8 (112,112,3), label (identity index), type_label (0 = clean), row
    (aligned row, to look up cached teacher embeddings of the clean face)."""

    def __init__(self, table: FaceTable, rows: np.ndarray, labels: np.ndarray, occlusion_ratio: float, seed: int):
        if not 0.0 <= occlusion_ratio <= 1.0:
            raise ValueError(f"occlusion_ratio must be in [0, 1], got {occlusion_ratio}")
        if occlusion_ratio > 0 and not table.occluded:
            raise ValueError("occlusion_ratio > 0 but no occluded shards were given (--occluded TYPE=H5 ...)")
        self.table, self.rows, self.labels = table, rows, labels
        self.occlusion_ratio, self.seed, self.epoch = occlusion_ratio, seed, 0
        self.available = [table.available_types(int(r)) for r in rows] if table.occluded else None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        row = int(self.rows[i])
        type_index = 0
        if self.occlusion_ratio > 0:
            rng = np.random.default_rng((self.seed, self.epoch, i))
            occluded_types = self.available[i][1:]
            if occluded_types and rng.random() < self.occlusion_ratio:
                type_index = int(occluded_types[rng.integers(len(occluded_types))])
        return {
            "image": torch.from_numpy(np.ascontiguousarray(self.table.image(row, type_index))),
            "label": int(self.labels[i]),
            "type_label": type_index,
            "row": row,
        }


def identity_labels(persons: list[str], rows: np.ndarray) -> tuple[np.ndarray, list[str]]:
    names = sorted({persons[r] for r in rows})
    index = {name: k for k, name in enumerate(names)}
    return np.array([index[persons[r]] for r in rows], dtype=np.int64), names


def to_model_input(images_uint8: torch.Tensor) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float normalised as insightface: (x - 127.5) / 128."""
    return images_uint8.permute(0, 3, 1, 2).float().sub_(127.5).div_(128.0)


def augment_batch(x: torch.Tensor, generator: torch.Generator, flip: bool = True,
                  brightness: float = 0.2) -> tuple[torch.Tensor, torch.Tensor]:
    """Random horizontal flip and brightness jitter (multiplicative, in [1-b, 1+b]) on a
    normalised batch (N, 3, H, W). Returns the batch and the (CPU, bool) mask of flipped samples."""
    n = x.shape[0]
    flip_mask = torch.zeros(n, dtype=torch.bool)
    if flip:
        flip_mask = torch.rand(n, generator=generator) < 0.5
        x = torch.where(flip_mask.to(x.device)[:, None, None, None], x.flip(3), x)
    if brightness > 0:
        factor = 1.0 + (torch.rand(n, generator=generator) * 2 - 1) * brightness
        # scale pixel values around black (-127.5/128 in normalised units), then clip to range
        black = -127.5 / 128.0
        x = ((x - black) * factor.to(x.device)[:, None, None, None] + black).clamp_(black, 127.5 / 128.0)
    return x, flip_mask
