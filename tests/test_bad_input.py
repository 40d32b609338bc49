"""Bad input becomes a named reject (or is made right), never a crash or silent loss (issue #9, part 3)."""
from __future__ import annotations

import csv
import os
import struct
import zlib
from io import BytesIO

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from robustface.align.detect import fit_budget
from robustface.align.pipeline import FaceAligner, Reject, load_rgb
from robustface.align.stage import align_rows
from robustface.ingest import main as ingest_main
from robustface.metrics import aggregate
from robustface.rejects import main as merge_main

ORIENTATION = 0x0112


def _csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _jpeg(image: np.ndarray, orientation: int | None = None) -> bytes:
    buf = BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[ORIENTATION] = orientation
    Image.fromarray(image).save(buf, format="JPEG", quality=95, exif=exif.tobytes())
    return buf.getvalue()


# --- ingest: every folder entry is a manifest row or a named reject -------------------------------

def test_folder_entries_that_yield_no_image_are_named_rejects(tmp_path):
    root = tmp_path / "data"
    (root / "Ann" / "sub").mkdir(parents=True)
    (root / "Bob").mkdir()
    for name in ("Ann/a.jpg", "Bob/b.jpg", "loose.jpg", "Ann/sub/deep.jpg"):
        (root / name).write_bytes(b"x")
    os.symlink("loop.jpg", root / "Ann" / "loop.jpg")  # points at itself
    os.symlink(root / "nowhere.jpg", root / "Ann" / "dangling.jpg")
    os.symlink(root / "Bob" / "b.jpg", root / "Ann" / "linked.jpg")  # a good link is followed
    os.symlink("Loop", root / "Loop")  # a person "folder" that loops
    (root / ".DS_Store").write_bytes(b"")
    out, rejects = tmp_path / "m.csv", tmp_path / "ingest_rejects.csv"
    ingest_main(["--kind", "folder", "--root", str(root), "--out", str(out), "--rejects", str(rejects)])
    assert [r["image_id"] for r in _csv(out)] == ["Ann/a", "Ann/linked", "Bob/b"]
    got = {r["image_id"]: r["reason"] for r in _csv(rejects)}
    assert got == {"Ann/dangling.jpg": "dangling_symlink", "Ann/loop.jpg": "symlink_loop", "Ann/sub": "nested_folder",
                   "Loop": "symlink_loop", "loose.jpg": "outside_person_folder"}
    assert all(r["detail"] for r in _csv(rejects))


