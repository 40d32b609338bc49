r"""`python -m robustface teacher-embed`: a pretrained teacher's embeddings of the aligned faces (all, or one split's).

    python -m robustface teacher-embed --teacher sface --aligned resources/lfw/aligned/shard-0000.h5 \
        --out resources/lfw/teacher/sface/shard-0000.h5 [--model-path PATH] [--batch-size 64] [--splits train]

One output shard per aligned shard, its rows in the aligned order: every face, or with `--splits`
only the faces of those splits (training reads the train split only; on LFW that skips ~40 % of the
faces, which matters for a slow teacher such as dlib on a CPU). `embeddings` (N, d) of the
face and `embeddings_flipped` (N, d) of its mirror image (the student's flip augmentation picks the
matching one), both L2-normalised float32. Attrs: teacher, embedder name, dim, source shard and
its row count. Training reads these instead of running the teacher per step; the DAG recomputes a
shard only when its aligned shard or the teacher changes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm import tqdm

from ..h5io import open_shard, read_strings, write_shard
from ..provenance import provenance_attrs
from .methods import EXTERNAL_TEACHERS


class TeacherCacheError(ValueError):
    """A teacher cache that does not match the aligned faces it should describe."""


def load_external_teacher(name: str, model_path: str | None = None):
    from ..metrics.identity import load_embedder

    if name not in EXTERNAL_TEACHERS:
        raise ValueError(f"unknown pretrained teacher {name!r}; choose one of {EXTERNAL_TEACHERS}")
    return load_embedder(name, **({"model_path": model_path} if model_path else {}))


def embed_with_mirror(teacher, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 embeddings of aligned uint8 faces (N, S, S, 3) and of their mirror images."""
    plain = np.asarray(teacher.embed(images), dtype=np.float32)
    return plain, np.asarray(teacher.embed(np.ascontiguousarray(images[:, :, ::-1])), dtype=np.float32)


def _rows_of_splits(f, aligned: str | Path, splits: Sequence[str] | None) -> np.ndarray:
    n = len(f["image_id"])
    if splits is None:
        return np.arange(n)
    if "split" not in f:
        raise TeacherCacheError(f"{aligned} has no 'split' dataset, so --splits {list(splits)} cannot select faces")
    return np.flatnonzero(np.isin(read_strings(f, "split"), list(splits)))


def embed_shard(teacher, teacher_id: str, aligned: str | Path, out: str | Path, batch_size: int = 64,
                progress: bool = True, splits: Sequence[str] | None = None) -> int:
    """Embeds the faces of one aligned shard (plain and mirrored), all or those of `splits`;
    returns the row count."""
    with open_shard(aligned) as f:
        rows = _rows_of_splits(f, aligned, splits)
        all_ids = read_strings(f, "image_id")
        image_ids = [all_ids[r] for r in rows]
        images = f["images"]
        n = len(rows)
        plain = np.zeros((n, teacher.dim), np.float32)
        flipped = np.zeros((n, teacher.dim), np.float32)
        starts = range(0, n, batch_size)
        for start in tqdm(starts, desc=f"teacher {teacher_id} {Path(aligned).name}", unit="batch", disable=not progress):
            batch = images[rows[start : start + batch_size]]
            plain[start : start + len(batch)], flipped[start : start + len(batch)] = embed_with_mirror(teacher, batch)
    attrs = provenance_attrs({"teacher": teacher_id, "embedder": teacher.name, "dim": int(teacher.dim)})
    attrs.update({"teacher": teacher_id, "embedder": teacher.name, "dim": int(teacher.dim),
                  "source_shard": str(aligned), "n_rows": n, "splits": ",".join(splits) if splits is not None else "all"})
    write_shard(out, {"image_id": image_ids, "embeddings": plain, "embeddings_flipped": flipped}, attrs)
    return n


def centre_teacher(cache: torch.Tensor, rows: Sequence[int]) -> torch.Tensor:
    """(2, n, d) teacher embeddings less the mean of the plain ones over `rows`, L2-normalised."""
    mean = cache[0, torch.as_tensor(np.asarray(rows), dtype=torch.long)].mean(dim=0)
    return torch.nn.functional.normalize(cache - mean, dim=-1)


def read_teacher_cache(paths: Sequence[str | Path], image_ids: Sequence[str],
                       required: Sequence[int] | None = None) -> tuple[torch.Tensor, str]:
    """(2, len(image_ids), d) float32 ([0] plain, [1] mirrored) in the order of `image_ids`, and the
    teacher's name. The faces at positions `required` (default: all) must be in the cache, so a stale
    or foreign cache is an error; other faces missing from it stay zero."""
    position = {image_id: k for k, image_id in enumerate(image_ids)}
    out: torch.Tensor | None = None
    found = np.zeros(len(image_ids), dtype=bool)
    teachers = set()
    for path in paths:
        with open_shard(path) as f:
            for name in ("image_id", "embeddings", "embeddings_flipped"):
                if name not in f:
                    raise TeacherCacheError(f"{path} has no dataset {name!r}: not a teacher cache "
                                            "(make it with `python -m robustface teacher-embed`)")
            teachers.add(str(f.attrs.get("teacher", "")))
            ids = read_strings(f, "image_id")
            plain, flipped = f["embeddings"][()], f["embeddings_flipped"][()]
        if out is None:
            out = torch.zeros(2, len(image_ids), plain.shape[1])
        elif plain.shape[1] != out.shape[2]:
            raise TeacherCacheError(f"{path}: embedding dim {plain.shape[1]} differs from the other cache shards ({out.shape[2]})")
        rows = [(k, position[i]) for k, i in enumerate(ids) if i in position]
        if rows:
            src, dst = map(np.array, zip(*rows))
            out[0, dst] = torch.from_numpy(plain[src])
            out[1, dst] = torch.from_numpy(flipped[src])
            found[dst] = True
    if out is None:
        raise TeacherCacheError("no teacher cache shards given")
    if len(teachers) > 1:
        raise TeacherCacheError(f"teacher cache shards come from different teachers: {sorted(teachers)}")
    needed = np.zeros(len(image_ids), dtype=bool)
    needed[np.arange(len(image_ids)) if required is None else np.asarray(required, dtype=np.int64)] = True
    lacking = np.flatnonzero(needed & ~found)
    if len(lacking):
        missing = [image_ids[k] for k in lacking[:5]]
        raise TeacherCacheError(f"{len(lacking)} training faces have no cached teacher embedding (e.g. {missing}); "
                                "the cache is older than the aligned shards: rerun teacher-embed")
    return out, teachers.pop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m robustface teacher-embed", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--teacher", required=True, choices=EXTERNAL_TEACHERS)
    ap.add_argument("--model-path", default=None, help="model file (required for insightface_onnx)")
    ap.add_argument("--aligned", required=True, help="one aligned shard")
    ap.add_argument("--out", required=True)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--splits", nargs="+", default=None, help="embed only the faces of these splits (default: every face)")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    teacher = load_external_teacher(args.teacher, args.model_path)
    n = embed_shard(teacher, args.teacher, args.aligned, args.out, args.batch_size, progress=not args.no_progress,
                    splits=args.splits)
    print(f"[teacher-embed] {args.teacher}: {n} faces of {args.aligned} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
