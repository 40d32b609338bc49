"""Detector chain, box convention, crop-quality check, median-box fallback, alignment benchmark."""
from __future__ import annotations

import numpy as np
import pytest
import yaml
from PIL import Image

from conftest import REPO
from robustface.align import detect
from robustface.align.boxes import from_blazeface_keypoints, median_box, shape_box
from robustface.align.detect import Detection, choose_face
from robustface.align.pipeline import FaceAligner, Reject, load_rgb
from robustface.align.quality import QualityLimits, measure, problem
from robustface.align.stage import align_rows


def test_choice_prefers_the_central_face_over_the_largest():
    central = Detection((200, 200, 100, 100), 0.9)  # image centre (250, 250)
    larger = Detection((0, 0, 180, 180), 0.9)
    tiny_centre = Detection((240, 240, 20, 20), 0.9)
    kept, note = choose_face([larger, central], (500, 500))
    assert kept is central and "2 faces" in note
    # a background face much smaller than the largest is not a candidate, however central
    kept, _ = choose_face([larger, tiny_centre], (500, 500))
    assert kept is larger
    assert choose_face([larger], (500, 500)) == (larger, "")


def test_blazeface_keypoints_give_a_square_box_around_eyes_and_mouth():
    # eyes at y=100, mouth at y=140: the HOG-convention box spans brows to chin
    kp = np.array([[80, 100], [120, 100], [100, 120], [100, 140], [60, 105], [140, 105]], float)
    x, y, w, h = from_blazeface_keypoints(kp)
    assert w == pytest.approx(h)
    assert y < 100 < 140 < y + h and x < 80 and 120 < x + w
    assert 1.7 < w / 40 < 3.0  # about 2.2 eye-mouth distances
    # a detection without keypoints is shifted up, same size
    det = Detection((50, 50, 100, 100), 0.9)
    bx, by, bw, _ = shape_box("blazeface", det)
    assert by < 50 and bw == pytest.approx(100)
    assert shape_box("dlib_hog", det) == det.box


def test_converted_blazeface_box_lands_on_the_hog_box_of_a_real_face(astronaut):
    blaze = detect.make_detector("blazeface")
    try:
        b, _ = choose_face(blaze.detect(astronaut), astronaut.shape)
    finally:
        blaze.close()
    h, _ = choose_face(detect.make_detector("dlib_hog").detect(astronaut), astronaut.shape)
    converted = Detection(shape_box("blazeface", b), 1.0)
    err_converted = np.linalg.norm(converted.centre - h.centre) / h.side
    assert err_converted < 0.08
    assert 0.85 < converted.side / h.side < 1.15


def _landmarks_and_box(aligner, rgb):
    face = aligner.align_image(rgb)
    return aligner.landmarker.predict(rgb, face.box), face.box


def test_quality_check_passes_a_real_face_and_names_implausible_ones(aligner, astronaut):
    lm, box = _landmarks_and_box(aligner, astronaut)
    limits = QualityLimits()
    assert problem(measure(lm, box), limits) is None
    x, y, w, h = box
    assert problem(measure(lm, (x - w, y - h, 3 * w, 3 * h)), limits)[0] == "implausible_eye_distance"
    collapsed = lm.mean(0) + (lm - lm.mean(0)) * 0.4
    shrunk_eyes_kept = collapsed.copy()
    shrunk_eyes_kept[36:48] = lm[36:48]
    assert problem(measure(shrunk_eyes_kept, box), limits)[0] == "implausible_landmark_spread"
    assert problem(measure(lm + [0.45 * w, 0], (x, y, w, h)), limits)[0] == "landmarks_off_box"
    c = lm.mean(0)
    t = np.radians(70)
    rotated = (lm - c) @ np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]]) + c
    assert problem(measure(rotated, box), limits)[0] == "excessive_roll"


class _WrongPlace:
    """A detector that fires on a blank corner: its 'face' must fail the quality check."""

    name = "wrong_place"

    def detect(self, rgb):
        return [Detection((0.0, 0.0, 60.0, 60.0), 1.0)]

    def close(self):
        pass


class _Nothing(_WrongPlace):
    name = "nothing"

    def detect(self, rgb):
        return []


class _BlindOnMarked:
    """BlazeFace, except that it finds nothing where the top-left pixel is marked (1, 2, 3)."""

    name = "blind_on_marked"

    def __init__(self):
        self.inner = detect.BlazeFaceDetector()

    def detect(self, rgb):
        return [] if tuple(rgb[0, 0]) == (1, 2, 3) else self.inner.detect(rgb)

    def close(self):
        self.inner.close()


