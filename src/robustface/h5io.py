"""HDF5 shard I/O: atomic writes, verified reads, lazy per-worker reads.

A shard holds one row per face along axis 0. Datasets are named by meaning
(`images`, `landmarks`, `person`, `image_id`, ...); provenance lives in attrs.

Integrity: `write_shard` records `n_rows` and `checksums` (CRC-32 of every dataset's bytes; strings
as UTF-8 joined by NUL) in the attrs. Every shared reader (`open_shard`, `read_shard`,
`read_attrs`, `LazyShards`) checks them when it opens a shard: a file HDF5 cannot open
(truncated, not HDF5), a dataset missing, a row count or a checksum that differs is a `ShardError`
naming the file and the remedy. The checksum pass reads the shard once per process (remembered
by path, inode, size and mtime), which costs less than a third of reading it: CRC-32 runs at about
3 GB/s. Shards written before these attrs existed are read with a warning, unverified.
"""
from __future__ import annotations

import json
import os
import warnings
import zlib
from typing import Iterable, Mapping

import h5py
import numpy as np

from .atomic import atomic_path

STR_DTYPE = h5py.string_dtype("utf-8")
IMAGE_CHUNK = 64
VERIFY_BLOCK_ROWS = 1024  # rows per read while checksumming (bounded memory on large shards)


