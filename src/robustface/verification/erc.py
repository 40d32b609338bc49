"""Error-versus-reject curves (ERC; Grother & Tabassi 2007) from a per-face recognizability index.

Every face gets a recognizability index RI = 1 - cos(embedding, u), u being the unrecognisable-
identity (UI) centre: the mean direction of the method's embeddings of the evaluated faces shrunk
to `ui_res` px (8) and blown back up (robustface.recognition.published.ri defines RI the same way
for training). A pair's quality is the lower RI of its two faces. The decision threshold is fixed
once, on all pairs of the condition, at the requested false match rate (FMR); then the
lowest-quality pairs are dropped, a growing fraction at a time, and the false non-match rate
(FNMR) of the genuine pairs kept is read at that fixed threshold. A quality measure that ranks
failures first makes the curve fall fast; `erc_auc` is the mean FNMR over the rejection grid
(normalised area, lower = better).
"""
from __future__ import annotations

import math

import numpy as np

REJECT_FRACTIONS = tuple(np.round(np.arange(0.0, 0.51, 0.05), 2))


def recognizability(embeddings: np.ndarray, ui_centre: np.ndarray) -> np.ndarray:
    """RI = 1 - cos(embedding, UI centre), row-wise (rows need not be normalised)."""
    emb = np.asarray(embeddings, dtype=np.float64)
    centre = np.asarray(ui_centre, dtype=np.float64)
    norms = np.linalg.norm(emb, axis=1) * max(np.linalg.norm(centre), 1e-12)
    return 1.0 - emb @ centre / np.maximum(norms, 1e-12)


def ui_centre(embeddings: np.ndarray) -> np.ndarray:
    """Mean direction of the embeddings of unrecognisable faces (unit vector)."""
    mean = np.asarray(embeddings, dtype=np.float64).mean(0)
    norm = np.linalg.norm(mean)
    if not np.isfinite(norm) or norm < 1e-12:
        raise ValueError("the unrecognisable faces' embeddings cancel out: no UI centre")
    return mean / norm


def threshold_at_fmr(scores: np.ndarray, same: np.ndarray, fmr: float) -> float:
    """The lowest threshold t with (impostor scores >= t) / impostors <= fmr ("match iff score >= t")."""
    impostors = np.sort(np.asarray(scores, dtype=np.float64)[~np.asarray(same, dtype=bool)])[::-1]
    if len(impostors) == 0:
        raise ValueError("no impostor pairs: the FMR threshold is undefined")
    allowed = int(math.floor(fmr * len(impostors) + 1e-9))
    if allowed >= len(impostors):
        return -math.inf
    return float(np.nextafter(impostors[allowed], np.inf))


def erc_curve(scores: np.ndarray, same: np.ndarray, quality: np.ndarray, fmr: float = 1e-2,
              fractions=REJECT_FRACTIONS) -> list[dict]:
    """One row per rejection fraction: reject_fraction, fnmr, n_pairs_kept, n_genuine_kept,
    threshold. Pairs are dropped lowest quality first (ties in pair order)."""
    scores, same, quality = (np.asarray(a) for a in (scores, same, quality))
    same = same.astype(bool)
    if not (len(scores) == len(same) == len(quality)):
        raise ValueError(f"{len(scores)} scores, {len(same)} labels, {len(quality)} qualities")
    threshold = threshold_at_fmr(scores, same, fmr)
    order = np.argsort(quality, kind="stable")  # lowest quality first
    rows = []
    for fraction in fractions:
        kept = order[int(math.floor(fraction * len(scores) + 1e-9)):]
        genuine = scores[kept][same[kept]]
        fnmr = float(np.mean(genuine < threshold)) if len(genuine) else math.nan
        rows.append({"reject_fraction": float(fraction), "fnmr": fnmr, "n_pairs_kept": int(len(kept)),
                     "n_genuine_kept": int(len(genuine)), "threshold": threshold})
    return rows


def erc_auc(curve: list[dict]) -> float:
    """Normalised area under FNMR(reject fraction): trapezoids / the grid's span."""
    points = [(r["reject_fraction"], r["fnmr"]) for r in curve if not math.isnan(r["fnmr"])]
    if len(points) < 2:
        return math.nan
    x, y = map(np.asarray, zip(*points))
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2) / (x[-1] - x[0]))


def fnmr_at(curve: list[dict], fraction: float) -> float:
    for row in curve:
        if abs(row["reject_fraction"] - fraction) < 1e-9:
            return row["fnmr"]
    raise KeyError(f"rejection fraction {fraction} is not on the curve's grid")
