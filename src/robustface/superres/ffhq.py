"""FFHQ-aligned crops for restorers trained on them (GFPGAN), built from our ArcFace crops.

GFPGAN was trained on FFHQ crops aligned to a 5-point template at 512 px (facexlib's
`FaceRestoreHelper.face_template`); our faces are ArcFace-template crops (align/template.py) of
known geometry, so no detector is needed: the similarity transform between the two templates
places an ArcFace crop inside the FFHQ frame (its 112 px map to ~381 px at offset ~66 px; the
border GFPGAN expects around the face is filled with facexlib's grey, as its helper fills image
borders). The restored 512 crop is mapped back onto the ArcFace crop at the HR size with the
inverse transform (antialiased first, so the ~3.4x reduction does not alias); HR pixels whose
source lies outside the FFHQ crop take the bicubic upscale of the LR face.

Coordinates are pixel indices (cv2 convention, the templates'); resizing a crop from n to m px
maps index u to (u + 0.5) * m / n - 0.5 (pixel centres, as PIL/torch resizes do).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch.nn import functional as F

from robustface.align.template import template, umeyama_similarity

# facexlib FaceRestoreHelper: "standard 5 landmarks for FFHQ faces with 512 x 512"
FFHQ_512 = np.array([[192.98138, 239.94708], [318.90277, 240.1936], [256.63416, 314.01935],
                     [201.26117, 371.41043], [313.08905, 371.15118]], dtype=np.float64)
FFHQ_SIZE = 512
FILL_RGB = (132, 133, 135)  # facexlib's borderValue (135, 133, 132) is BGR


def crop_points(size: int, hr_size: int) -> np.ndarray:
    """The five ArcFace landmarks in a `size` px copy of an `hr_size` px aligned crop."""
    return (template(hr_size) + 0.5) * (size / hr_size) - 0.5


def ffhq_matrix(size: int, hr_size: int, out_size: int = FFHQ_SIZE) -> np.ndarray:
    """2x3 similarity: index coordinates of a `size` px ArcFace crop -> the FFHQ `out_size` crop."""
    return umeyama_similarity(crop_points(size, hr_size), FFHQ_512 * (out_size / FFHQ_SIZE))


def invert(matrix: np.ndarray) -> np.ndarray:
    full = np.vstack([matrix, [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def _sampling_grid(src_from_dst: np.ndarray, out_size: int, src_size: int) -> torch.Tensor:
    """(1, out, out, 2) grid for grid_sample(align_corners=False): output pixel -> source pixel."""
    ys, xs = np.mgrid[0:out_size, 0:out_size].astype(np.float64)
    u = src_from_dst[0, 0] * xs + src_from_dst[0, 1] * ys + src_from_dst[0, 2]
    v = src_from_dst[1, 0] * xs + src_from_dst[1, 1] * ys + src_from_dst[1, 2]
    grid = np.stack([(2 * u + 1) / src_size - 1, (2 * v + 1) / src_size - 1], axis=-1)
    return torch.from_numpy(grid).float()[None]


def _inside(grid: torch.Tensor) -> torch.Tensor:
    """(1, 1, H, W) 1.0 where the grid samples inside the source image."""
    return (grid.abs() <= 1).all(dim=-1).float()[:, None]


@lru_cache(maxsize=16)
def _geometry(lr_size: int, hr_size: int, device: str) -> dict:
    to_ffhq = ffhq_matrix(lr_size, hr_size)
    hr_to_ffhq = ffhq_matrix(hr_size, hr_size)
    # restored 512 crop -> antialiased copy at the face scale of the HR crop, then a near-unit warp
    scale = float(np.hypot(*hr_to_ffhq[0, :2]))
    reduced = max(1, round(FFHQ_SIZE / scale))
    reduce = np.diag([reduced / FFHQ_SIZE, reduced / FFHQ_SIZE])
    hr_to_reduced = np.hstack([reduce @ hr_to_ffhq[:, :2],
                               (reduce @ (hr_to_ffhq[:, 2] + 0.5) - 0.5)[:, None]])
    grid_in = _sampling_grid(invert(to_ffhq), FFHQ_SIZE, lr_size)
    grid_out = _sampling_grid(hr_to_reduced, hr_size, reduced)
    return {"grid_in": grid_in.to(device), "inside_in": _inside(grid_in).to(device),
            "grid_out": grid_out.to(device), "inside_out": _inside(grid_out).to(device), "reduced": reduced}


def _sample(images: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    return F.grid_sample(images, grid.expand(len(images), -1, -1, -1), mode="bicubic",
                         padding_mode="border", align_corners=False)


def to_ffhq(lr: torch.Tensor, hr_size: int) -> torch.Tensor:
    """NCHW [0, 1] ArcFace crops (any size, framed like an `hr_size` aligned crop) -> FFHQ 512 crops."""
    g = _geometry(int(lr.shape[-1]), hr_size, str(lr.device))
    fill = torch.tensor(FILL_RGB, dtype=lr.dtype, device=lr.device).view(1, 3, 1, 1) / 255.0
    warped = _sample(lr.float(), g["grid_in"]).clamp(0, 1)
    return warped * g["inside_in"] + fill * (1 - g["inside_in"])


def from_ffhq(restored: torch.Tensor, lr_size: int, hr_size: int, fallback: torch.Tensor) -> torch.Tensor:
    """FFHQ 512 crops in [0, 1] -> the ArcFace crop at hr_size; `fallback` (NCHW at hr_size) fills
    the pixels whose source is outside the FFHQ crop."""
    g = _geometry(lr_size, hr_size, str(restored.device))
    reduced = F.interpolate(restored.float(), size=(g["reduced"],) * 2, mode="bicubic", align_corners=False,
                            antialias=True)
    back = _sample(reduced, g["grid_out"]).clamp(0, 1)
    return back * g["inside_out"] + fallback.float() * (1 - g["inside_out"])
