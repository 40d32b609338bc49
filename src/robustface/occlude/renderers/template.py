"""User RGBA templates placed by anchor points: each anchor pairs a template pixel with a
landmark index (or the mean of several), and a similarity transform maps one onto the other."""
from __future__ import annotations

import cv2
import numpy as np

from robustface.occlude.renderers.base import RenderContext
from robustface.occlude.textures import load_rgba_template


def _anchor_targets(ctx: RenderContext, anchors) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(anchors, (list, tuple)) or len(anchors) < 2:
        raise ValueError("template occluder needs `anchors`: at least 2 of {xy: [x, y], landmarks: [i, ...]}")
    src, dst = [], []
    for a in anchors:
        try:
            xy, idx = a["xy"], a["landmarks"]
        except (KeyError, TypeError):
            raise ValueError(f"template anchor must be {{xy: [x, y], landmarks: [i, ...]}}, got {a!r}") from None
        idx = [idx] if isinstance(idx, int) else list(idx)
        if not idx or any(not 0 <= i < 68 for i in idx):
            raise ValueError(f"template anchor landmark indices must be in 0..67, got {idx}")
        src.append(xy)
        dst.append(ctx.lm[idx].mean(0))
    return np.asarray(src, np.float64), np.asarray(dst, np.float64)


def draw_template(ctx: RenderContext):
    if not ctx.params["path"]:
        raise ValueError("template occluder needs `path` (an RGBA image)")
    rgba = load_rgba_template(str(ctx.params["path"]))
    src, dst = _anchor_targets(ctx, ctx.params["anchors"])
    if len(src) == 2:
        # Exact similarity from two point pairs.
        vs, vd = src[1] - src[0], dst[1] - dst[0]
        zs, zd = complex(*vs), complex(*vd)
        if abs(zs) < 1e-9:
            raise ValueError("template anchors coincide")
        z = zd / zs
        matrix = np.array([[z.real, -z.imag, 0.0], [z.imag, z.real, 0.0]])
        matrix[:, 2] = dst[0] - matrix[:, :2] @ src[0]
    else:
        matrix, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
        if matrix is None:
            raise ValueError("template anchors give no similarity transform")
    s = ctx.size
    warped = cv2.warpAffine(rgba, matrix, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    return warped[..., :3], warped[..., 3] * float(ctx.params["opacity"])


TEMPLATE_DEFAULTS = {"path": "", "anchors": [], "opacity": 1.0}
