"""detect_align: real faces align onto the ArcFace template; bad inputs become named rejects."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image

from conftest import lfw_files, requires_lfw
from robustface.align.pipeline import Reject, load_rgb
from robustface.align.stage import main as align_main
from robustface.align.template import ARCFACE_112, alignment_matrix, five_from_68, template, transform_points
from robustface.atomic import write_csv
from robustface.h5io import read_attrs, read_shard
from robustface.ingest import MANIFEST_COLUMNS


def test_similarity_transform_recovers_a_known_pose():
    angle, scale, shift = np.radians(17), 2.3, np.array([40.0, -12.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src = (ARCFACE_112 - shift) @ np.linalg.inv(rot).T  # points that map onto the template
    matrix = alignment_matrix(src, 112)
    np.testing.assert_allclose(transform_points(src, matrix), ARCFACE_112, atol=1e-9)
    np.testing.assert_allclose(template(224), ARCFACE_112 * 2)


def test_astronaut_aligns_with_eyes_on_the_template(aligner, astronaut):
    face = aligner.align_image(astronaut)
    assert face.image.shape == (112, 112, 3) and face.image.dtype == np.uint8
    assert face.landmarks.shape == (68, 2)
    # the 5 points derived from the aligned 68 land near the template (least-squares fit residual)
    assert np.abs(face.landmarks5 - ARCFACE_112).max() < 6
    # the mouth is below the eyes and inside the crop
    assert face.landmarks[48:68, 1].min() > face.landmarks[36:48, 1].max()
    inner = face.landmarks[17:68]  # brows, nose, eyes, mouth are inside the crop; the chin may touch its edge
    assert (inner >= 0).all() and (inner < 112).all()
    assert (face.landmarks > -12).all() and (face.landmarks < 124).all()


def test_larger_crop_keeps_the_same_template(aligner, astronaut):
    from robustface.align.pipeline import FaceAligner

    with FaceAligner(hr_size=256) as big:
        face256 = big.align_image(astronaut)
    face112 = aligner.align_image(astronaut)
    assert face256.image.shape == (256, 256, 3)
    np.testing.assert_allclose(face256.landmarks / 256, face112.landmarks / 112, atol=0.01)


def _write(path, image, mode="RGB", fmt="PNG"):
    Image.fromarray(image).convert(mode).save(path, format=fmt)
    return path


def test_bad_inputs_are_named_rejects(tmp_path, aligner, astronaut):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    truncated = tmp_path / "truncated.jpg"
    _write(truncated, astronaut, fmt="JPEG")
    truncated.write_bytes(truncated.read_bytes()[:300])
    tiny = _write(tmp_path / "tiny.png", astronaut[:20, :20])
    no_face = _write(tmp_path / "wall.png", np.full((200, 200, 3), 128, np.uint8))
    expected = {empty: "empty_file", text: "not_an_image", truncated: "unreadable_image",
                tiny: "image_too_small", no_face: "no_face", tmp_path / "gone.jpg": "missing_file"}
    for path, reason in expected.items():
        with pytest.raises(Reject) as err:
            aligner.align_path(path)
        assert err.value.reason == reason, (path.name, err.value)


@pytest.mark.parametrize("mode", ["L", "RGBA", "CMYK", "P", "I;16"])
def test_unusual_colour_modes_are_converted_and_aligned(tmp_path, aligner, astronaut, mode):
    fmt = "TIFF" if mode == "CMYK" else "PNG"
    image = Image.fromarray(astronaut)
    image = image.convert("L").convert("I;16") if mode == "I;16" else image.convert(mode)
    path = tmp_path / f"face.{fmt.lower()}"
    image.save(path, format=fmt)
    rgb, source_mode = load_rgb(path)
    assert rgb.shape == (512, 512, 3) and rgb.dtype == np.uint8
    assert source_mode.startswith(mode[:1])
    face = aligner.align_path(path)
    assert face.image.shape == (112, 112, 3)
    assert any("converted" in n for n in face.notes)


def test_several_faces_keep_the_most_central_and_record_it(aligner, astronaut):
    crop = astronaut[:300, 100:400]
    canvas = np.full((320, 600, 3), 200, np.uint8)
    canvas[10:310, 290:590] = crop  # the larger face, on the right, nearer the centre (x = 300)
    canvas[50:270, 10:230] = np.asarray(Image.fromarray(crop).resize((220, 220)))
    face = aligner.align_image(canvas)
    x, y, w, h = face.box
    assert 290 <= x + w / 2 <= 590
    assert any("2 faces; kept the most central" in n for n in face.notes)
    assert face.detector == "blazeface"


def test_a_central_face_wins_over_a_larger_one_at_the_edge(aligner, astronaut):
    crop = astronaut[:300, 100:400]
    canvas = np.full((320, 1000, 3), 200, np.uint8)
    canvas[10:310, 690:990] = crop  # larger, at the right edge
    canvas[50:270, 390:610] = np.asarray(Image.fromarray(crop).resize((220, 220)))  # smaller, centred
    face = aligner.align_image(canvas)
    x, y, w, h = face.box
    assert 390 <= x + w / 2 <= 610, face.box


@requires_lfw
def test_stage_writes_a_shard_of_real_lfw_faces_and_rejects(tmp_path):
    files = lfw_files(24)
    broken = tmp_path / "Broken_Person" / "Broken_Person_0001.jpg"
    broken.parent.mkdir()
    broken.write_bytes(b"\xff\xd8garbage")
    rows = [{"image_id": f.stem, "person": f.parent.name, "path": str(f), "split": "train", "shard": 0} for f in files]
    rows.append({"image_id": broken.stem, "person": "Broken_Person", "path": str(broken), "split": "train", "shard": 0})
    rows.append({"image_id": "Other_Shard_0001", "person": "Other_Shard", "path": str(files[0]), "split": "train", "shard": 1})
    manifest = tmp_path / "manifest.csv"
    write_csv(manifest, rows, MANIFEST_COLUMNS)
    out, rejects = tmp_path / "shard-0000.h5", tmp_path / "rejects-0000.csv"
    align_main(["--manifest", str(manifest), "--shard", "0", "--out", str(out), "--rejects", str(rejects)])
    shard = read_shard(out)
    with open(rejects) as f:
        rejected = list(csv.DictReader(f))
    # every input row of shard 0 is either aligned or a named reject: nothing silently lost
    assert len(shard["image_id"]) + len(rejected) == len(files) + 1
    assert "Broken_Person_0001" in {r["image_id"] for r in rejected}
    assert "Other_Shard_0001" not in shard["image_id"]
    assert shard["images"].shape[1:] == (112, 112, 3) and shard["landmarks"].shape[1:] == (68, 2)
    # the chain member that produced each face is recorded, with the box the predictor saw
    assert len(shard["detector"]) == len(shard["image_id"]) and set(shard["detector"]) <= {
        "blazeface", "dlib_hog", "dlib_hog_up2", "dlib_mmod", "median_box"}
    assert shard["box"].shape == (len(shard["image_id"]), 4) and (shard["box"][:, 2] > 24).all()
    assert len(shard["image_id"]) >= 22  # LFW photos are frontal portraits
    # eye centres of every aligned face sit within a few pixels of the template
    eyes = shard["landmarks5"][:, :2]
    assert np.median(np.abs(eyes - ARCFACE_112[:2]), axis=0).max() < 3
    attrs = read_attrs(out)
    assert attrs["hr_size"] == 112 and attrs["template"] == "arcface112" and "torch" in attrs["versions"]
    assert attrs["detector"] == "blazeface,dlib_hog,dlib_hog_up2,dlib_mmod"
    assert not list(tmp_path.glob(".*tmp*")), "atomic write left a temporary file"


def test_five_point_order_matches_the_template_order():
    lm = np.zeros((68, 2))
    lm[36:42] = [10, 0]
    lm[42:48] = [20, 0]
    lm[30] = [15, 5]
    lm[48], lm[54] = [11, 10], [19, 10]
    five = five_from_68(lm)
    assert five[0, 0] < five[1, 0] and five[3, 0] < five[4, 0] and five[2, 1] > five[0, 1]