def test_duplicate_stems_keep_one_and_reject_the_others_by_name(tmp_path):
    root = tmp_path / "data"
    for name in ("Ann/a.jpg", "Ann/a.png", "Ann/b.jpg", "Bob/Carl_0001.jpg", "Carl/Carl_0001.jpg"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")
    out, rejects = tmp_path / "m.csv", tmp_path / "r.csv"
    ingest_main(["--kind", "folder", "--root", str(root), "--out", str(out), "--rejects", str(rejects)])
    rows = _csv(out)
    assert [(r["image_id"], os.path.basename(r["path"])) for r in rows] == [
        ("Ann/a", "a.jpg"), ("Ann/b", "b.jpg"), ("Carl_0001", "Carl_0001.jpg")]
    assert rows[2]["person"] == "Bob"  # the first in name order keeps the id
    dup = _csv(rejects)
    assert [(r["image_id"], r["reason"]) for r in dup] == [("Ann/a.png", "duplicate_stem"), ("Carl/Carl_0001.jpg", "duplicate_stem")]
    assert "a.jpg" in dup[0]["detail"]


def test_merge_rejects_carries_the_ingest_rejects(tmp_path):
    ingest = tmp_path / "ingest_rejects.csv"
    ingest.write_text("image_id,path,reason,detail\nloose.jpg,/d/loose.jpg,outside_person_folder,x\n")
    shard = tmp_path / "rejects-0000.csv"
    shard.write_text("image_id,path,reason,detail\nAnn/a,/d/Ann/a.jpg,no_face,y\n")
    merged = tmp_path / "rejects.csv"
    merge_main(["--inputs", str(ingest), str(shard), "--out", str(merged)])
    assert sorted(r["reason"] for r in _csv(merged)) == ["no_face", "outside_person_folder"]


# --- decoding: orientation, size caps -------------------------------------------------------------

@pytest.mark.parametrize("orientation, stored", [(6, lambda a: np.rot90(a, 1)), (8, lambda a: np.rot90(a, -1)),
                                                 (3, lambda a: np.rot90(a, 2))])
def test_exif_orientation_is_applied_before_alignment(tmp_path, aligner, astronaut, orientation, stored):
    """A phone photo stores the sensor's pixels plus an Orientation tag: it must align upright."""
    upright = tmp_path / "upright.jpg"
    upright.write_bytes(_jpeg(astronaut))
    tagged = tmp_path / f"tagged{orientation}.jpg"
    tagged.write_bytes(_jpeg(np.ascontiguousarray(stored(astronaut)), orientation))
    ref, _ = load_rgb(upright)
    got, _ = load_rgb(tagged)
    assert got.shape == ref.shape
    assert np.abs(got.astype(int) - ref).mean() < 3  # JPEG noise only
    if orientation == 3:
        return
    face, face_ref = aligner.align_path(tagged), aligner.align_path(upright)
    assert np.abs(face.landmarks5 - face_ref.landmarks5).max() < 1.5
    assert np.abs(face.image.astype(int) - face_ref.image).mean() < 10  # a sideways crop differs by ~66


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A small valid JPEG whose header (SOF0) claims width x height: huge on paper, tiny on disk."""
    data = bytearray(_jpeg(np.full((64, 64, 3), 120, np.uint8)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_huge_images_are_rejected_from_the_header_before_decoding(tmp_path):
    big = tmp_path / "big.jpg"
    big.write_bytes(_jpeg_claiming(10000, 10000))
    with pytest.raises(Reject) as err:
        load_rgb(big, max_side=1024)  # the default cap: 64 MP
    assert err.value.reason == "image_too_large" and "10000x10000" in err.value.detail
    # without the cap the decoder believes the header (grey fill past the data, at 1/8 scale)
    assert load_rgb(big, max_side=1024, max_pixels=0)[0].shape == (1250, 1250, 3)
    # a decompression bomb beyond PIL's own limit (no cap of ours): named, not processing_error
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_claiming(30000, 30000))
    rows = [{"image_id": "P/bomb", "person": "P", "split": "train", "path": str(bomb)}]
    with FaceAligner(detectors=["dlib_hog"], max_decode_px=1024, max_image_px=0) as aligner:
        _, rejects = align_rows(rows, aligner, progress=False)
    assert rejects[0]["reason"] == "image_too_large" and "decompression bomb" in rejects[0]["detail"]


def test_running_out_of_memory_on_one_image_is_a_named_reject(tmp_path, monkeypatch):
    path = tmp_path / "a.png"
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(path)
    with FaceAligner(detectors=["dlib_hog"]) as aligner:
        def exhausted(_):
            raise MemoryError
        monkeypatch.setattr(aligner, "align_path", exhausted)
        _, rejects = align_rows([{"image_id": "P/a", "person": "P", "split": "train", "path": str(path)}], aligner, progress=False)
    assert [r["reason"] for r in rejects] == ["image_too_large"] and "out of memory" in rejects[0]["detail"]


def test_large_non_jpeg_is_reduced_and_detectors_stay_in_budget(tmp_path, astronaut):
    big = np.asarray(Image.fromarray(astronaut).resize((2600, 2600)))
    path = tmp_path / "big.png"
    Image.fromarray(big).save(path, compress_level=1)
    rgb, mode = load_rgb(path, max_side=1024)
    assert rgb.shape == (1300, 1300, 3) and mode == "RGB"  # factor 2: longer side in [1024, 2048)
    assert load_rgb(path, max_side=0)[0].shape == (2600, 2600, 3)
    palette = tmp_path / "p.png"
    Image.fromarray(big).convert("P").save(palette, compress_level=1)
    assert load_rgb(palette, max_side=1024)[0].shape == (1300, 1300, 3)
    # the dlib detectors scan at most their pixel budget: fewer doublings first, then a smaller copy
    image, scale, up = fit_budget(rgb, 1, 500_000)
    assert up == 0 and image.shape[0] * image.shape[1] <= 500_000 and scale == pytest.approx(image.shape[1] / 1300)
    small = np.zeros((250, 250, 3), np.uint8)  # an LFW photo is scanned as before
    assert fit_budget(small, 2, 4_000_000)[1:] == (1.0, 2) and fit_budget(small, 1, 500_000)[1:] == (1.0, 1)
    assert fit_budget(np.zeros((600, 600, 3), np.uint8), 2, 4_000_000)[1:] == (1.0, 1)


def test_a_downscaled_detection_maps_back_onto_the_full_image(astronaut):
    from robustface.align.detect import DlibHogDetector

    photo = np.asarray(Image.fromarray(astronaut).resize((1024, 1024)))
    hog = DlibHogDetector(upsample=0)
    full = max(hog.detect(photo), key=lambda d: d.score)
    hog.max_pixels = 512 * 512  # forces a half-size copy
    small = max(hog.detect(photo), key=lambda d: d.score)
    assert np.abs(np.subtract(full.box, small.box)).max() < 0.1 * full.box[2]
    assert full.box[2] > 150  # the face of the 1024 px photo, in full-size pixels


# --- landmarks vs detector --------------------------------------------------------------------------

def test_a_sideways_face_is_a_named_reject_not_a_sideways_crop(tmp_path, astronaut):
    """No EXIF tag: the photo itself lies sideways. The 68-point predictor fits an upright face on it
    (every box check passes); BlazeFace's eye keypoints show where the eyes really are."""
    paths = []
    for k, image in enumerate([astronaut, np.rot90(astronaut, 1), np.rot90(astronaut, -1)]):
        paths.append(tmp_path / f"{k}.png")
        Image.fromarray(np.ascontiguousarray(image)).save(paths[-1])
    rows = [{"image_id": f"P/{k}", "person": "P", "split": "train", "path": str(p)} for k, p in enumerate(paths)]
    with FaceAligner(detectors=["blazeface"]) as aligner:
        arrays, rejects = align_rows(rows, aligner, progress=False, median_box_min=0)
    assert arrays["image_id"] == ["P/0"]
    assert [r["reason"] for r in rejects] == ["landmarks_disagree_with_detector"] * 2
    assert "deg apart" in rejects[0]["detail"]


class _BoxOnly:
    """Finds faces like BlazeFace but reports boxes only, as dlib's detectors do."""

    name = "box_only"

    def __init__(self):
        from robustface.align.detect import BlazeFaceDetector

        self.inner = BlazeFaceDetector()

    def detect(self, rgb):
        from robustface.align.boxes import shape_box
        from robustface.align.detect import Detection

        return [Detection(shape_box("blazeface", d), d.score) for d in self.inner.detect(rgb)]

    def close(self):
        self.inner.close()


def test_a_later_detector_without_keypoints_is_checked_against_earlier_eyes(monkeypatch, astronaut):
    """dlib's MMOD finds a sideways face too and has no keypoints: BlazeFace's eyes, seen earlier in
    the chain on the same face, still veto the upright fit."""
    from robustface.align import detect

    monkeypatch.setitem(detect.DETECTORS, "box_only", _BoxOnly)
    sideways = np.ascontiguousarray(np.rot90(astronaut))
    with FaceAligner(detectors=["box_only"]) as alone:
        assert alone.align_image(sideways).detector == "box_only"  # no eyes to compare: the sideways fit passes
    with FaceAligner(detectors=["blazeface", "box_only"]) as chain:
        with pytest.raises(Reject) as err:
            chain.align_image(sideways)
        assert err.value.reason == "landmarks_disagree_with_detector"
        assert "blazeface: landmarks_disagree" in err.value.detail and "box_only: landmarks_disagree" in err.value.detail
        assert chain.align_image(astronaut).detector == "blazeface"


# --- sr_metrics.csv says which dataset and how many inputs were rejected ----------------------------

def test_sr_metrics_carry_dataset_and_rejected_count(tmp_path):
    per_face = tmp_path / "pf.csv"
    pd.DataFrame([{"image_id": "A_0", "person": "A", "model": "bicubic", "variant": "clean", "res": 16, "kernel": "k",
                   "hr_size": 112, "psnr_y": 25.0, "ssim_y": 0.8, "psnr_rgb": 24.0, "lpips": 0.1, "id_cos": 0.5,
                   "recognizer": "sface", "notes": ""}]).to_csv(per_face, index=False)
    rejects = tmp_path / "rejects.csv"
    rejects.write_text("image_id,path,reason,detail\na,/a,no_face,\nb,/b,outside_person_folder,x\n")
    out = tmp_path / "sr_metrics.csv"
    aggregate.main(["--inputs", str(per_face), "--out", str(out), "--dataset", "lfw", "--rejects", str(rejects),
                    "--missing-json", '[{"model": "gfpgan", "reason": "missing weights"}]'])
    table = pd.read_csv(out)
    assert list(table.columns) == aggregate.OUT_COLUMNS
    assert list(table.dataset) == ["lfw", "lfw"] and list(table.n_rejected) == [2, 2]
