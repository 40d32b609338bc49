"""The interface between the training loop and a published method's own losses and modules.

A method of the registry (methods.METHODS) may name an `objective`: a loss module that the trainer
builds once and calls once per step with everything a loss can need (`Step`). It returns its loss
(added to the trainer's label and KD losses) and named parts that become loss.csv columns. Its
parameters join the optimizer and last.pt; modules that change inference (a purifier, an attention
map) are not here but in the network (model.FaceRecognizer, switched on by `model_spec`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..objective_specs import ObjectiveSpec


@dataclass
class Context:
    """What an objective may need to build itself (once, before training)."""

    embedding_dim: int
    n_classes: int
    device: torch.device
    train_rows: np.ndarray            # aligned rows of the training faces
    train_labels: np.ndarray          # identity index of each of those rows
    teacher_cache: torch.Tensor | None = None  # (2, n_rows, d_teacher): [0] plain, [1] mirrored; None without a teacher


@dataclass
class Step:
    """One training step, as the trainer saw it."""

    x: torch.Tensor                   # normalised, augmented input batch (N, 3, 112, 112)
    out: dict[str, torch.Tensor]      # the model's outputs (raw, embedding, ...)
    labels: torch.Tensor              # (N,) identity index
    rows: torch.Tensor                # (N,) aligned row of each face
    teacher: torch.Tensor | None      # (N, d_teacher) teacher embedding of the clean face (mirrored when the input is)
    student_in_teacher_space: torch.Tensor | None  # raw student embedding, projected when dims differ
    model: nn.Module


class Objective(ObjectiveSpec, nn.Module):
    """A published method's loss module; its name, settings, parts, needs_teacher and
    mechanism_on come from its spec (objective_specs.py, torch-free for the planner)."""

    def __init__(self, settings: dict, ctx: Context):
        super().__init__()
        self.settings = settings

    @staticmethod
    def model_spec(settings: dict) -> dict:
        """ModelSpec fields this method sets (modules that stay in the network at inference)."""
        return {}

    def forward(self, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        raise NotImplementedError
