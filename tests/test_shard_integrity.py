"""Shard integrity (issue #9, part 6): row count + checksums in every shard, checked on open; a damaged
shard is an error naming the file and the remedy, never a raw h5py error."""
from __future__ import annotations

import re
import shutil

import h5py
import numpy as np
import pytest

from conftest import REPO
from robustface import h5io
from robustface.degrade import main as degrade_main
from robustface.h5io import LazyShards, ShardError, ShardIndex, open_shard, read_attrs, read_shard, seal_shard, write_shard

REMEDY = "delete it and rerun snakemake"


def _shard(path, n=200, size=16):
    rng = np.random.default_rng(0)
    write_shard(path, {"images": rng.integers(0, 255, (n, size, size, 3), dtype=np.uint8),
                       "image_id": [f"P_{k:04d}" for k in range(n)], "person": ["P"] * n, "split": ["train"] * n,
                       "yaw": np.linspace(-5, 5, n, dtype=np.float32)}, {"hr_size": size})
    return path


def test_every_shard_records_rows_and_checksums(tmp_path):
    attrs = read_attrs(_shard(tmp_path / "s.h5"))
    assert attrs["n_rows"] == 200 and attrs["hr_size"] == 16
    assert set(attrs["checksums"]) == {"images", "image_id", "person", "split", "yaw"}
    assert all(re.fullmatch(r"crc32:[0-9a-f]{8}", v) for v in attrs["checksums"].values())
    # a stage's output (degrade) carries them too, and they are what a streamed writer records
    degrade_main(["--hr", str(tmp_path / "s.h5"), "--res", "8", "--out", str(tmp_path / "lr.h5")])
    lr = read_attrs(tmp_path / "lr.h5")
    assert lr["n_rows"] == 200 and set(lr["checksums"]) == {"images", "image_id", "person", "split"}
    shutil.copy(tmp_path / "s.h5", tmp_path / "resealed.h5")
    with h5py.File(tmp_path / "resealed.h5", "a") as f:
        del f.attrs["checksums"]
        seal_shard(f)
    assert read_attrs(tmp_path / "resealed.h5")["checksums"] == attrs["checksums"]
    write_shard(tmp_path / "empty.h5", {"images": np.zeros((0, 16, 16, 3), np.uint8), "image_id": []})
    assert read_attrs(tmp_path / "empty.h5")["n_rows"] == 0 and read_shard(tmp_path / "empty.h5")["image_id"] == []


def test_write_refuses_rows_that_disagree(tmp_path):
    with pytest.raises(ValueError, match="different row counts"):
        write_shard(tmp_path / "x.h5", {"images": np.zeros((3, 4, 4, 3), np.uint8), "image_id": ["a", "b"]})
    with pytest.raises(ValueError, match="n_rows=5"):
        write_shard(tmp_path / "x.h5", {"image_id": ["a", "b"]}, {"n_rows": 5})
    assert not (tmp_path / "x.h5").exists()


def _assert_names_shard_and_remedy(err, path):
    assert str(path) in str(err.value) and REMEDY in str(err.value)


def test_a_truncated_shard_names_itself_and_the_remedy(tmp_path):
    path = _shard(tmp_path / "shard-0000.h5")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # an interrupted copy / full disk
    for read in (read_shard, read_attrs, lambda p: LazyShards([p]), lambda p: open_shard(p).close()):
        with pytest.raises(ShardError) as err:
            read(path)
        _assert_names_shard_and_remedy(err, path)
    # a stage reading it (degrade) fails with the same message, not a raw h5py error
    with pytest.raises(ShardError, match="shard-0000.h5.*delete it and rerun snakemake"):
        degrade_main(["--hr", str(path), "--res", "8", "--out", str(tmp_path / "lr.h5")])


def test_flipped_bytes_inside_the_images_fail_the_checksum(tmp_path):
    path = _shard(tmp_path / "shard-0001.h5")
    with h5py.File(path, "r") as f:
        offset = f["images"].id.get_chunk_info(1).byte_offset  # the second chunk of images
    data = bytearray(path.read_bytes())
    data[offset + 100] ^= 0xFF
    path.write_bytes(bytes(data))  # same size: HDF5 opens it without complaint
    with h5py.File(path, "r") as f:
        assert f["images"].shape == (200, 16, 16, 3)
    with pytest.raises(ShardError, match="'images' does not match its checksum") as err:
        read_shard(path)
    _assert_names_shard_and_remedy(err, path)
    with pytest.raises(ShardError, match="checksum"):  # also when only other datasets are asked for
        read_shard(path, ["image_id"])
    with pytest.raises(ShardError, match="checksum"):
        LazyShards([path])


