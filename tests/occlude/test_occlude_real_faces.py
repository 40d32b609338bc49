"""Geometry on real LFW faces aligned by the project's align stage (skipped without the data)."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from robustface.occlude import Occluder, OcclusionReject
from robustface.occlude.geometry import EYE_LEFT, EYE_RIGHT, MOUTH_OUTER

LFW = Path(__file__).resolve().parents[3] / "shared/data/lfw-devtrain"
N_FACES = 12


@pytest.fixture(scope="module")
def real_faces():
    if not (LFW / "lfw").is_dir():
        pytest.skip(f"LFW sample not found at {LFW}")
    pipeline = pytest.importorskip("robustface.align.pipeline")
    aligner = pipeline.FaceAligner(detector="dlib")
    faces = []
    # Every 40th person: different people, lighting and poses, deterministic.
    for person in sorted((LFW / "lfw").iterdir())[::40]:
        path = sorted(person.glob("*.jpg"))[0]
        try:
            faces.append((path.stem, aligner.align_path(path)))
        except pipeline.Reject:
            continue
        if len(faces) == N_FACES:
            break
    assert len(faces) >= N_FACES // 2, "too few LFW faces aligned"
    return faces


def polygon_alpha(mask, points):
    region = np.zeros(mask.shape, np.uint8)
    cv2.fillPoly(region, [np.round(points).astype(np.int32)], 1)
    return mask[region.astype(bool)] / 255.0


def alpha_at(mask, points):
    pts = np.clip(np.round(points).astype(int), 0, mask.shape[0] - 1)
    return mask[pts[:, 1], pts[:, 0]] / 255.0


def render(occluder, image_id, face):
    try:
        return occluder(face.image, face.landmarks, image_id, yaw=face.yaw)
    except OcclusionReject:
        return None


@pytest.mark.parametrize("otype", ["surgical_mask", "cloth_mask", "n95", "scarf"])
def test_masks_on_real_faces_cover_mouth_leave_eyes(real_faces, otype):
    occluder = Occluder(otype, seed=0)
    rendered = 0
    for image_id, face in real_faces:
        r = render(occluder, image_id, face)
        if r is None:
            continue
        rendered += 1
        assert (alpha_at(r.mask, face.landmarks[MOUTH_OUTER]) > 0.5).mean() >= 0.9, image_id
        for eye in (EYE_LEFT, EYE_RIGHT):
            assert polygon_alpha(r.mask, face.landmarks[eye]).mean() < 0.05, image_id
    assert rendered >= len(real_faces) - 1


def test_sunglasses_hide_eyes_glasses_do_not(real_faces):
    sunglasses, glasses = Occluder("sunglasses", seed=0), Occluder("eyeglasses", seed=0)
    for image_id, face in real_faces:
        s, g = render(sunglasses, image_id, face), render(glasses, image_id, face)
        if s is None:
            continue
        for eye in (EYE_LEFT, EYE_RIGHT):
            assert alpha_at(s.mask, face.landmarks[eye].mean(0, keepdims=True))[0] > 0.8, image_id
            assert polygon_alpha(s.mask, face.landmarks[eye]).mean() > 0.75, image_id
            assert (polygon_alpha(g.mask, face.landmarks[eye]) > 0.5).mean() < 0.25, image_id
