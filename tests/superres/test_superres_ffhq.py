"""FFHQ-aligned 512 crops for GFPGAN built from ArcFace crops, and the way back (no weights needed)."""
import cv2
import numpy as np
import pytest
import skimage.data
import torch

from robustface.align.template import template, transform_points
from robustface.superres import ffhq, get_entry
from robustface.superres.inference import SRModel, resize


def face(size: int) -> np.ndarray:
    return cv2.resize(skimage.data.astronaut()[20:200, 160:340], (size, size), interpolation=cv2.INTER_AREA)


def as_batch(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255.0


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1.0 / ((a - b) ** 2).mean()))


def dot_centres(channel: np.ndarray, threshold: float) -> np.ndarray:
    """Intensity-weighted centres of the bright blobs, sorted top-to-bottom then left-to-right."""
    n, labels = cv2.connectedComponents((channel > threshold).astype(np.uint8))
    ys, xs = np.mgrid[0:channel.shape[0], 0:channel.shape[1]]
    centres = []
    for k in range(1, n):
        w = channel * (labels == k)
        centres.append([(w * xs).sum() / w.sum(), (w * ys).sum() / w.sum()])
    return np.array(sorted(centres, key=lambda c: (round(c[1] / 40), c[0])))


@pytest.mark.parametrize("hr_size", [112, 128])
def test_template_points_land_on_the_ffhq_template(hr_size):
    """Gaussian dots at the five ArcFace points of a crop end up where the transform says, and
    that is the FFHQ template up to the two templates' shape difference (< 1.5 % of the crop)."""
    ys, xs = np.mgrid[0:hr_size, 0:hr_size]
    dots = sum(np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / 2.0) for x, y in template(hr_size))
    warped = ffhq.to_ffhq(torch.from_numpy(dots).float().clamp(0, 1).expand(1, 3, -1, -1), hr_size)[0, 0].numpy()
    found = dot_centres(np.where(warped > 0.6, warped, 0), 0.6)  # > 0.6: not the grey fill (0.52)
    expected = transform_points(template(hr_size), ffhq.ffhq_matrix(hr_size, hr_size))
    assert found.shape == (5, 2)
    np.testing.assert_allclose(found, expected, atol=0.5)
    assert np.abs(expected - ffhq.FFHQ_512).max() < 0.015 * ffhq.FFHQ_SIZE
    # a least-squares fit: moving the transform (here: its translation) only makes the fit worse
    residual = ((expected - ffhq.FFHQ_512) ** 2).sum()
    for shift in ([1, 0], [0, 1], [-1, 0], [0, -1]):
        assert ((expected + shift - ffhq.FFHQ_512) ** 2).sum() > residual


def test_arcface_crop_sits_inside_the_ffhq_crop_with_a_grey_border():
    hr = as_batch(face(112)[None])
    crop = ffhq.to_ffhq(hr, 112)[0]
    corners = transform_points(np.array([[0, 0], [111, 111]]), ffhq.ffhq_matrix(112, 112))
    assert 40 < corners[0, 0] < 90 and 420 < corners[1, 0] < 470  # 112 px -> ~381 px, ~66 px border
    grey = torch.tensor(ffhq.FILL_RGB).float() / 255
    torch.testing.assert_close(crop[:, :30, :30], grey.view(3, 1, 1).expand(3, 30, 30))
    assert crop[:, 200:300, 200:300].std() > 0.05  # the face, not fill


@pytest.mark.parametrize("lr_size", [112, 32, 16])
def test_warp_to_ffhq_and_back_reproduces_the_face(lr_size):
    lr = as_batch(face(lr_size)[None])
    bicubic = resize(lr, 112).clamp(0, 1)
    back = ffhq.from_ffhq(ffhq.to_ffhq(lr, 112), lr_size, 112, fallback=torch.zeros_like(bicubic))
    inner = (slice(None), slice(None), slice(6, -6), slice(6, -6))
    assert psnr(back[inner], bicubic[inner]) > 35
    # a different face position would be far off: the check can fail
    assert psnr(torch.roll(back, 3, dims=-1)[inner], bicubic[inner]) < 30


def test_fallback_fills_what_the_ffhq_crop_does_not_cover():
    """The way back takes `fallback` exactly where its source lies outside the 512 crop."""
    restored = torch.full((1, 3, 512, 512), 0.25)
    fallback = torch.full((1, 3, 112, 112), 0.75)
    out = ffhq.from_ffhq(restored, 16, 112, fallback)
    inside = ffhq._geometry(16, 112, "cpu")["inside_out"][0, 0] > 0
    assert inside.float().mean() > 0.99  # the ArcFace crop lies inside the FFHQ crop
    torch.testing.assert_close(out[0, :, inside], torch.full_like(out[0, :, inside], 0.25))


class IdentityRestorer(torch.nn.Module):
    """Returns its input like GFPGAN returns (image, intermediate rgbs): isolates the geometry."""

    def __init__(self):
        super().__init__()
        self.seen = None

    def forward(self, x, **kwargs):
        self.seen = x.clone()
        return x, []


def test_gfpgan_path_feeds_the_ffhq_crop_and_maps_the_output_back():
    model = SRModel(get_entry("gfpgan"), IdentityRestorer().eval(), torch.device("cpu"), hr_size=112)
    lr = np.stack([face(16), face(16)[:, ::-1]])
    sr = model.upscale(lr, 112)
    seen = (model.network.seen + 1) / 2  # the network sees [-1, 1]
    assert seen.shape == (2, 3, 512, 512)
    torch.testing.assert_close(seen, ffhq.to_ffhq(as_batch(lr), 112), atol=1e-5, rtol=0)
    bicubic = (resize(as_batch(lr), 112).clamp(0, 1) * 255).round()
    assert psnr(torch.from_numpy(sr).permute(0, 3, 1, 2).float()[..., 6:-6, 6:-6] / 255, bicubic[..., 6:-6, 6:-6] / 255) > 35
