"""Occluder geometry, determinism and compositing on plausible synthetic faces (mean landmark
shape, rolled / scaled), no data needed."""
import zipfile

import cv2
import numpy as np
import pytest

from robustface.occlude import Occluder, OcclusionReject, composite, face_seed
from robustface.occlude.geometry import EYE_LEFT, EYE_RIGHT, MOUTH_OUTER, face_region, mean_shape
from robustface.occlude.renderers import RENDERERS
from robustface.occlude.textures import extract_insightface_mask_textures

ALL_TYPES = [t for t in RENDERERS if t != "template"]


def face(size=112, roll_deg=0.0, seed=0):
    rng = np.random.default_rng(seed)
    lm = mean_shape(size).astype(np.float64)
    centre = lm[30].copy()
    a = np.radians(roll_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    lm = (lm - centre) @ rot.T + centre
    image = rng.integers(80, 180, size=(size, size, 3), dtype=np.uint8)
    return image, lm.astype(np.float32)


def alpha_at(mask, points):
    pts = np.clip(np.round(points).astype(int), 0, mask.shape[0] - 1)
    return mask[pts[:, 1], pts[:, 0]] / 255.0


def polygon_alpha(mask, points):
    region = np.zeros(mask.shape, np.uint8)
    cv2.fillPoly(region, [np.round(points).astype(np.int32)], 1)
    return mask[region.astype(bool)] / 255.0


@pytest.mark.parametrize("roll", [0.0, 18.0, -18.0])
@pytest.mark.parametrize("otype", ["surgical_mask", "cloth_mask", "n95", "scarf"])
def test_lower_face_occluders_cover_mouth_not_eyes(otype, roll):
    image, lm = face(roll_deg=roll)
    for k in range(5):
        r = Occluder(otype, seed=k)(image, lm, f"img{k}", yaw=0.0)
        assert alpha_at(r.mask, lm[MOUTH_OUTER]).min() > 0.9
        for eye in (EYE_LEFT, EYE_RIGHT):
            assert polygon_alpha(r.mask, lm[eye]).max() < 0.05


@pytest.mark.parametrize("otype", ["surgical_mask", "cloth_mask", "n95"])
def test_masks_sit_on_nose_bridge_and_reach_the_chin(otype):
    image, lm = face()
    r = Occluder(otype)(image, lm, "a", yaw=0.0)
    assert alpha_at(r.mask, lm[[29, 30, 33]]).min() > 0.9  # lower nose bridge and tip covered
    assert alpha_at(r.mask, lm[[27]]).max() < 0.1  # top of the bridge, between the eyes, free
    assert alpha_at(r.mask, lm[[7, 8, 9]]).min() > 0.5  # chin (clipped to the crop's bottom row) covered
    assert alpha_at(r.mask, lm[[3, 13]]).min() > 0.5  # both lower cheeks: it follows the jaw


@pytest.mark.parametrize("roll", [0.0, 20.0, -20.0])
def test_sunglasses_cover_both_eye_centres_not_mouth(roll):
    image, lm = face(roll_deg=roll)
    for k in range(5):
        r = Occluder("sunglasses", seed=k)(image, lm, f"img{k}", yaw=0.0)
        centres = np.stack([lm[EYE_LEFT].mean(0), lm[EYE_RIGHT].mean(0)])
        assert alpha_at(r.mask, centres).min() > 0.8
        for eye in (EYE_LEFT, EYE_RIGHT):
            assert polygon_alpha(r.mask, lm[eye]).mean() > 0.8
        assert alpha_at(r.mask, lm[MOUTH_OUTER]).max() < 0.05


def test_eyeglasses_leave_eyes_visible_with_bridge_on_nose():
    image, lm = face()
    for k in range(5):
        r = Occluder("eyeglasses", seed=k)(image, lm, f"img{k}", yaw=0.0)
        for eye in (EYE_LEFT, EYE_RIGHT):
            a = polygon_alpha(r.mask, lm[eye])
            assert (a > 0.5).mean() < 0.2
            assert a.mean() > 0.03  # but the tinted lens is over the eye
        # The bridge crosses the nose between the eyes: some opaque frame pixel near landmark 27.
        x, y = np.round(lm[27]).astype(int)
        assert r.mask[y - 6:y + 3, x - 1:x + 2].max() > 120  # a 1-px anti-aliased frame
        assert alpha_at(r.mask, lm[MOUTH_OUTER]).max() < 0.05


def test_geometry_scales_with_crop_size():
    fractions = {}
    for size in (112, 256):
        image, lm = face(size=size)
        fractions[size] = [Occluder(t)(image, lm, "x", yaw=0.0).fraction for t in ("surgical_mask", "sunglasses")]
    assert np.allclose(fractions[112], fractions[256], atol=0.02)


@pytest.mark.parametrize("otype", ALL_TYPES)
def test_every_type_is_deterministic_and_seeded_per_image(otype):
    image, lm = face()
    a = Occluder(otype, seed=3)(image, lm, "Person_0001", yaw=5.0)
    b = Occluder(otype, seed=3)(image, lm, "Person_0001", yaw=5.0)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask) and a.fraction == b.fraction
    others = [Occluder(otype, seed=3)(image, lm, f"Person_{k:04d}", yaw=5.0) for k in range(2, 5)]
    assert any(not np.array_equal(a.mask, o.mask) for o in others)
    assert 0.0 < a.fraction <= 1.0
    # Outside the occluder the face is untouched.
    assert np.array_equal(a.image[a.mask == 0], image[a.mask == 0])


