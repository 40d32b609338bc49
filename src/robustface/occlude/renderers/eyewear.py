"""Occluders on the eyes and whole face: sunglasses (rigid, dark), eyeglasses (transparent lenses,
thin frames) and face-shield-like plates. Lenses are centred on each eye's contour and sized by
that eye's width, so the far lens narrows under yaw; everything is rotated with the eye line."""
from __future__ import annotations

import numpy as np

from robustface.occlude.geometry import EYE_LEFT, EYE_RIGHT, bezier, ellipse_points
from robustface.occlude.renderers.base import Painter, RenderContext, edge_shading

FRAME_COLOURS = [[15, 15, 18], [70, 45, 30], [185, 160, 90], [170, 172, 178], [110, 20, 30]]
SUNGLASS_TINTS = [[18, 18, 20], [35, 45, 35], [50, 38, 28], [25, 30, 48]]
GLASS_TINTS = [[200, 215, 235], [225, 225, 215], [210, 230, 220]]


def _lenses(ctx: RenderContext, size: float, aspect: float, lift: float):
    """[(centre, half_width, half_height, outline)] for the image-left and image-right lens."""
    f, lm = ctx.frame, ctx.lm
    angle = np.radians(f.roll_deg)
    squareness = ctx.value("squareness")
    lenses = []
    for eye in (EYE_LEFT, EYE_RIGHT):
        pts = lm[eye]
        width = float(np.linalg.norm(pts[3] - pts[0]))
        width = float(np.clip(width, 0.22 * f.iod, 0.5 * f.iod))
        centre = pts.mean(0) - lift * f.iod * f.y_axis
        half_w = min(size * width, 0.45 * f.iod)  # keep a bridge gap between the lenses
        half_h = half_w * aspect
        lenses.append((centre, half_w, half_h, ellipse_points(centre, half_w, half_h, angle, 48, squareness)))
    return lenses


def _frame_parts(ctx: RenderContext, p: Painter, lenses, colour, thickness: float) -> None:
    f, lm = ctx.frame, ctx.lm
    (c_l, w_l, h_l, _), (c_r, w_r, h_r, _) = lenses
    # Bridge: inner upper corners of the lenses, passing over the nose bridge (landmark 27).
    inner_l = c_l + w_l * 0.92 * f.x_axis - h_l * 0.3 * f.y_axis
    inner_r = c_r - w_r * 0.92 * f.x_axis - h_r * 0.3 * f.y_axis
    p.polyline(bezier(inner_l, lm[27] - 0.06 * f.iod * f.y_axis, inner_r, 10), colour, thickness * 1.1)
    # Temples: from the outer lens edge back towards the ears.
    for centre, half_w, half_h, sign, jaw in ((c_l, w_l, h_l, -1, 0), (c_r, w_r, h_r, 1, 16)):
        hinge = centre + sign * half_w * 0.95 * f.x_axis - half_h * 0.35 * f.y_axis
        ear = f.outward(lm[jaw][None], 0.1)[0] - 0.15 * f.iod * f.y_axis
        p.polyline(np.stack([hinge, ear]), colour, thickness * 1.2)


def _highlight(ctx: RenderContext, p: Painter, lens, opacity: float) -> None:
    f = ctx.frame
    centre, half_w, half_h, _ = lens
    a = centre - 0.55 * half_w * f.x_axis - 0.1 * half_h * f.y_axis
    b = centre - 0.05 * half_w * f.x_axis - 0.6 * half_h * f.y_axis
    p.polyline(np.stack([a, b]), np.ones(3, np.float32), max(1.0, 0.05 * f.iod), opacity)


def draw_sunglasses(ctx: RenderContext):
    f = ctx.frame
    lenses = _lenses(ctx, ctx.value("lens_size"), ctx.value("lens_aspect"), 0.04)
    tint = ctx.colour("lens_colors")
    frame_colour = ctx.colour("frame_colors")
    thickness = max(1.0, ctx.value("frame_thickness") * f.iod)
    p = Painter(ctx.size)
    _frame_parts(ctx, p, lenses, frame_colour, thickness)
    _, v = ctx.uv
    for lens in lenses:
        # Gradient lens: darker at the top, as most tinted lenses are.
        lens_v = float((lens[0] - f.eye_mid) @ f.y_axis) / f.iod
        shade = np.clip(1.0 + 0.5 * (v - lens_v) / (lens[2] / f.iod), 0.5, 1.5)
        p.polygon(lens[3], np.clip(tint[None, None, :] * shade[..., None], 0, 1), ctx.value("lens_opacity"))
        p.polyline(lens[3], frame_colour, thickness, closed=True)
        if ctx.rng.random() < float(ctx.params["highlight_prob"]):
            _highlight(ctx, p, lens, 0.22)
    return p.layer()


