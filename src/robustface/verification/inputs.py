"""What `verify` and `method-eval` read alike: the image-set flags, the embedder, the pairs, who
a trained method has seen, and the MFR2 mask state of a labelled image."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from robustface.cli import group_paths, json_arg, key_path, model_res_key
from robustface.config_schema import schema_default
from robustface.h5io import open_shard

from .conditions import ImageSet, build_image_sets
from .exclusion import split_people
from .pairs import Pair, all_pairs, load_pairs

UNMASKED_LABELS = {"no-mask", "no_mask", "nomask", "none"}


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    """The flags both stages share: method and checkpoint, pairs, image sets, settings."""
    p.add_argument("--method", required=True, help="trained method name, or pretrained recognizer (sface, dlib, ...)")
    p.add_argument("--checkpoint", help="best.pt of a trained method (absent: --method names a pretrained recognizer)")
    p.add_argument("--trained-split",
                   help="with --checkpoint: the method trained on the people of this split of the aligned shards "
                        "(their pairs are not scored); leave out for checkpoints trained on another dataset")
    p.add_argument("--embedder-params", default="{}", type=json_arg, help="JSON keyword arguments for a pretrained recognizer")
    p.add_argument("--pairs", default="all", help="pairs file, or `all` for every pair among the aligned faces (small sets)")
    p.add_argument("--pairs-format", choices=["lfw", "mfr2"], default=schema_default("verification.pairs_format"))
    p.add_argument("--labels", help="MFR2 labels file (`Name, num, mask_type`): adds mask-label subsets")
    p.add_argument("--aligned", nargs="+", required=True, help="aligned shards")
    p.add_argument("--occluded", nargs="*", default=[], type=key_path, metavar="TYPE=H5")
    p.add_argument("--lr", nargs="*", default=[], type=key_path, metavar="RES=H5")
    p.add_argument("--sr", nargs="*", default=[], type=key_path, metavar="MODEL:RES=H5")
    p.add_argument("--params-json", default="{}", type=json_arg,
                   help='JSON settings: {"batch_size": 64, "exclude_splits": [], "n_folds": 10, ...}')
    p.add_argument("--no-progress", action="store_true")


def image_sets(args: argparse.Namespace) -> dict[str, ImageSet]:
    return build_image_sets(
        args.aligned,
        occluded=group_paths(args.occluded, "--occluded"),
        lr=group_paths(args.lr, "--lr", int, form="RES=H5"),
        sr=group_paths(args.sr, "--sr", model_res_key, form="MODEL:RES=H5"),
    )


def aligned_size(paths: Sequence[str]) -> int:
    """The aligned face size, from the first aligned shard."""
    with open_shard(paths[0]) as f:
        return int(f["images"].shape[1])


def resolve_embedder(method: str, checkpoint: str | None, params: dict):
    """A trained method when a checkpoint is given, else a pretrained recognizer by name."""
    if checkpoint:
        from robustface.recognition.embedder import load_trained_embedder
        return load_trained_embedder(checkpoint)
    from robustface.metrics.identity import load_embedder
    return load_embedder(method, **params)


def pair_list(pairs: str, pairs_format: str, ids: Sequence[str], persons: Sequence[str]) -> list[Pair]:
    """The pairs file's pairs, or every pair among `ids` for `all`."""
    if pairs == "all":
        return all_pairs(ids, persons)
    if not Path(pairs).exists():
        raise SystemExit(f"error: pairs file {pairs} does not exist")
    return load_pairs(pairs, pairs_format)


def checkpoint_train_people(path: str) -> list[str] | None:
    """The people a checkpoint records it trained on (`train_people`), or None (older checkpoints)."""
    import torch

    people = torch.load(path, map_location="cpu", weights_only=True).get("train_people")
    return None if people is None else [str(p) for p in people]


def trained_people(args: argparse.Namespace, persons: list[str], splits: list[str]) -> tuple[set[str] | None, str]:
    """(people the method trained on, or None for a pretrained reference; a true sentence about it)."""
    if not args.checkpoint:
        if args.trained_split:
            raise SystemExit("error: --trained-split needs --checkpoint (a pretrained reference trained on none of them)")
        return None, f"{args.method}: pretrained reference: scores every pair (trained on none of these people)"
    people: set[str] = set()
    sources = []
    if args.trained_split:
        from_split = split_people(persons, splits, args.trained_split)
        people |= from_split
        sources.append(f"{len(from_split)} people of split {args.trained_split!r} of the aligned shards")
    recorded = checkpoint_train_people(args.checkpoint)
    if recorded is not None:
        people |= set(recorded)
        sources.append(f"{len(recorded)} people recorded in {args.checkpoint}")
    if not sources:
        return people, (f"{args.method}: {args.checkpoint} does not record the people it trained on and no "
                        "--trained-split was given (trained on another dataset): no pair is excluded as "
                        "trained_people; person-name overlap with this dataset is not checked")
    return people, f"{args.method}: trained on {len(people)} people ({'; '.join(sources)})"


def mask_state(label: str | None) -> str:
    """MFR2 label -> masked | unmasked | unlabelled."""
    if label is None:
        return "unlabelled"
    return "unmasked" if label.strip().lower() in UNMASKED_LABELS else "masked"
