"""Validation during training: verification accuracy on pairs of identity-disjoint val faces.

Pairs are built once (deterministically) from the val split: genuine pairs among a person's
images, an equal number of impostor pairs between different persons. `val_acc_clean` compares
clean with clean; `val_acc_occluded` compares a clean face with an occluded version of the other
face of the pair (type cycling over the available ones). Accuracy uses the best threshold on these
pairs: an optimistic number meant for model selection, not the reported 10-fold result
(robustface.verification computes that).
"""
from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import torch

from .data import FaceTable, to_model_input


def build_val_pairs(persons: list[str], rows: np.ndarray, max_pairs: int, seed: int) -> np.ndarray:
    """Returns (P, 3) int64 array: row_a, row_b, same (1/0). Empty if no genuine pair exists."""
    by_person: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        by_person[persons[r]].append(int(r))
    rng = np.random.default_rng(seed)
    genuine = [pair for rs in by_person.values() for pair in itertools.combinations(rs, 2)]
    if not genuine or len(by_person) < 2 or max_pairs < 2:
        return np.zeros((0, 3), dtype=np.int64)
    genuine = [genuine[i] for i in rng.permutation(len(genuine))[: max_pairs // 2]]
    people = sorted(by_person)
    impostor = []
    while len(impostor) < len(genuine):
        a, b = rng.choice(len(people), 2, replace=False)
        impostor.append((rng.choice(by_person[people[a]]), rng.choice(by_person[people[b]])))
    pairs = [(a, b, 1) for a, b in genuine] + [(a, b, 0) for a, b in impostor]
    return np.array(pairs, dtype=np.int64)


def best_threshold_accuracy(similarity: np.ndarray, same: np.ndarray) -> float:
    order = np.argsort(-similarity)
    same_sorted = same[order].astype(np.int64)
    # accepting the top k pairs: true accepts = cumsum(same), true rejects = negatives beyond k
    true_accepts = np.concatenate([[0], np.cumsum(same_sorted)])
    negatives_total = len(same) - same.sum()
    false_accepts = np.arange(len(same) + 1) - true_accepts
    correct = true_accepts + (negatives_total - false_accepts)
    return float(correct.max() / len(same))


@torch.no_grad()
def embed_rows(model, table: FaceTable, rows: list[tuple[int, int]], device: torch.device, batch_size: int) -> np.ndarray:
    """Embeds (row, type_index) faces; returns (N, d) float32 L2-normalised."""
    model.eval()
    out = []
    for start in range(0, len(rows), batch_size):
        batch = np.stack([table.image(r, t) for r, t in rows[start : start + batch_size]])
        x = to_model_input(torch.from_numpy(batch)).to(device)
        out.append(model(x)["embedding"].float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.spec.embedding_dim), np.float32)


class Validator:
    def __init__(self, table: FaceTable, val_rows: np.ndarray, max_pairs: int, seed: int):
        self.table = table
        self.pairs = build_val_pairs(table.persons, val_rows, max_pairs, seed)

    @property
    def enabled(self) -> bool:
        return len(self.pairs) > 0

    def evaluate(self, model, device: torch.device, batch_size: int) -> dict[str, float]:
        if not self.enabled:
            return {}
        faces = sorted({(int(r), 0) for r in self.pairs[:, :2].ravel()})
        probes_occ = []
        if self.table.occlusion_names:
            for i, (_, b, _) in enumerate(self.pairs):
                types = self.table.available_occlusions(int(b))
                probes_occ.append((int(b), types[i % len(types)]) if types else (int(b), 0))
            faces = sorted(set(faces) | set(probes_occ))
        index = {face: k for k, face in enumerate(faces)}
        emb = embed_rows(model, self.table, faces, device, batch_size)
        a = emb[[index[(int(r), 0)] for r in self.pairs[:, 0]]]
        same = self.pairs[:, 2]
        metrics = {"val_acc_clean": best_threshold_accuracy((a * emb[[index[(int(r), 0)] for r in self.pairs[:, 1]]]).sum(1), same)}
        if probes_occ:
            b_occ = emb[[index[face] for face in probes_occ]]
            metrics["val_acc_occluded"] = best_threshold_accuracy((a * b_occ).sum(1), same)
        return metrics
