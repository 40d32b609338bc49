"""The embedded default dataset: real face photos that registry packages ship.

- scikit-image's `astronaut` (Eileen Collins, NASA, public domain);
- insightface 2.1's `t1.jpg` group photo, each detected face cut out as its own image;
- insightface's `Tom_Hanks_54745.png` (an aligned 112 px crop, padded so a detector sees context).
Every person gets a second image that is the mirror of the first, so that same-person pairs exist;
verification numbers on this sample are therefore a smoke test, not a benchmark.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from robustface.assets import asset_path
from robustface.atomic import atomic_path


def _save(image: np.ndarray, path: Path) -> None:
    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, quality=95)


def group_photo_faces(rgb: np.ndarray, margin: float = 0.8) -> list[np.ndarray]:
    from robustface.align.detect import make_detector

    detector = make_detector("blazeface")
    try:
        detections = detector.detect(rgb)
    finally:
        detector.close()
    crops = []
    for d in sorted(detections, key=lambda d: d.box[0]):
        x, y, w, h = d.box
        m = margin * max(w, h)
        x0, y0 = int(max(0, x - m)), int(max(0, y - m))
        x1, y1 = int(min(rgb.shape[1], x + w + m)), int(min(rgb.shape[0], y + h + m))
        crops.append(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
    return crops


def sample_photos() -> dict[str, np.ndarray]:
    from skimage import data

    photos = {"Eileen_Collins": data.astronaut()}
    hanks = np.asarray(Image.open(asset_path("insightface_images/Tom_Hanks_54745.png")).convert("RGB"))
    photos["Tom_Hanks"] = np.pad(hanks, ((56, 56), (56, 56), (0, 0)), mode="edge")
    group = np.asarray(Image.open(asset_path("insightface_images/t1.jpg")).convert("RGB"))
    for i, crop in enumerate(group_photo_faces(group)):
        photos[f"Group_Person_{i + 1}"] = crop
    return photos


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="robustface sample", description=__doc__)
    ap.add_argument("--out", required=True, type=Path, help="folder to write person/image files into")
    args = ap.parse_args(argv)
    photos = sample_photos()
    for person, image in photos.items():
        _save(image, args.out / person / f"{person}_0001.jpg")
        _save(np.ascontiguousarray(image[:, ::-1]), args.out / person / f"{person}_0002.jpg")
    print(f"sample: {len(photos)} people, {2 * len(photos)} images -> {args.out}")
    return 0
