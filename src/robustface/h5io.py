"""HDF5 shard I/O: atomic writes, lazy per-worker reads.

A shard holds one row per face along axis 0. Datasets are named by meaning
(`images`, `landmarks`, `person`, `image_id`, ...); provenance lives in attrs.
"""
from __future__ import annotations

import json
import os
from typing import Mapping

import h5py
import numpy as np

from .atomic import atomic_path

STR_DTYPE = h5py.string_dtype("utf-8")
IMAGE_CHUNK = 64


def _dataset_kwargs(name: str, arr: np.ndarray) -> dict:
    if arr.ndim == 0 or len(arr) == 0:
        return {}
    # Fixed-size chunks along the face axis, uncompressed: decompression would cost more than the
    # JPEG decode the shards exist to avoid (lzf measured 3x faster than JPEG, raw far more).
    return {"chunks": (min(IMAGE_CHUNK, len(arr)), *arr.shape[1:])}


def write_shard(path: str | os.PathLike, arrays: Mapping[str, np.ndarray | list], attrs: Mapping | None = None) -> None:
    """Write `arrays` to `path` atomically (temporary name, then rename)."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for name, value in arrays.items():
            if isinstance(value, list) or (isinstance(value, np.ndarray) and value.dtype.kind in "USO"):
                f.create_dataset(name, data=np.asarray([str(v) for v in value], dtype=object), dtype=STR_DTYPE)
            else:
                arr = np.asarray(value)
                f.create_dataset(name, data=arr, **_dataset_kwargs(name, arr))
        for key, value in (attrs or {}).items():
            f.attrs[key] = value if isinstance(value, (int, float, str, np.number)) else json.dumps(value)


def read_strings(f: h5py.File, name: str) -> list[str]:
    return [s.decode() if isinstance(s, bytes) else str(s) for s in f[name][()]]


def read_shard(path: str | os.PathLike, names: list[str] | None = None) -> dict[str, np.ndarray | list[str]]:
    """Read whole datasets of a shard into memory (strings as list[str])."""
    out: dict = {}
    with h5py.File(path, "r") as f:
        for name in names or list(f.keys()):
            if f[name].dtype.kind == "O":
                out[name] = read_strings(f, name)
            else:
                out[name] = f[name][()]
    return out


def read_attrs(path: str | os.PathLike) -> dict:
    with h5py.File(path, "r") as f:
        return {k: _decode_attr(v) for k, v in f.attrs.items()}


def _decode_attr(value):
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


class LazyShards:
    """Random access to rows across several shards; opens files lazily so it
    survives DataLoader worker fork/pickle (handles are never pickled)."""

    def __init__(self, paths: list[str | os.PathLike], dataset: str = "images"):
        self.paths = [str(p) for p in paths]
        self.dataset = dataset
        self.lengths = []
        for p in self.paths:
            with h5py.File(p, "r") as f:
                self.lengths.append(len(f[dataset]))
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int64)
        self._files: dict[int, h5py.File] = {}
        self._pid = None

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def locate(self, index: int) -> tuple[int, int]:
        shard = int(np.searchsorted(self.offsets, index, side="right") - 1)
        return shard, int(index - self.offsets[shard])

    def file(self, shard: int) -> h5py.File:
        if self._pid != os.getpid():
            self._files, self._pid = {}, os.getpid()
        if shard not in self._files:
            self._files[shard] = h5py.File(self.paths[shard], "r")
        return self._files[shard]

    def get(self, index: int, name: str | None = None):
        shard, row = self.locate(index)
        return self.file(shard)[name or self.dataset][row]

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_files"], state["_pid"] = {}, None
        return state

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        self._files = {}
