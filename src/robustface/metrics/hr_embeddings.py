"""Stage `hr-embed`: one identity judge's embeddings of the HR faces the SR metrics measure.

    python -m robustface hr-embed --hr HR.h5 [...] --recognizer dlib --out hr.npz [--ids FACES.txt]
        [--recognizer-model PATH] [--batch-size N]

Every SR model and resolution compares its output with the same HR faces, so the DAG embeds them
once per judge and variant (rule hr_embeddings) and each `sr-metrics` job reads the file instead
of embedding them again, which halves the identity judges' share of the SR metrics.
The file is an npz of `image_id`, `embedding` and `recognizer` (the embedder's name).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from robustface.atomic import atomic_path
from robustface.config_schema import schema_default
from robustface.h5io import ShardIndex
from robustface.metrics.identity import Embedder, load_embedder


def save_hr_embeddings(path: str | os.PathLike, vectors: dict[str, np.ndarray], recognizer: str) -> None:
    ids = sorted(vectors)
    # A file handle, because np.savez appends ".npz" to a path that lacks it.
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, image_id=np.array(ids, dtype=str), recognizer=np.array(recognizer),
                 embedding=np.stack([vectors[i] for i in ids]) if ids else np.zeros((0, 0), np.float32))


class HrEmbeddings:
    """One judge's HR embeddings by image_id: those of an `hr-embed` file when given, the others
    computed here (`computed` counts them)."""

    def __init__(self, embedder: Embedder, path: str | os.PathLike | None = None):
        self.embedder = embedder
        self.vectors: dict[str, np.ndarray] = {}
        self.computed = 0
        if path:
            self.vectors = read_hr_embeddings(path, embedder.name)

    def get(self, image_ids: list[str], images: np.ndarray) -> np.ndarray:
        todo = [k for k, image_id in enumerate(image_ids) if image_id not in self.vectors]
        if todo:
            for k, vec in zip(todo, self.embedder.embed(images[todo])):
                self.vectors[image_ids[k]] = vec
            self.computed += len(todo)
        return np.stack([self.vectors[i] for i in image_ids])


def hr_embeddings_recognizer(path: str | os.PathLike) -> str:
    with np.load(path, allow_pickle=False) as z:
        return str(z["recognizer"])


def read_hr_embeddings(path: str | os.PathLike, recognizer: str) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        if str(z["recognizer"]) != recognizer:
            raise ValueError(f"{path} holds {str(z['recognizer'])!r} embeddings, not {recognizer!r}")
        return dict(zip(z["image_id"].tolist(), z["embedding"]))


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m robustface hr-embed", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hr", nargs="+", required=True, help="HR shards (aligned or occluded)")
    p.add_argument("--ids", default=None, help="embed only these faces (an sr-faces list); default: every face")
    p.add_argument("--recognizer", required=True, help="sface | dlib | insightface_onnx")
    p.add_argument("--recognizer-model", default=None, help="model file (required for insightface_onnx)")
    p.add_argument("--out", required=True)
    p.add_argument("--batch-size", type=int, default=schema_default("metrics.batch_size"))
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    hr = ShardIndex(args.hr)
    if args.ids:
        from robustface.superres.faces import read_ids

        ids = [i for i in read_ids(args.ids) if i in hr]
    else:
        ids = list(hr.where)
    embedder = load_embedder(args.recognizer, **({"model_path": args.recognizer_model} if args.recognizer_model else {}))
    vectors: dict[str, np.ndarray] = {}
    for start in tqdm(range(0, len(ids), args.batch_size), desc=f"hr-embed {embedder.name}", unit="batch"):
        batch = ids[start : start + args.batch_size]
        vectors.update(zip(batch, embedder.embed(hr.images(batch))))
    save_hr_embeddings(args.out, vectors, embedder.name)
    print(f"hr-embed: {len(vectors)} HR faces embedded by {embedder.name} -> {Path(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
