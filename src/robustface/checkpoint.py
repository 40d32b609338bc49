"""Checkpoints shared by the trainers (recognition `train`, SR `train-sr`): atomic torch.save and the
resume check (last.pt is reused only when it was written with the same settings and data)."""
from __future__ import annotations

from pathlib import Path

import torch

from robustface.atomic import atomic_path


def save_checkpoint(obj, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_resume_state(path: str | Path, fingerprint, tag: str) -> dict | None:
    """The state in `path` when it exists and carries `fingerprint`; None otherwise (and says why)."""
    path = Path(path)
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("fingerprint") != fingerprint:
        print(f"[{tag}] {path} was written with other settings or data; starting from scratch")
        return None
    return state