def test_rows_or_datasets_that_differ_from_the_attrs_are_errors(tmp_path):
    path = _shard(tmp_path / "a.h5")
    with h5py.File(path, "a") as f:
        f.attrs["n_rows"] = 150
    with pytest.raises(ShardError, match=r"row counts .* differ from n_rows=150"):
        open_shard(path, verify=False)
    path = _shard(tmp_path / "b.h5")
    with h5py.File(path, "a") as f:
        del f["yaw"]
    with pytest.raises(ShardError, match="differ from those written"):
        read_shard(path, ["images"])


def test_a_shard_without_the_attrs_is_read_with_a_warning(tmp_path):
    old = tmp_path / "old.h5"
    with h5py.File(old, "w") as f:  # as robustface wrote shards before
        f.create_dataset("images", data=np.zeros((2, 4, 4, 3), np.uint8))
        f.create_dataset("image_id", data=np.asarray(["a", "b"], dtype=object), dtype=h5io.STR_DTYPE)
    with pytest.warns(UserWarning, match="no n_rows/checksums attrs.*read unverified"):
        data = read_shard(old)
    assert data["image_id"] == ["a", "b"] and len(LazyShards([old])) == 2


def test_a_shard_is_checksummed_once_per_version(tmp_path, monkeypatch):
    path = _shard(tmp_path / "s.h5")
    real, streamed = h5io._stream_crc, []
    monkeypatch.setattr(h5io, "_stream_crc", lambda f, name: streamed.append(name) or real(f, name))
    read_shard(path, ["image_id"])  # what was read is checked from memory, the rest read in blocks
    assert sorted(streamed) == ["images", "person", "split", "yaw"]
    streamed.clear()
    read_shard(path), read_attrs(path), open_shard(path).close(), LazyShards([path])
    assert streamed == []  # once per process
    _shard(path)  # rebuilt (new file): checked again
    read_attrs(path)
    assert "images" in streamed


def test_every_pipeline_writer_goes_through_h5io():
    """Shards get their attrs only from h5io (write_shard, or seal_shard for a streamed writer)."""
    offenders = []
    for path in (REPO / "src" / "robustface").rglob("*.py"):
        text = path.read_text()
        for match in re.finditer(r'h5py\.File\([^)]*"[wa]"\)', text):
            if path.name != "h5io.py" and "seal_shard(" not in text:
                offenders.append(f"{path.relative_to(REPO)}: {match.group(0)}")
    assert offenders == []


def test_shard_index_reads_faces_by_id_in_the_asked_order_across_shards(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    ids = [f"p_{k:04d}" for k in range(5)]
    write_shard(tmp_path / "a.h5", {"images": images[:3], "image_id": ids[:3], "person": ["p"] * 3})
    write_shard(tmp_path / "b.h5", {"images": images[3:], "image_id": ids[3:], "person": ["q"] * 2})
    index = ShardIndex([tmp_path / "a.h5", tmp_path / "b.h5"])
    assert len(index) == 5 and index.where["p_0004"] == (1, 1) and index.person["p_0003"] == "q"
    order = ["p_0004", "p_0000", "p_0002", "p_0000"]  # mixed shards, unsorted rows, a repeat
    np.testing.assert_array_equal(index.images(order), images[[4, 0, 2, 0]])
    np.testing.assert_array_equal(index.image("p_0001"), images[1])
    assert index.image_size == 8
    with pytest.raises(KeyError, match="1 faces not in the shards"):
        index.images(["p_0000", "nobody_0001"])
    write_shard(tmp_path / "c.h5", {"images": images[:1, :4, :4], "image_id": ["r_0001"]})
    with pytest.raises(ShardError, match="images are 4px"):
        ShardIndex([tmp_path / "a.h5", tmp_path / "c.h5"])
