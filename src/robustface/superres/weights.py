"""Weight files: where they come from (WeightSpec), where they live, how they load."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..planning.paths import WEIGHTS_DIR, sr_checkpoint

if TYPE_CHECKING:  # torch only where weights load: the planner imports WeightSpec torch-free
    import torch

WEIGHTS_DIR_ENV = "ROBUSTFACE_WEIGHTS_DIR"
DEFAULT_WEIGHTS_DIR = Path(WEIGHTS_DIR)
# Official checkpoints wrap the state dict under one of these keys (basicsr convention).
STATE_DICT_KEYS = ("params_ema", "params")


@dataclass(frozen=True)
class WeightSpec:
    filename: str
    url: str
    sha256: str | None  # None where no checksum could be found: fetch then prints the computed one
    how_to_get: str = ""  # extra hint for the missing-weights message (e.g. an offline provisioning command)


class MissingWeightsError(FileNotFoundError):
    """The weight file a model needs is not on disk."""


class IncompatibleWeightsError(RuntimeError):
    """A state dict does not match the model architecture."""


def weights_dir() -> Path:
    return Path(os.environ.get(WEIGHTS_DIR_ENV, DEFAULT_WEIGHTS_DIR))


def default_weights_path(spec: WeightSpec) -> Path:
    return weights_dir() / spec.filename


def missing_weights_message(model_name: str, spec: WeightSpec | None, path: Path | None) -> str:
    if spec is None:  # a model trained here (registry trained_here): no published file to fetch
        where = f"expected file {path}" if path else "no --weights given"
        return (f"weights for SR model '{model_name}' not found: {where}\n"
                f"  it is trained here: python -m robustface train-sr --model {model_name} --res RES ... "
                f"(rule train_sr -> {sr_checkpoint(model_name, 'RES')}; `snakemake train_sr_all`)")
    sha = spec.sha256 or "none (unpublished: fetch prints the computed hash)"
    lines = [
        f"weights for SR model '{model_name}' not found: expected file {path}",
        f"  official URL: {spec.url}",
        f"  sha256: {sha}",
        f"  download: python -m robustface fetch --url {spec.url} --sha256 {spec.sha256 or 'none'} --out {path}",
    ]
    if spec.how_to_get:
        lines.append(f"  offline: {spec.how_to_get.format(path=path)}")
    return "\n".join(lines)


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Load a checkpoint saved as {'params_ema': sd}, {'params': sd} or a raw state dict."""
    import torch

    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(checkpoint, dict):
        raise IncompatibleWeightsError(f"{path}: expected a state dict, got {type(checkpoint).__name__}")
    for key in STATE_DICT_KEYS:
        if key in checkpoint and isinstance(checkpoint[key], dict):
            return checkpoint[key]
    return checkpoint


def load_into(model: torch.nn.Module, state_dict: dict[str, torch.Tensor], source: str) -> None:
    """Strict load with an error that names the mismatching keys."""
    expected = set(model.state_dict())
    given = set(state_dict)
    missing, unexpected = sorted(expected - given), sorted(given - expected)
    if missing or unexpected:
        raise IncompatibleWeightsError(
            f"{source} does not match {type(model).__name__}: "
            f"{len(missing)} missing keys (first: {missing[:3]}), "
            f"{len(unexpected)} unexpected keys (first: {unexpected[:3]})"
        )
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:  # shape mismatches
        raise IncompatibleWeightsError(f"{source} does not match {type(model).__name__}: {error}") from error