@pytest.fixture
def fake_detectors(monkeypatch):
    monkeypatch.setitem(detect.DETECTORS, "wrong_place", _WrongPlace)
    monkeypatch.setitem(detect.DETECTORS, "nothing", _Nothing)
    monkeypatch.setitem(detect.DETECTORS, "blind_on_marked", _BlindOnMarked)


def test_chain_retries_the_next_detector_and_records_which_one(fake_detectors, astronaut):
    canvas = np.full((800, 800, 3), 255, np.uint8)
    canvas[200:712, 200:712] = astronaut
    with FaceAligner(detectors=["nothing", "wrong_place", "blazeface"]) as chain:
        face = chain.align_image(canvas)
    assert face.detector == "blazeface"
    assert any("nothing: no_face" in n and "wrong_place: featureless_box" in n for n in face.notes), face.notes
    with FaceAligner(detectors=["blazeface"]) as single:
        alone = single.align_image(canvas)
    np.testing.assert_allclose(face.landmarks, alone.landmarks, atol=1e-3)


def test_chain_rejects_with_the_reason_of_a_found_face(fake_detectors, astronaut):
    with FaceAligner(detectors=["nothing", "wrong_place"]) as chain:
        with pytest.raises(Reject) as err:
            chain.align_image(np.full((300, 300, 3), 255, np.uint8))
    assert err.value.chain and err.value.reason == "featureless_box"
    assert "nothing: no_face" in err.value.detail and "wrong_place:" in err.value.detail
    with FaceAligner(detectors=["nothing"]) as chain:
        with pytest.raises(Reject) as err:
            chain.align_image(astronaut)
    assert err.value.reason == "no_face"
    with pytest.raises(ValueError, match="unknown detector"):
        FaceAligner(detectors=["blazeface", "haar"])


def test_median_box_of_same_size_images_rescues_an_undetected_face(fake_detectors, astronaut, tmp_path):
    rows = []
    for k, shift in enumerate([0, 3, -3, 5]):
        image = np.roll(astronaut, shift, axis=1).copy()
        if k == 3:
            image[0, 0] = (1, 2, 3)
        path = tmp_path / f"face_{k}.png"
        Image.fromarray(image).save(path)
        rows.append({"image_id": f"P_{k:04d}", "person": "P", "split": "train", "path": str(path)})
    with FaceAligner(detectors=["blind_on_marked"]) as aligner:
        _, rejects = align_rows(rows, aligner, progress=False, median_box_min=0)
        assert [(r["image_id"], r["reason"]) for r in rejects] == [("P_0003", "no_face")]
        arrays, rejects = align_rows(rows, aligner, progress=False, median_box_min=3)
        assert rejects == []
        assert arrays["detector"] == ["blind_on_marked"] * 3 + ["median_box"]
        assert "median box of 3 same-size images" in arrays["notes"][3]
        # the rescued face sits on the template like its detected neighbours
        assert np.abs(arrays["landmarks5"][3] - arrays["landmarks5"][:3].mean(0)).max() < 3
        # too few same-size images: no guess
        _, rejects = align_rows(rows, aligner, progress=False, median_box_min=4)
        assert [r["reason"] for r in rejects] == ["no_face"]


def test_median_box_needs_consistent_boxes():
    same_place = [(100 + d, 80 - d, 100, 100) for d in range(-3, 4)]
    box = median_box(same_place)
    assert box == pytest.approx((100, 80, 100, 100))
    scattered = [(0, 0, 100, 100), (300, 300, 100, 100), (0, 300, 100, 100), (300, 0, 100, 100)]
    assert median_box(scattered) is None
    assert median_box([]) is None


def test_large_jpeg_is_decoded_at_reduced_scale(tmp_path, astronaut):
    big = np.asarray(Image.fromarray(astronaut).resize((2048, 2048)))
    path = tmp_path / "big.jpg"
    Image.fromarray(big).save(path, quality=90)
    reduced, _ = load_rgb(path, max_side=1000)
    assert reduced.shape == (1024, 1024, 3)
    full, _ = load_rgb(path, max_side=0)
    assert full.shape == (2048, 2048, 3)
    assert load_rgb(path, max_side=4096)[0].shape == (2048, 2048, 3)


def test_config_align_defaults_agree_with_the_schema():
    config = yaml.safe_load((REPO / "config.yaml").read_text())["align"]
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    props = schema["properties"]["align"]["properties"]
    for key, value in config.items():
        assert props[key]["default"] == value, key
    assert set(config["detectors"]) <= set(props["detectors"]["items"]["enum"]) <= set(detect.DETECTORS)