class ShardError(OSError):
    """A shard that is damaged, incomplete or not a shard: the message names it and the remedy."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        super().__init__(f"{path}: {problem}. The shard is damaged or incomplete: delete it and rerun snakemake, "
                         "which rebuilds it (and what was made from it).")


def _is_strings(value) -> bool:
    return isinstance(value, list) or (isinstance(value, np.ndarray) and value.dtype.kind in "USO")


def _crc_strings(values: Iterable[str]) -> int:
    return zlib.crc32(b"\0".join(v.encode() for v in values))


def _crc_array(arr: np.ndarray, crc: int = 0) -> int:
    return zlib.crc32(np.ascontiguousarray(arr).reshape(-1).view(np.uint8), crc)


def _checksum(crc: int) -> str:
    return f"crc32:{crc:08x}"


def _dataset_kwargs(name: str, arr: np.ndarray) -> dict:
    if arr.ndim == 0 or len(arr) == 0:
        return {}
    # Fixed-size chunks along the face axis, uncompressed: decompression would cost more than the
    # JPEG decode the shards exist to avoid (lzf measured 3x faster than JPEG, raw far more).
    return {"chunks": (min(IMAGE_CHUNK, len(arr)), *arr.shape[1:])}


def write_shard(path: str | os.PathLike, arrays: Mapping[str, np.ndarray | list], attrs: Mapping | None = None) -> None:
    """Write `arrays` (one row per face along axis 0, all the same length) to `path` atomically
    (temporary name, then rename), with `n_rows` and `checksums` in the attrs."""
    lengths = {name: len(value) for name, value in arrays.items() if _is_strings(value) or np.ndim(value) > 0}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{path}: datasets have different row counts {lengths}: a shard holds one row per face")
    n_rows = next(iter(lengths.values()), 0)
    if attrs and "n_rows" in attrs and int(attrs["n_rows"]) != n_rows:
        raise ValueError(f"{path}: attrs say n_rows={attrs['n_rows']} but the datasets have {n_rows} rows")
    checksums = {}
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for name, value in arrays.items():
            if _is_strings(value):
                strings = [str(v) for v in value]
                f.create_dataset(name, data=np.asarray(strings, dtype=object), dtype=STR_DTYPE)
                checksums[name] = _checksum(_crc_strings(strings))
            else:
                arr = np.asarray(value)
                f.create_dataset(name, data=arr, **_dataset_kwargs(name, arr))
                checksums[name] = _checksum(_crc_array(arr))
        for key, value in (attrs or {}).items():
            f.attrs[key] = value if isinstance(value, (int, float, str, np.number)) else json.dumps(value)
        f.attrs["n_rows"] = n_rows
        f.attrs["checksums"] = json.dumps(checksums, sort_keys=True)


def seal_shard(f: h5py.File) -> None:
    """`n_rows` and `checksums` attrs for a shard written dataset by dataset (streamed writers);
    call it last, before the file is closed. `write_shard` does this itself."""
    lengths = {name: len(f[name]) for name in f if f[name].ndim > 0}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{f.filename}: datasets have different row counts {lengths}: a shard holds one row per face")
    f.attrs["n_rows"] = next(iter(lengths.values()), 0)
    f.attrs["checksums"] = json.dumps({name: _checksum(_stream_crc(f, name)) for name in f}, sort_keys=True)


def _stream_crc(f: h5py.File, name: str) -> int:
    ds = f[name]
    if ds.dtype.kind == "O":
        return _crc_strings(read_strings(f, name))
    if ds.ndim == 0:
        return _crc_array(ds[()])
    crc = 0
    for start in range(0, len(ds), VERIFY_BLOCK_ROWS):
        crc = _crc_array(ds[start:start + VERIFY_BLOCK_ROWS], crc)
    return crc


def read_strings(f: h5py.File, name: str) -> list[str]:
    return [s.decode() if isinstance(s, bytes) else str(s) for s in f[name][()]]


def read_shard(path: str | os.PathLike, names: list[str] | None = None) -> dict[str, np.ndarray | list[str]]:
    """Read whole datasets of a shard into memory (strings as list[str]), verified (see module doc)."""
    out: dict = {}
    with open_shard(path, verify=False) as f:
        try:
            for name in names or list(f.keys()):
                if name not in f:
                    raise KeyError(f"{path} has no dataset {name!r} (it has {sorted(f.keys())})")
                out[name] = read_strings(f, name) if f[name].dtype.kind == "O" else f[name][()]
        except OSError as exc:
            raise ShardError(path, f"reading failed ({exc})") from None
        _verify(f, path, out)
    return out


def read_attrs(path: str | os.PathLike) -> dict:
    with open_shard(path) as f:
        return {k: _decode_attr(v) for k, v in f.attrs.items()}


_VERIFIED: set[tuple] = set()  # (path, inode, size, mtime) of shards checksummed in this process
_WARNED: set[str] = set()


def _identity(path: str | os.PathLike) -> tuple:
    st = os.stat(path)
    return (os.path.realpath(path), st.st_ino, st.st_size, st.st_mtime_ns)


def open_shard(path: str | os.PathLike, verify: bool = True) -> h5py.File:
    """h5py.File(path, "r") after the integrity checks: n_rows and the datasets at once, the
    checksums when `verify` (once per process and file version). Use as a context manager."""
    try:
        f = h5py.File(path, "r")
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ShardError(path, f"HDF5 cannot open it ({exc})") from None
    try:
        if _structure_ok(f, path) and verify:
            _verify(f, path, {})
    except BaseException:
        f.close()
        raise
    return f


def _stored(f: h5py.File) -> tuple[int, dict] | None:
    n_rows, checksums = f.attrs.get("n_rows"), f.attrs.get("checksums")
    if n_rows is None or checksums is None:
        return None
    return int(n_rows), json.loads(checksums.decode() if isinstance(checksums, bytes) else checksums)


def _structure_ok(f: h5py.File, path) -> bool:
    """Row counts and dataset names against the attrs; False for a shard without them (warned once)."""
    stored = _stored(f)
    if stored is None:
        if str(path) not in _WARNED:
            _WARNED.add(str(path))
            warnings.warn(f"{path} has no n_rows/checksums attrs (written by an older robustface): read unverified. "
                          "Delete it and rerun snakemake to rebuild it with them.", stacklevel=3)
        return False
    n_rows, checksums = stored
    names = set(f.keys())
    if names != set(checksums):
        raise ShardError(path, f"datasets {sorted(names)} differ from those written {sorted(checksums)}")
    short = {name: len(f[name]) for name in names if f[name].ndim > 0 and len(f[name]) != n_rows}
    if short:
        raise ShardError(path, f"row counts {short} differ from n_rows={n_rows}")
    return True


def _verify(f: h5py.File, path, have: Mapping[str, np.ndarray | list[str]]) -> None:
    """Checksums of every dataset: those in `have` from memory, the others read in blocks."""
    stored = _stored(f)
    if stored is None:
        return
    key = _identity(path)
    if key in _VERIFIED:
        return
    _, checksums = stored
    try:
        for name, expected in checksums.items():
            if name in have:
                value = have[name]
                crc = _crc_strings(value) if isinstance(value, list) else _crc_array(np.asarray(value))
            else:
                crc = _stream_crc(f, name)
            if _checksum(crc) != expected:
                raise ShardError(path, f"dataset {name!r} does not match its checksum ({_checksum(crc)}, written {expected})")
    except (OSError, KeyError) as exc:
        if isinstance(exc, ShardError):
            raise
        raise ShardError(path, f"reading failed while verifying ({exc})") from None
    _VERIFIED.add(key)


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
            with open_shard(p) as f:
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
            try:
                self._files[shard] = h5py.File(self.paths[shard], "r")  # verified when this object was made
            except OSError as exc:
                raise ShardError(self.paths[shard], f"HDF5 cannot open it ({exc})") from None
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


class ShardIndex:
    """image_id -> (shard, row) over a set of shards; reads images by id, grouped per shard.

    The one lookup of faces by id (verification sets, SR metrics' HR side, grids). An id present in
    several shards resolves to its first occurrence. `person` is filled when the shards have it.
    """

    def __init__(self, paths: Iterable[str | os.PathLike], dataset: str = "images"):
        self.paths = [str(p) for p in paths]
        self.dataset = dataset
        self.where: dict[str, tuple[int, int]] = {}
        self.person: dict[str, str] = {}
        self.image_size: int | None = None
        for shard, path in enumerate(self.paths):
            with open_shard(path) as f:
                if "image_id" not in f:
                    raise ShardError(path, "no `image_id` dataset (see docs/data_formats.md)")
                ids = read_strings(f, "image_id")
                persons = read_strings(f, "person") if "person" in f else [""] * len(ids)
                size = int(f[dataset].shape[1]) if f[dataset].ndim > 1 else None
            if len(ids) and size is not None:
                if self.image_size not in (None, size):
                    raise ShardError(path, f"images are {size}px but earlier shards of the set hold {self.image_size}px")
                self.image_size = size
            for row, (image_id, person) in enumerate(zip(ids, persons)):
                if image_id not in self.where:
                    self.where[image_id] = (shard, row)
                    self.person[image_id] = person

    def __contains__(self, image_id: str) -> bool:
        return image_id in self.where

    def __len__(self) -> int:
        return len(self.where)

    def images(self, image_ids: Iterable[str]) -> np.ndarray:
        """The rows of `image_ids`, in that order; KeyError names ids the shards lack."""
        image_ids = list(image_ids)
        missing = [i for i in image_ids if i not in self.where]
        if missing:
            raise KeyError(f"{len(missing)} faces not in the shards (e.g. {missing[:3]})")
        if not image_ids:
            return np.zeros((0,), dtype=np.uint8)
        by_shard: dict[int, list[tuple[int, int]]] = {}
        for position, image_id in enumerate(image_ids):
            shard, row = self.where[image_id]
            by_shard.setdefault(shard, []).append((row, position))
        out = None
        for shard, rows in by_shard.items():
            rows.sort()  # h5py fancy indexing needs increasing rows
            unique_rows = sorted({r for r, _ in rows})
            with open_shard(self.paths[shard]) as f:
                block = f[self.dataset][unique_rows]
            if out is None:
                out = np.empty((len(image_ids), *block.shape[1:]), dtype=block.dtype)
            at = {r: k for k, r in enumerate(unique_rows)}
            out[[p for _, p in rows]] = block[[at[r] for r, _ in rows]]
        return out

    def image(self, image_id: str) -> np.ndarray:
        return self.images([image_id])[0]
