"""Non-rigid occluders over the lower face: surgical, cloth and N95/KN95 masks, scarves.

The top edge runs from the jaw at cheek height over the nose bridge; the bottom edge follows the
jawline (landmarks 1-15) under the chin, as in MaskTheFace. Yaw is followed because the jaw
points themselves are foreshortened."""
from __future__ import annotations

import numpy as np

from robustface.occlude.geometry import CHIN, bezier, resample_polyline
from robustface.occlude.renderers.base import Painter, RenderContext, edge_shading
from robustface.occlude.textures import PATTERNS, fabric_grain, load_rgb_texture, procedural, texture_in_frame

MASK_COLOURS = [[160, 195, 225], [235, 236, 238], [120, 190, 175], [40, 42, 48], [228, 180, 192]]
CLOTH_COLOURS = [[32, 45, 90], [150, 30, 40], [230, 225, 210], [40, 110, 70], [90, 90, 95], [200, 150, 60], [20, 20, 22]]
RESPIRATOR_COLOURS = [[240, 240, 238], [225, 225, 220], [35, 35, 38], [200, 205, 215]]
SCARF_COLOURS = [[150, 25, 35], [30, 40, 80], [110, 110, 115], [200, 180, 140], [60, 90, 60], [230, 230, 225]]


def _nose_point(ctx: RenderContext, fraction: float) -> np.ndarray:
    """Point on the nose bridge: 0 = between the eyes (27), 1 = nose tip (30)."""
    lm = ctx.lm
    return lm[27] + np.clip(fraction, 0.0, 1.2) * (lm[30] - lm[27])


def _top_edge(ctx: RenderContext, left: np.ndarray, nose: np.ndarray, right: np.ndarray, lift: float, n: int = 32) -> np.ndarray:
    """Left anchor -> nose -> right anchor, each half bowed up by `lift` inter-ocular units."""
    f = ctx.frame
    up = -f.y_axis * lift * f.iod
    c_left = (left + nose) / 2 + up
    c_right = (nose + right) / 2 + up
    half = n // 2
    return np.concatenate([bezier(left, c_left, nose, half), bezier(nose, c_right, right, half)[1:]])


def _jaw_edge(ctx: RenderContext, first: int, last: int, outward: float, chin_drop: float) -> np.ndarray:
    """Jaw points first..last pushed outward, the chin pulled down by `chin_drop` (under-chin fabric)."""
    f = ctx.frame
    jaw = f.outward(ctx.lm[first:last + 1], outward)
    idx = np.arange(first, last + 1)
    weight = np.clip(1.0 - np.abs(idx - CHIN) / 5.0, 0.0, 1.0)[:, None]
    return jaw + weight * chin_drop * f.iod * f.y_axis


def _mask_outline(ctx: RenderContext, nose_top: float, lift: float, side: int, outward: float, chin_drop: float):
    """(outline, top edge, bottom edge) for a mask spanning jaw points side..16-side."""
    lm, f = ctx.lm, ctx.frame
    left = f.outward(lm[side][None], outward)[0]
    right = f.outward(lm[16 - side][None], outward)[0]
    top = _top_edge(ctx, left, _nose_point(ctx, nose_top), right, lift)
    bottom = _jaw_edge(ctx, side + 1, 15 - side, outward, chin_drop)
    outline = np.concatenate([top, bottom[::-1]])
    return outline, top, np.concatenate([left[None], bottom, right[None]])


def _ear_loops(ctx: RenderContext, painter: Painter, top_left, top_right, colour, thickness) -> None:
    lm, f = ctx.lm, ctx.frame
    loops = []
    for corner, jaw_top, jaw_low in ((top_left, 0, 3), (top_right, 16, 13)):
        ear = f.outward(lm[jaw_top][None], 0.12)[0] - 0.1 * f.iod * f.y_axis
        low = f.outward(lm[jaw_low][None], 0.05)[0]
        loops.append(np.stack([corner, ear, low]))
    painter.polyline(loops, colour, thickness)


