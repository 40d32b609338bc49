"""degrade stage: aligned (or occluded) HR faces -> bicubic low-resolution copies.

Two kernels, recorded in every output because they differ by about 1 dB PSNR at 16 px:
- `pil_bicubic`: PIL's antialiased bicubic (support scales with the reduction; what most SR
  papers' MATLAB-style `imresize` approximates);
- `cv2_cubic`: OpenCV INTER_CUBIC, no antialiasing (samples the 4×4 neighbourhood only);
- `realistic`: blur + noise + JPEG, twice (Real-ESRGAN style, robustface.degradations), drawn per
  face from (seed, image_id, res), so SR can be trained and evaluated under real-world degradation.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from robustface.config_schema import schema_default
from robustface.degradations import face_seed, realistic_degrade
from robustface.h5io import read_attrs, read_shard, write_shard
from robustface.provenance import provenance_attrs

RESIZE_KERNELS = ("pil_bicubic", "cv2_cubic")
KERNELS = (*RESIZE_KERNELS, "realistic")
CARRIED = ("image_id", "person", "split")


def resize(image: np.ndarray, size: int, kernel: str) -> np.ndarray:
    """A plain resize (also used to upscale LR faces); `realistic` is a degradation, see `degrade_batch`."""
    if kernel == "pil_bicubic":
        return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC))
    if kernel == "cv2_cubic":
        return cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC)
    raise ValueError(f"unknown resampling kernel {kernel!r}; choose one of {RESIZE_KERNELS}")


def resize_batch(images: np.ndarray, size: int, kernel: str) -> np.ndarray:
    if len(images) == 0:
        return np.zeros((0, size, size, 3), np.uint8)
    return np.stack([resize(im, size, kernel) for im in images])


def upscale_bicubic(images: np.ndarray, size: int) -> np.ndarray:
    """The pipeline's one bicubic upscale (PIL, a = -0.5, as MATLAB's imresize): the `bicubic` SR
    model and verification's LR-HR/LR-LR faces both use it, so "bicubic" means one thing."""
    if len(images) and images.shape[1] == size and images.shape[2] == size:
        return images
    return resize_batch(images, size, "pil_bicubic")


def degrade_batch(images: np.ndarray, size: int, kernel: str, image_ids: list[str] | None = None,
                  seed: int = 0, step: int = -1) -> np.ndarray:
    """HR faces -> LR faces with the pipeline's degradation (the degrade stage and SR training share it).
    `realistic` needs the image ids (its draws are seeded per face); `step` >= 0 varies them in training."""
    if kernel not in KERNELS:
        raise ValueError(f"unknown degradation kernel {kernel!r}; choose one of {KERNELS}")
    if kernel != "realistic":
        return resize_batch(images, size, kernel)
    if image_ids is None or len(image_ids) != len(images):
        raise ValueError("the realistic degradation needs one image_id per face (its draws are seeded per face)")
    if len(images) == 0:
        return np.zeros((0, size, size, 3), np.uint8)
    return np.stack([realistic_degrade(im, size, face_seed(seed, image_id, size, step))
                     for im, image_id in zip(images, image_ids)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="robustface degrade", description=__doc__)
    ap.add_argument("--hr", required=True, type=Path, help="aligned or occluded shard")
    ap.add_argument("--res", required=True, type=int)
    ap.add_argument("--kernel", default=schema_default("degrade.kernel"), choices=KERNELS)
    ap.add_argument("--seed", type=int, default=0, help="seed of the realistic degradation's per-face draws")
    ap.add_argument("--variant", default="clean")
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args(argv)
    hr = read_shard(args.hr, ["images", *CARRIED])
    hr_size = int(read_attrs(args.hr).get("hr_size", hr["images"].shape[1] if len(hr["images"]) else 112))
    if args.res >= hr_size:
        raise SystemExit(f"resolution {args.res} must be below the HR size {hr_size}")
    lr = degrade_batch(hr["images"], args.res, args.kernel, hr["image_id"], args.seed)
    params = {"res": args.res, "kernel": args.kernel, "variant": args.variant}
    if args.kernel == "realistic":
        params["seed"] = args.seed
    write_shard(args.out, {"images": lr, **{k: hr[k] for k in CARRIED}},
                provenance_attrs(params) | {"kernel": args.kernel, "hr_size": hr_size, "res": args.res, "variant": args.variant,
                                            "source": str(args.hr)})
    print(f"degrade: {len(lr)} faces {hr_size}->{args.res}px ({args.kernel}) -> {args.out}")
    return 0
