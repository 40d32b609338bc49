"""`build_tiny_shards`: aligned + occluded shards from real LFW faces for the recognition, SR-training
and verification tests: a centre crop 250 -> 150 resized to 112, and as a stand-in occlusion a grey
rectangle over the lower half, with one occluded row dropped to mimic a reject.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import LFW_ROOT as LFW
from robustface.h5io import write_shard

needs_lfw = pytest.mark.skipif(not (LFW / "lfw").is_dir(), reason=f"LFW sample not found at {LFW}")
OCCLUSION = "lowerhalf"


def _load_face(path: Path) -> np.ndarray:
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    crop = image[50:200, 50:200]
    return cv2.resize(crop, (112, 112), interpolation=cv2.INTER_AREA)


def build_tiny_shards(root: Path, n_train: int = 6, n_val: int = 3, per_person: int = 4) -> tuple[list[str], dict[str, list[str]]]:
    people = sorted(p for p in (LFW / "lfw").iterdir() if len(list(p.glob("*.jpg"))) >= per_person)
    people = people[: n_train + n_val]
    rows = []
    for k, person in enumerate(people):
        for path in sorted(person.glob("*.jpg"))[:per_person]:
            rows.append((path.stem, person.name, "train" if k < n_train else "val", _load_face(path)))
    aligned, occluded = [], {OCCLUSION: []}
    halves = [rows[0::2], rows[1::2]]
    for k, part in enumerate(halves):
        images = np.stack([r[3] for r in part])
        meta = {"image_id": [r[0] for r in part], "person": [r[1] for r in part], "split": [r[2] for r in part]}
        path = root / "aligned" / f"shard-{k:04d}.h5"
        write_shard(path, {"images": images, **meta}, {"hr_size": 112})
        aligned.append(str(path))
        keep = np.arange(len(part))[1:] if k == 0 else np.arange(len(part))  # first row "rejected"
        occ = images[keep].copy()
        occ[:, 60:, :, :] = 128
        occ_path = root / "occluded" / OCCLUSION / f"shard-{k:04d}.h5"
        write_shard(occ_path, {"images": occ, "occlusion_type": [OCCLUSION] * len(keep),
                               **{name: [v[i] for i in keep] for name, v in meta.items()}})
        occluded[OCCLUSION].append(str(occ_path))
    return aligned, occluded


def build_distillation_set(root: Path, n_train: int, n_val: int, per_person: int = 4):
    """Tiny shards plus what distillation reads: their 16 px copies and SFace's teacher cache of
    the training faces (as the pipeline's teacher_embed writes it).
    Returns (aligned, occluded, {16: lr shards}, teacher cache shards, the SFace embedder)."""
    from robustface.degrade import resize_batch
    from robustface.h5io import read_shard
    from robustface.metrics.identity import load_embedder
    from robustface.recognition.teacher_cache import embed_shard

    aligned, occluded = build_tiny_shards(root, n_train=n_train, n_val=n_val, per_person=per_person)
    sface = load_embedder("sface")
    lr, cache = {16: []}, []
    for k, path in enumerate(aligned):
        shard = read_shard(path)
        lr_path = root / "lr" / f"shard-{k:04d}.h5"
        write_shard(lr_path, {"images": resize_batch(shard["images"], 16, "pil_bicubic"),
                              **{n: shard[n] for n in ("image_id", "person", "split")}})
        lr[16].append(str(lr_path))
        cache_path = root / "teacher" / f"shard-{k:04d}.h5"
        embed_shard(sface, "sface", path, cache_path, progress=False, splits=["train"])
        cache.append(str(cache_path))
    return aligned, occluded, lr, cache, sface