def test_face_seed_depends_on_seed_type_and_id_only():
    assert face_seed(0, "scarf", "A_0001") == face_seed(0, "scarf", "A_0001")
    assert len({face_seed(0, "scarf", "A_0001"), face_seed(1, "scarf", "A_0001"),
                face_seed(0, "hand", "A_0001"), face_seed(0, "scarf", "A_0002")}) == 4


def test_alpha_compositing_formula():
    rng = np.random.default_rng(0)
    f = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    obj = rng.random((8, 8, 3)).astype(np.float32)
    a = rng.random((8, 8)).astype(np.float32)
    expected = np.rint(a[..., None] * obj * 255 + (1 - a[..., None]) * f).astype(np.uint8)
    assert np.array_equal(composite(f, obj, a), expected)
    assert np.array_equal(composite(f, obj, np.zeros((8, 8), np.float32)), f)
    assert np.array_equal(composite(f, obj, np.ones((8, 8), np.float32)), np.rint(obj * 255).astype(np.uint8))


def test_transparent_lenses_blend_face_and_tint():
    image, lm = face()
    r = Occluder("eyeglasses", {"lens_opacity": 0.2, "reflection_prob": 0.0})(image, lm, "x", yaw=0.0)
    c = np.round(lm[EYE_LEFT].mean(0)).astype(int)
    assert r.mask[c[1], c[0]] == pytest.approx(0.2 * 255, abs=2)
    # The lens pixel is 80% face, 20% tint.
    tint_part = (r.image[c[1], c[0]].astype(float) - 0.8 * image[c[1], c[0]]) / 0.2
    assert np.all((tint_part > 150) & (tint_part < 260))


def test_occluded_fraction_is_alpha_over_face_region():
    image, lm = face()
    r = Occluder("surgical_mask")(image, lm, "x", yaw=0.0)
    region = face_region(lm, 112)
    assert r.fraction == pytest.approx((r.mask[region] / 255.0).sum() / region.sum(), rel=1e-5)
    assert 0.35 < r.fraction < 0.6  # a surgical mask covers roughly the lower half