def draw_surgical_mask(ctx: RenderContext):
    f = ctx.frame
    outline, top, bottom = _mask_outline(ctx, ctx.value("nose_top"), 0.05, 1, ctx.value("outward"), ctx.value("chin_drop"))
    colour = ctx.colour("colors")
    p = Painter(ctx.size)
    if ctx.params["ear_loops"]:
        _ear_loops(ctx, p, top[0], top[-1], colour * 0.97, max(1.0, 0.03 * f.iod))
    cov = p.polygon(outline, colour * fabric_grain((ctx.size, ctx.size, 1), ctx.rng, 0.02))
    # Pleats: curves between the top and bottom edges, a dark fold with a lit edge under it.
    n = 24
    top_s, bottom_s = resample_polyline(top, n), resample_polyline(bottom, n)
    pleats = int(ctx.value("pleats"))
    folds = [top_s * (1 - t) + bottom_s * t for t in (np.arange(1, pleats + 1) / (pleats + 1) + ctx.rng.uniform(-0.03, 0.03, pleats))]
    if folds:
        p.polyline(folds, colour * 0.72, max(1.0, 0.03 * f.iod), 0.6, clip=cov)
        p.polyline([line + 0.04 * f.iod * f.y_axis for line in folds], np.minimum(colour * 1.12, 1.0), max(1.0, 0.02 * f.iod), 0.5, clip=cov)
    # Nose wire: a slightly raised band along the top edge over the bridge.
    mid = len(top) // 2
    p.polyline(top[mid - 5: mid + 6] + 0.04 * f.iod * f.y_axis, colour * 0.85, max(1.0, 0.035 * f.iod), 0.5, clip=cov)
    p.shade(edge_shading(cov, f.iod, 0.2))
    return p.layer()