def draw_eyeglasses(ctx: RenderContext):
    f = ctx.frame
    lenses = _lenses(ctx, ctx.value("lens_size"), ctx.value("lens_aspect"), 0.02)
    tint = ctx.colour("lens_colors")
    frame_colour = ctx.colour("frame_colors")
    thickness = max(1.0, ctx.value("frame_thickness") * f.iod)
    p = Painter(ctx.size)
    _frame_parts(ctx, p, lenses, frame_colour, thickness)
    for lens in lenses:
        p.polygon(lens[3], tint, ctx.value("lens_opacity"))
        if ctx.rng.random() < float(ctx.params["reflection_prob"]):
            _highlight(ctx, p, lens, 0.3)
        p.polyline(lens[3], frame_colour, thickness, closed=True)
    return p.layer()


def draw_face_shield(ctx: RenderContext):
    """A rigid plate from the forehead to below the chin, wider than the jaw: a clear shield by
    default (partial alpha, tint, reflections) or an opaque plate when `opacity` is near 1."""
    f, lm = ctx.frame, ctx.lm
    top_v = -ctx.value("top")  # above the eye line
    centre = f.point(f.eye_mid, 0.0, (top_v + 2.6) / 2)
    half_w = 0.5 * float(np.linalg.norm(lm[16] - lm[0])) / f.iod + ctx.value("margin")
    half_h = (2.6 - top_v) / 2
    outline = ellipse_points(centre, half_w * f.iod, half_h * f.iod, np.radians(f.roll_deg), 48, ctx.value("squareness"))
    tint = ctx.colour("colors")
    p = Painter(ctx.size)
    cov = p.polygon(outline, tint, ctx.value("opacity"))
    # One soft diagonal reflection.
    offset = ctx.rng.uniform(-0.6, 0.3)
    a, b = f.point(centre, offset - 0.25, -0.7), f.point(centre, offset + 0.25, 0.3)
    p.polyline(np.stack([a, b]), np.ones(3, np.float32), max(1.0, 0.15 * f.iod), 0.12, clip=cov)
    p.polyline(outline, tint * 0.8, max(1.0, 0.04 * f.iod), 0.7, closed=True)
    # Headband along the plate's top arc.
    rel_v = (outline - f.eye_mid) @ f.y_axis / f.iod
    top_arc = outline[rel_v < top_v + 0.25]
    top_arc = top_arc[np.argsort((top_arc - centre) @ f.x_axis)]
    if len(top_arc) >= 2:
        p.polyline(top_arc, ctx.colour("band_colors"), max(1.0, 0.16 * f.iod))
    p.shade(edge_shading(cov, f.iod, 0.05))
    return p.layer()


SUNGLASSES_DEFAULTS = {
    "lens_size": [1.05, 1.25], "lens_aspect": [0.7, 0.85], "squareness": [2.0, 3.5], "lens_opacity": [0.9, 0.97],
    "lens_colors": SUNGLASS_TINTS, "frame_colors": FRAME_COLOURS, "frame_thickness": [0.03, 0.05], "highlight_prob": 0.6,
}
EYEGLASSES_DEFAULTS = {
    "lens_size": [0.95, 1.15], "lens_aspect": [0.6, 0.75], "squareness": [2.0, 4.0], "lens_opacity": [0.08, 0.2],
    "lens_colors": GLASS_TINTS, "frame_colors": FRAME_COLOURS, "frame_thickness": [0.02, 0.035], "reflection_prob": 0.5,
}
FACE_SHIELD_DEFAULTS = {
    "colors": [[215, 230, 240], [230, 230, 230], [200, 220, 210]], "band_colors": [[30, 30, 35], [20, 60, 120], [230, 230, 230]],
    "opacity": [0.25, 0.45], "top": [0.9, 1.1], "margin": [0.1, 0.25], "squareness": [2.5, 4.0],
}
