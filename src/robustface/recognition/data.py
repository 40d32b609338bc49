"""Training data over aligned + occluded HDF5 shards.

Rows come from the aligned shards (`images`, `person`, `split`, `image_id`); the occluded shards
of each type are paired to them by `image_id` (they may lack rejected rows). Images are read through
`robustface.h5io.LazyShards`, which opens files lazily in each DataLoader worker; small datasets
are preloaded into memory once (random single-row reads of chunked shards read a whole chunk each
time).

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

from ..degrade import resize
from ..h5io import LazyShards, read_strings
from .mobilefacenet import INPUT_SIZE

CLEAN = "clean"


def to_input_size(image: np.ndarray) -> np.ndarray:
    """Larger crops are shrunk (INTER_AREA); low-resolution faces are upscaled with the PIL bicubic
    the degrade and verification stages use, so a student trains on LR faces as they are scored."""
    if image.shape[:2] == (INPUT_SIZE, INPUT_SIZE):
        return image
    if image.shape[0] < INPUT_SIZE:
        return resize(image, INPUT_SIZE, "pil_bicubic")
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


def lr_variant(res: int) -> str:
    """Variant name of the clean faces degraded to `res` px (as in the training loss columns)."""
    return f"lr{int(res)}"


@dataclass
class FaceTable:
    """Clean faces plus, per variant (occlusion type, or `lr{res}` low-resolution copy), the variant
    row of each clean row (-1 if missing). `occluded` holds every variant; `lr_names` says which of
    them are low-resolution copies (read upscaled to the input size)."""

    clean: ImageSource
    image_ids: list[str]
    persons: list[str]
    splits: list[str]
    occluded: dict[str, ImageSource]
    occluded_row: dict[str, np.ndarray]
    lr_names: tuple[str, ...] = ()

    @property
    def type_names(self) -> list[str]:
        return [CLEAN, *self.occluded]

    @property
    def occlusion_names(self) -> list[str]:
        return [name for name in self.occluded if name not in self.lr_names]

    @classmethod
    def open(cls, aligned: list[str], occluded: dict[str, list[str]], preload: str | bool = "auto", preload_max_mb: int = 2048,
             lr: dict[int, list[str]] | None = None) -> "FaceTable":
        if not aligned:
            raise ValueError("no aligned shards given")
        if CLEAN in occluded:
            raise ValueError(f"{CLEAN!r} is reserved for the un-occluded faces; rename that occlusion type")
        lr_paths = {lr_variant(res): paths for res, paths in sorted((lr or {}).items())}
        clash = sorted(set(lr_paths) & set(occluded))
        if clash:
            raise ValueError(f"occlusion type name(s) {clash} clash with the low-resolution variants; rename them")
        occluded = {**occluded, **lr_paths}
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
        return cls(clean, image_ids, persons, splits, occ_sources, occ_rows, tuple(lr_paths))

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

    def available_occlusions(self, row: int) -> list[int]:
        return [k for k in self.available_types(row)[1:] if self.type_names[k] not in self.lr_names]

    def available_lr(self, row: int) -> list[int]:
        return [k for k in self.available_types(row)[1:] if self.type_names[k] in self.lr_names]


class TrainFaces(Dataset):
    """One sample per clean training face; with probability `occlusion_ratio` the face is
    replaced by one of its occluded versions, with probability `lr_ratio` by one of its
    low-resolution versions (type chosen uniformly among those available).

    Items: image uint8 (112,112,3), label (identity index), type_label (0 = clean), row
    (aligned row, to look up cached teacher embeddings of the clean face)."""

    def __init__(self, table: FaceTable, rows: np.ndarray, labels: np.ndarray, occlusion_ratio: float, seed: int,
                 lr_ratio: float = 0.0):
        for name, ratio in (("occlusion_ratio", occlusion_ratio), ("lr_ratio", lr_ratio)):
            if not 0.0 <= ratio <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {ratio}")
        if occlusion_ratio + lr_ratio > 1.0:
            raise ValueError(f"occlusion_ratio + lr_ratio must be <= 1, got {occlusion_ratio} + {lr_ratio}")
        if occlusion_ratio > 0 and not table.occlusion_names:
            raise ValueError("occlusion_ratio > 0 but no occluded shards were given (--occluded TYPE=H5 ...)")
        if lr_ratio > 0 and not table.lr_names:
            raise ValueError("lr_ratio > 0 but no low-resolution shards were given (--lr RES=H5 ...)")
        self.table, self.rows, self.labels = table, rows, labels
        self.occlusion_ratio, self.lr_ratio, self.seed, self.epoch = occlusion_ratio, lr_ratio, seed, 0
        self.rows_tensor = torch.from_numpy(np.asarray(rows, dtype=np.int64))
        self.occlusion_types = [table.available_occlusions(int(r)) for r in rows]
        self.lr_types = [table.available_lr(int(r)) for r in rows]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.rows)

    def variant_of(self, i: int) -> int:
        """Which version of sample i this epoch shows: 0 = clean, else an index of table.type_names."""
        type_index = 0
        if self.occlusion_ratio > 0 or self.lr_ratio > 0:
            rng = np.random.default_rng((self.seed, self.epoch, i))
            draw = rng.random()
            if draw < self.occlusion_ratio:
                candidates = self.occlusion_types[i]
            elif draw < self.occlusion_ratio + self.lr_ratio:
                candidates = self.lr_types[i]
            else:
                candidates = []
            if candidates:
                type_index = int(candidates[rng.integers(len(candidates))])
        return type_index

    def __getitem__(self, i: int) -> dict:
        row, type_index = int(self.rows[i]), self.variant_of(i)
        return {
            "image": torch.from_numpy(np.ascontiguousarray(self.table.image(row, type_index))),
            "label": int(self.labels[i]),
            "type_label": type_index,
            "row": row,
        }


class PreloadedBatches:
    """The data path without a DataLoader: every source (clean and each variant) preloaded once as
    one uint8 tensor on the training device (GPU memory when training there), batches gathered by
    index on that device. Same samples, variants and order as the DataLoader over `dataset`."""

    def __init__(self, dataset: TrainFaces, device: torch.device):
        table = dataset.table
        if table.clean.cache is None:
            raise ValueError("PreloadedBatches needs preloaded shards (preload: true, or auto within preload_max_mb)")
        self.dataset, self.device = dataset, device
        sources = [table.clean, *table.occluded.values()]
        self.images = [torch.from_numpy(src.cache).to(device) for src in sources]
        # row of each training sample in each source (-1: that variant is missing for the face)
        rows = torch.from_numpy(dataset.rows)
        self.source_rows = [rows, *(torch.from_numpy(table.occluded_row[name][dataset.rows]) for name in table.occluded)]
        self.labels = torch.from_numpy(np.asarray(dataset.labels, dtype=np.int64))

    def epoch(self, epoch: int, batch_size: int, generator: torch.Generator):
        self.dataset.set_epoch(epoch)
        n = len(self.dataset)
        variants = torch.tensor([self.dataset.variant_of(i) for i in range(n)], dtype=torch.int64)
        torch.empty((), dtype=torch.int64).random_(generator=generator)  # the DataLoader draws its base seed first
        order = torch.randperm(n, generator=generator)
        for start in range(0, n - batch_size + 1, batch_size):
            index = order[start : start + batch_size]
            kinds = variants[index]
            batch = torch.empty((len(index), *self.images[0].shape[1:]), dtype=torch.uint8, device=self.device)
            for k in kinds.unique().tolist():
                chosen = (kinds == k).nonzero().squeeze(1)
                batch[chosen.to(self.device)] = self.images[k][self.source_rows[k][index[chosen]].to(self.device)]
            yield {"image": batch, "label": self.labels[index], "type_label": kinds, "row": self.dataset.rows_tensor[index]}


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
