"""Frozen teachers for distillation and their cached embeddings of the clean training faces.

A teacher is anything with `name`, `dim` and `embed(uint8 NHWC) -> L2-normalised (N, d)`: our own
checkpoint (`arcface_clean` or a path to a best.pt) or an external pretrained recognizer from
robustface.metrics.identity (`sface`, `dlib`, `insightface_onnx`). Because the teacher is frozen
and sees the clean face, its embeddings are computed once per clean training row, for the face
and its mirror image (the student's flip augmentation picks the matching one), and cached on disk.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from robustface.atomic import atomic_path

from .data import FaceTable
from .embedder import load_trained_embedder
from .methods import EXTERNAL_TEACHERS
from .teacher_cache import embed_with_mirror, load_external_teacher


def load_teacher(teacher: str, device: str = "auto", model_path: str | None = None):
    """`teacher`: a checkpoint path, or the name of an external recognizer (`model_path`: its
    model file when not the shipped one)."""
    if teacher in EXTERNAL_TEACHERS:
        return load_external_teacher(teacher, model_path)
    if teacher.endswith(".pt") or Path(teacher).is_file():
        return load_trained_embedder(teacher, device=device)
    raise ValueError(
        f"teacher {teacher!r} is neither a checkpoint path nor one of {EXTERNAL_TEACHERS}; "
        "for teacher arcface_clean pass --teacher results/models/arcface_clean/best.pt"
    )


def _cache_key(teacher_id: str, image_ids: list[str]) -> str:
    h = hashlib.sha256(teacher_id.encode())
    for image_id in image_ids:
        h.update(image_id.encode() + b"\0")
    return h.hexdigest()[:16]


def teacher_embeddings(teacher, teacher_id: str, table: FaceTable, rows: np.ndarray, cache_path: Path, batch_size: int = 64) -> torch.Tensor:
    """(2, n_table_rows, d_teacher) float32: [0] plain, [1] mirrored; rows not in `rows` are zero."""
    key = _cache_key(teacher_id, [table.image_ids[r] for r in rows])
    if cache_path.is_file():
        cached = torch.load(cache_path, map_location="cpu", weights_only=True)
        if cached.get("key") == key:
            return cached["embeddings"]
    out = torch.zeros(2, len(table.image_ids), teacher.dim)
    for start in tqdm(range(0, len(rows), batch_size), desc=f"teacher {teacher.name}", unit="batch"):
        chunk = rows[start : start + batch_size]
        plain, mirrored = embed_with_mirror(teacher, np.stack([table.image(int(r)) for r in chunk]))
        out[0, chunk], out[1, chunk] = torch.from_numpy(plain), torch.from_numpy(mirrored)
    with atomic_path(cache_path) as tmp:
        torch.save({"key": key, "embeddings": out}, tmp)
    return out