def test_rejects_profile_missing_and_implausible_landmarks():
    image, lm = face()
    occ = Occluder("surgical_mask", max_yaw_deg=45)
    with pytest.raises(OcclusionReject, match="profile_face"):
        occ(image, lm, "x", yaw=70.0)
    bad = lm.copy()
    bad[48] = np.nan
    with pytest.raises(OcclusionReject, match="missing_landmarks"):
        occ(image, bad, "x", yaw=0.0)
    flipped = lm.copy()
    flipped[:, 1] = 112 - flipped[:, 1]  # upside down: mouth above the eyes
    with pytest.raises(OcclusionReject, match="implausible_landmarks"):
        occ(image, flipped, "x", yaw=0.0)
    # Without a stored yaw it is estimated from the landmarks: squash one side into a profile.
    profile = lm.copy()
    profile[:, 0] = np.where(profile[:, 0] < lm[30, 0], lm[30, 0] - 0.1 * (lm[30, 0] - profile[:, 0]), profile[:, 0])
    with pytest.raises(OcclusionReject, match="profile_face"):
        occ(image, profile, "x", yaw=None)


def test_bad_parameters_fail_early_with_names():
    with pytest.raises(ValueError, match="unknown parameter"):
        Occluder("sunglasses", {"lens_sise": 1.0})
    with pytest.raises(ValueError, match="unknown occluder kind"):
        Occluder("balaclava", {})
    with pytest.raises(ValueError, match="patterns"):
        Occluder("cloth_mask", {"patterns": ["paisley"]})
    # A type name of one's own choosing with an explicit kind.
    assert Occluder("blue_masks", {"kind": "surgical_mask", "colors": [[0, 0, 255]]}).renderer.name == "surgical_mask"


def test_user_rgba_template_follows_anchors(tmp_path):
    rgba = np.zeros((40, 100, 4), np.uint8)
    rgba[10:30, 5:95] = (255, 0, 0, 255)  # a red band
    path = tmp_path / "band.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    params = {"kind": "template", "path": str(path),
              "anchors": [{"xy": [20, 20], "landmarks": list(range(36, 42))}, {"xy": [80, 20], "landmarks": list(range(42, 48))}],
              "scale_jitter": 0, "rotation_jitter_deg": 0, "shift_jitter": 0}
    image, lm = face(roll_deg=15)
    r = Occluder("eye_band", params)(image, lm, "x", yaw=0.0)
    centres = np.stack([lm[EYE_LEFT].mean(0), lm[EYE_RIGHT].mean(0)])
    assert alpha_at(r.mask, centres).min() > 0.95
    c = np.round(centres[0]).astype(int)
    assert r.image[c[1], c[0], 0] == 255 and r.image[c[1], c[0], 2] == 0
    assert alpha_at(r.mask, lm[MOUTH_OUTER]).max() == 0


def test_extract_insightface_textures_from_wheel(tmp_path):
    wheel = tmp_path / "insightface-2.1-py3-none-any.whl"
    ok, jpg = cv2.imencode(".jpg", np.full((8, 8, 3), 200, np.uint8))
    with zipfile.ZipFile(wheel, "w") as z:
        for c in ("black", "blue", "green", "white"):
            z.writestr(f"insightface/data/images/mask_{c}.jpg", jpg.tobytes())
    out = extract_insightface_mask_textures(wheel, tmp_path / "cache")
    assert sorted(out) == ["black", "blue", "green", "white"]
    assert all(p.read_bytes() == jpg.tobytes() for p in out.values())
    # Usable as cloth-mask textures.
    image, lm = face()
    r = Occluder("cloth_mask", {"texture_images": [str(out["blue"])]})(image, lm, "x", yaw=0.0)
    assert alpha_at(r.mask, lm[MOUTH_OUTER]).min() > 0.9
    bad = tmp_path / "other.whl"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("x.txt", "x")
    with pytest.raises(ValueError, match="mask textures"):
        extract_insightface_mask_textures(bad, tmp_path / "cache2")
