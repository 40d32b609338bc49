"""ingest (manifest, identity-disjoint splits), degrade (kernels), HDF5 shard I/O."""
from __future__ import annotations

import csv
import pickle

import numpy as np
import pytest

from conftest import LFW_ROOT, requires_lfw
from robustface.degrade import main as degrade_main
from robustface.degrade import resize_batch
from robustface.h5io import LazyShards, read_attrs, read_shard, write_shard
from robustface.ingest import main as ingest_main
from robustface.metrics.image_quality import psnr_rgb as psnr


def _read_manifest(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@requires_lfw
def test_lfw_manifest_is_identity_disjoint_and_complete(tmp_path):
    out = tmp_path / "manifest.csv"
    ingest_main(["--kind", "lfw", "--root", str(LFW_ROOT), "--people", str(LFW_ROOT / "peopleDevTrain.txt"),
                 "--out", str(out), "--n-shards", "4"])
    rows = _read_manifest(out)
    assert len(rows) == 9525  # every image of DevTrain
    split_of: dict[str, set] = {}
    for r in rows:
        split_of.setdefault(r["person"], set()).add(r["split"])
    assert all(len(s) == 1 for s in split_of.values()), "a person appears in two splits"
    counts = {s: sum(r["split"] == s for r in rows) for s in ("train", "val", "test")}
    assert counts["train"] > 6 * counts["val"] > 0
    assert {r["shard"] for r in rows} == {"0", "1", "2", "3"}
    assert rows[0]["image_id"] == "AJ_Cook_0001"


def test_folder_manifest_lists_every_file_and_max_images(tmp_path):
    for person, names in {"Ann": ["a.jpg", "b.png", "readme.txt"], "Bob": ["x.jpg"]}.items():
        (tmp_path / "data" / person).mkdir(parents=True)
        for n in names:
            (tmp_path / "data" / person / n).write_bytes(b"x")
    out = tmp_path / "m.csv"
    ingest_main(["--kind", "folder", "--root", str(tmp_path / "data"), "--out", str(out)])
    rows = _read_manifest(out)
    # the text file is listed: detect_align turns it into a named reject instead of losing it
    assert [r["image_id"] for r in rows] == ["Ann/a", "Ann/b", "Ann/readme", "Bob/x"]
    ingest_main(["--kind", "folder", "--root", str(tmp_path / "data"), "--out", str(out), "--max-images", "2"])
    assert len(_read_manifest(out)) == 2
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ingest_main(["--kind", "folder", "--root", str(tmp_path / "nope"), "--out", str(out)])


def test_kernels_differ_and_are_recorded(tmp_path, astronaut):
    from PIL import Image

    hr = np.stack([np.asarray(Image.fromarray(astronaut[30:230, 130:330]).resize((112, 112)))] * 3)
    pil = resize_batch(hr, 16, "pil_bicubic")
    cv = resize_batch(hr, 16, "cv2_cubic")
    assert pil.shape == cv.shape == (3, 16, 16, 3)
    assert np.abs(pil.astype(int) - cv.astype(int)).mean() > 1  # antialiasing changes the LR image
    src = tmp_path / "hr.h5"
    write_shard(src, {"images": hr, "image_id": ["a", "b", "c"], "person": ["p", "p", "q"], "split": ["train"] * 3},
                {"hr_size": 112})
    out = tmp_path / "lr.h5"
    degrade_main(["--hr", str(src), "--res", "16", "--kernel", "cv2_cubic", "--out", str(out)])
    attrs = read_attrs(out)
    assert attrs["kernel"] == "cv2_cubic" and attrs["res"] == 16 and attrs["hr_size"] == 112
    np.testing.assert_array_equal(read_shard(out)["images"], cv)
    assert read_shard(out)["image_id"] == ["a", "b", "c"]
    # bicubic back-projection of the antialiased LR is closer to HR than nearest upsampling
    up = np.stack([np.asarray(Image.fromarray(x).resize((112, 112), Image.Resampling.BICUBIC)) for x in pil])
    near = np.stack([np.asarray(Image.fromarray(x).resize((112, 112), Image.Resampling.NEAREST)) for x in pil])
    assert psnr(up, hr).mean() > psnr(near, hr).mean()


def test_degrade_refuses_upscaling(tmp_path):
    src = tmp_path / "hr.h5"
    write_shard(src, {"images": np.zeros((1, 112, 112, 3), np.uint8), "image_id": ["a"], "person": ["p"], "split": ["x"]},
                {"hr_size": 112})
    with pytest.raises(SystemExit, match="below the HR size"):
        degrade_main(["--hr", str(src), "--res", "128", "--out", str(tmp_path / "o.h5")])


def test_shards_are_atomic_lazy_and_picklable(tmp_path):
    paths = []
    for k in range(3):
        imgs = np.full((5 + k, 8, 8, 3), k, np.uint8)
        paths.append(tmp_path / f"s{k}.h5")
        write_shard(paths[-1], {"images": imgs, "image_id": [f"{k}_{i}" for i in range(len(imgs))]}, {"k": k})
    lazy = LazyShards(paths)
    assert len(lazy) == 18
    assert lazy.get(0)[0, 0, 0] == 0 and lazy.get(5)[0, 0, 0] == 1 and lazy.get(17)[0, 0, 0] == 2
    clone = pickle.loads(pickle.dumps(lazy))  # what a DataLoader worker receives
    assert clone.get(10, "image_id").decode() == "1_5" and clone.get(11, "image_id").decode() == "2_0"
    assert read_attrs(paths[1])["k"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s0.h5", "s1.h5", "s2.h5"]