def draw_cloth_mask(ctx: RenderContext):
    f = ctx.frame
    outline, top, bottom = _mask_outline(ctx, ctx.value("nose_top"), 0.08, 1, ctx.value("outward"), ctx.value("chin_drop"))
    u, v = ctx.uv
    images = ctx.params["texture_images"]
    if images and ctx.rng.random() < float(ctx.params["texture_image_prob"]):
        texture = load_rgb_texture(str(images[int(ctx.rng.integers(len(images)))]))
        fill = texture_in_frame(texture, u, v, (-1.3, 1.3), (0.1, 2.3))
    else:
        colours = np.asarray(ctx.params["colors"], np.float32)
        i, j = ctx.rng.choice(len(colours), size=2, replace=len(colours) < 2)
        a, b = colours[i] / 255.0, colours[j] / 255.0
        fill = procedural(ctx.choice("patterns"), u, v, (a, b), ctx.rng, ctx.value("pattern_period"))
    fill = fill * fabric_grain((ctx.size, ctx.size, 1), ctx.rng, 0.04)
    p = Painter(ctx.size)
    if ctx.params["ear_loops"]:
        loop_colour = fill[int(np.clip(f.eye_mid[1], 0, ctx.size - 1)), int(np.clip(f.eye_mid[0], 0, ctx.size - 1))] * 0.9
        _ear_loops(ctx, p, top[0], top[-1], loop_colour, max(1.0, 0.04 * f.iod))
    cov = p.polygon(outline, fill)
    # Centre seam from the nose bridge down to the chin.
    seam = np.stack([top[len(top) // 2], bottom[len(bottom) // 2]])
    p.polyline(bezier(seam[0], (seam[0] + seam[1]) / 2 + 0.05 * f.iod * f.x_axis, seam[1], 10), np.zeros(3), max(1.0, 0.03 * f.iod), 0.35, clip=cov)
    p.shade(edge_shading(cov, f.iod, 0.25))
    return p.layer()


def draw_n95(ctx: RenderContext):
    f, lm = ctx.frame, ctx.lm
    style = ctx.choice("styles")
    colour = ctx.colour("colors")
    p = Painter(ctx.size)
    strap = colour * 0.8 if colour.mean() > 0.5 else np.array([0.9, 0.9, 0.9], np.float32) * 0.3
    straps = [np.stack([lm[start], f.outward(lm[end][None], 0.2)[0]]) for start, end in ((1, 0), (15, 16))]
    p.polyline(straps, strap, max(1.0, 0.04 * f.iod))
    if style == "kn95":
        left = f.outward(lm[1][None], 0.04)[0]
        right = f.outward(lm[15][None], 0.04)[0]
        nose = _nose_point(ctx, ctx.value("nose_top"))
        top = _top_edge(ctx, left, nose, right, 0.02)
        chin = lm[CHIN] + ctx.value("chin_drop") * f.iod * f.y_axis
        # Sides along the cheeks (jaw 2-4, 12-14), then straight folds to a point under the chin.
        bottom = np.concatenate([f.outward(lm[2:5], 0.05), chin[None], f.outward(lm[12:15], 0.05)])
        outline = np.concatenate([top, bottom[::-1]])
        cov = p.polygon(outline, colour * fabric_grain((ctx.size, ctx.size, 1), ctx.rng, 0.02))
        p.polyline(np.stack([nose, chin]), colour * 0.7, max(1.0, 0.035 * f.iod), 0.8, clip=cov)  # the fold
    else:
        outline, top, bottom = _mask_outline(ctx, ctx.value("nose_top"), 0.18, 2, 0.03, ctx.value("chin_drop"))
        cov = p.polygon(outline, colour * fabric_grain((ctx.size, ctx.size, 1), ctx.rng, 0.02))
        if ctx.rng.random() < float(ctx.params["valve_prob"]):
            side = 48 if ctx.rng.random() < 0.5 else 54
            jaw = 4 if side == 48 else 12
            centre = 0.5 * lm[side] + 0.5 * lm[jaw]
            r = 0.16 * f.iod
            t = np.linspace(0, 2 * np.pi, 24, endpoint=False)
            circle = centre + r * np.stack([np.cos(t), np.sin(t)], 1)
            p.polygon(circle, colour * 0.8)
            p.polyline(circle, colour * 0.6, max(1.0, 0.03 * f.iod), closed=True)
    # Heat-sealed rim just inside the edge.
    centre = outline.mean(0)
    p.polyline(centre + 0.9 * (outline - centre), colour * 0.8, max(1.0, 0.025 * f.iod), 0.6, closed=True, clip=cov)
    p.shade(edge_shading(cov, f.iod, 0.25))
    return p.layer()


def draw_scarf(ctx: RenderContext):
    lm, f = ctx.lm, ctx.frame
    top_frac = ctx.value("top")
    level = lm[33] + top_frac * (lm[51] - lm[33])
    wide = ctx.value("outward")
    left = f.outward(lm[2][None], wide)[0]
    right = f.outward(lm[14][None], wide)[0]
    # Shift the side anchors to the top level along the face's vertical axis.
    left = left + ((level - left) @ f.y_axis) * f.y_axis * 0.6
    right = right + ((level - right) @ f.y_axis) * f.y_axis * 0.6
    top = np.concatenate([bezier(left, (left + level) / 2 - 0.05 * f.iod * f.y_axis, level, 12),
                          bezier(level, (level + right) / 2 - 0.05 * f.iod * f.y_axis, right, 12)[1:]])
    # A soft wave along the top edge.
    phase = ctx.rng.uniform(0, 2 * np.pi)
    wave = 0.04 * f.iod * np.sin(np.linspace(0, 4 * np.pi, len(top)) + phase)
    top = top + wave[:, None] * f.y_axis
    far = 4.0 * f.iod  # past the bottom of the crop
    outline = np.concatenate([top, [right + far * f.y_axis + 0.4 * f.iod * f.x_axis, left + far * f.y_axis - 0.4 * f.iod * f.x_axis]])
    u, v = ctx.uv
    a = ctx.colour("colors")
    b = np.clip(a * ctx.rng.uniform(0.55, 0.8), 0, 1) if ctx.rng.random() < 0.5 else ctx.colour("colors")
    fill = procedural(ctx.choice("patterns"), u, v, (a, b), ctx.rng, ctx.value("pattern_period"))
    # Knit ribs across the fabric.
    fill = fill * (0.93 + 0.07 * np.sin(2 * np.pi * u / 0.06))[..., None] * fabric_grain((ctx.size, ctx.size, 1), ctx.rng, 0.04)
    p = Painter(ctx.size)
    cov = p.polygon(outline, fill)
    folds = []
    for k in range(int(ctx.value("folds"))):
        offset = (0.25 + 0.35 * k + ctx.rng.uniform(-0.08, 0.08)) * f.iod
        folds.append(top + offset * f.y_axis + 0.05 * f.iod * np.sin(np.linspace(0, 3 * np.pi, len(top)) + ctx.rng.uniform(0, 6))[:, None] * f.y_axis)
    if folds:
        p.polyline(folds, a * 0.55, max(1.0, 0.05 * f.iod), 0.45, clip=cov)
    p.shade(edge_shading(cov, f.iod, 0.2))
    return p.layer()


SURGICAL_DEFAULTS = {"colors": MASK_COLOURS, "nose_top": [0.3, 0.45], "outward": 0.05, "chin_drop": 0.1, "pleats": 3, "ear_loops": True}
CLOTH_DEFAULTS = {
    "colors": CLOTH_COLOURS, "patterns": list(PATTERNS), "pattern_period": [0.15, 0.35], "nose_top": [0.3, 0.45],
    "outward": 0.06, "chin_drop": 0.2, "ear_loops": True, "texture_images": [], "texture_image_prob": 1.0,
}
N95_DEFAULTS = {"colors": RESPIRATOR_COLOURS, "styles": ["n95", "kn95"], "nose_top": [0.2, 0.35], "chin_drop": 0.15, "valve_prob": 0.3}
SCARF_DEFAULTS = {"colors": SCARF_COLOURS, "patterns": ["plain", "stripes", "checks", "noise"], "pattern_period": [0.2, 0.5],
                  "top": [0.0, 0.5], "outward": 0.3, "folds": 3}
