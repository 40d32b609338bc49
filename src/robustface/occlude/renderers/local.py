"""Local occluders at random positions: a hand over part of the face, hair strands, and random
object patches (the synthetic occluders of FROM / ALOB)."""
from __future__ import annotations

import numpy as np

from robustface.occlude.geometry import EYE_LEFT, EYE_RIGHT, MOUTH, bezier, ellipse_points, face_region
from robustface.occlude.renderers.base import Painter, RenderContext, edge_shading
from robustface.occlude.textures import PATTERNS, fabric_grain, procedural

OBJECT_SHAPES = ("ellipse", "rectangle", "polygon")
HAND_TARGETS = ("mouth", "left_eye", "right_eye", "nose", "left_cheek", "right_cheek", "chin")
HAIR_COLOURS = [[25, 18, 14], [60, 40, 25], [110, 75, 40], [190, 160, 110], [15, 15, 15], [120, 120, 118]]
OBJECT_COLOURS = [[200, 40, 40], [40, 90, 200], [240, 200, 40], [30, 30, 30], [240, 240, 240], [60, 150, 70], [150, 100, 60]]


def _target_point(ctx: RenderContext, name: str) -> np.ndarray:
    lm = ctx.lm
    points = {
        "mouth": lm[MOUTH].mean(0), "left_eye": lm[EYE_LEFT].mean(0), "right_eye": lm[EYE_RIGHT].mean(0),
        "nose": lm[30], "left_cheek": (lm[3] + lm[31]) / 2, "right_cheek": (lm[13] + lm[35]) / 2, "chin": lm[8],
    }
    if name not in points:
        raise ValueError(f"unknown hand target {name!r}; known: {HAND_TARGETS}")
    return points[name]


def skin_colour(ctx: RenderContext) -> np.ndarray:
    """The subject's own skin tone (median of both cheeks), so a hand looks like theirs."""
    lm, s = ctx.lm, ctx.size
    samples = []
    for a, b in ((3, 31), (13, 35)):
        c = np.clip(np.round((lm[a] + lm[b]) / 2).astype(int), 2, s - 3)
        samples.append(ctx.face[c[1] - 2:c[1] + 3, c[0] - 2:c[0] + 3].reshape(-1, 3))
    return np.median(np.concatenate(samples), axis=0).astype(np.float32) / 255.0


def draw_hand(ctx: RenderContext):
    f = ctx.frame
    target = _target_point(ctx, ctx.choice("targets"))
    scale = ctx.value("scale") * f.iod
    # Fingers point away from the wrist; the wrist comes from below or from a side.
    angle = np.radians(f.roll_deg + ctx.value("angle_deg") - 90.0)
    up = np.array([np.cos(angle), np.sin(angle)])
    side = np.array([-up[1], up[0]])
    skin = np.clip(skin_colour(ctx) * ctx.rng.uniform(0.9, 1.08), 0, 1)
    outline_colour = skin * 0.72
    palm_centre = target - 0.15 * scale * up + ctx.rng.uniform(-0.1, 0.1) * scale * side
    p = Painter(ctx.size)
    # Wrist and forearm, reaching out of the crop.
    wrist_end = palm_centre - 3.0 * scale * up
    p.polyline(np.stack([palm_centre, wrist_end]), outline_colour, 0.78 * scale)
    p.polyline(np.stack([palm_centre, wrist_end]), skin, 0.7 * scale)
    fingers = []
    for k, (offset, length) in enumerate(zip((-0.33, -0.11, 0.11, 0.33), (0.75, 0.85, 0.8, 0.62))):
        base = palm_centre + 0.3 * scale * up + offset * scale * side
        spread = (offset * 0.35 + ctx.rng.uniform(-0.05, 0.05))
        direction = up + spread * side
        tip = base + length * scale * ctx.rng.uniform(0.9, 1.1) * direction / np.linalg.norm(direction)
        fingers.append((base, tip))
    thumb_side = 1 if ctx.rng.random() < 0.5 else -1
    thumb_base = palm_centre + thumb_side * 0.35 * scale * side - 0.1 * scale * up
    fingers.append((thumb_base, thumb_base + 0.6 * scale * (thumb_side * side * 0.85 + up * 0.55)))
    width = 0.21 * scale
    for base, tip in fingers:
        p.polyline(np.stack([base, tip]), outline_colour, width + max(1.0, 0.03 * f.iod))
        p.polyline(np.stack([base, tip]), skin, width)
    palm = ellipse_points(palm_centre, 0.45 * scale, 0.42 * scale, angle + np.pi / 2, 32, 2.6)
    p.polygon(palm, skin)
    # Light from one side across the hand, plus darker rims.
    u, _ = ctx.uv
    side_u = float((palm_centre - f.eye_mid) @ f.x_axis) / f.iod
    light = np.clip(1.0 + 0.25 * ctx.rng.choice([-1.0, 1.0]) * (u - side_u), 0.8, 1.15)
    p.shade(light * edge_shading((p.alpha * 255).astype(np.uint8), f.iod, 0.2))
    return p.layer()


def draw_hair(ctx: RenderContext):
    """A lock of strands falling from the forehead across an eye and cheek."""
    f = ctx.frame
    base = ctx.colour("colors")
    p = Painter(ctx.size)
    origin_u = ctx.value("origin_u") * (1 if ctx.rng.random() < 0.5 else -1)
    origin = f.point(f.eye_mid, origin_u, -ctx.value("origin_v"))
    sweep = -np.sign(origin_u) * ctx.value("sweep")
    length = ctx.value("length")
    thickness = ctx.value("thickness") * f.iod
    # Strands are painted in groups (shade x width), one compositing pass per group.
    groups: dict[tuple[int, int], list[np.ndarray]] = {}
    for _ in range(int(ctx.value("strands"))):
        start = origin + f.iod * ctx.rng.normal(0, 0.1, 2)
        end = f.point(start, sweep + ctx.rng.normal(0, 0.25), length * ctx.rng.uniform(0.7, 1.1))
        ctrl = f.point((start + end) / 2, -sweep * ctx.rng.uniform(0.2, 0.5), 0)
        key = (int(ctx.rng.integers(3)), max(1, int(round(thickness * ctx.rng.uniform(0.6, 1.4)))))
        groups.setdefault(key, []).append(bezier(start, ctrl, end, 16))
    for (shade, width), curves in sorted(groups.items()):
        p.polyline(curves, np.clip(base * (0.75, 1.0, 1.25)[shade], 0, 1), width, (0.8, 0.9, 0.85)[shade])
    return p.layer()


def draw_object_patch(ctx: RenderContext):
    """A random shape with a random texture, centred at a random point of the face region."""
    f, s = ctx.frame, ctx.size
    region = face_region(ctx.lm, s)
    ys, xs = np.nonzero(region)
    if len(xs) == 0:
        raise ValueError("empty face region")
    i = int(ctx.rng.integers(len(xs)))
    centre = np.array([xs[i], ys[i]], np.float64)
    half = 0.5 * ctx.value("size") * f.iod
    shape = ctx.choice("shapes")
    angle = ctx.rng.uniform(0, np.pi)
    aspect = ctx.rng.uniform(0.6, 1.4)
    if shape == "ellipse":
        outline = ellipse_points(centre, half * aspect, half / aspect, angle, 40)
    elif shape == "rectangle":
        outline = ellipse_points(centre, half * aspect, half / aspect, angle, 40, 12.0)
    elif shape == "polygon":
        k = int(ctx.rng.integers(5, 9))  # evenly spread corners, jittered: no slivers
        t = np.linspace(0, 2 * np.pi, k, endpoint=False) + ctx.rng.uniform(-0.35, 0.35, k) * (2 * np.pi / k) + angle
        r = half * ctx.rng.uniform(0.7, 1.25, k)
        outline = centre + np.stack([r * np.cos(t), r * np.sin(t)], 1)
    else:
        raise ValueError(f"unknown object shape {shape!r}; known: ellipse, rectangle, polygon")
    u, v = ctx.uv
    fill = procedural(ctx.choice("patterns"), u, v, (ctx.colour("colors"), ctx.colour("colors")), ctx.rng, ctx.rng.uniform(0.1, 0.4))
    p = Painter(s)
    cov = p.polygon(outline, fill * fabric_grain((s, s, 1), ctx.rng, 0.03))
    p.shade(edge_shading(cov, f.iod, 0.15))
    return p.layer()


HAND_DEFAULTS = {"targets": list(HAND_TARGETS), "scale": [0.8, 1.05], "angle_deg": [-50.0, 50.0]}
HAIR_DEFAULTS = {"colors": HAIR_COLOURS, "strands": [25, 45], "origin_u": [0.3, 0.8], "origin_v": [1.4, 1.8], "sweep": [0.2, 0.6],
                 "length": [2.3, 3.0], "thickness": [0.02, 0.04]}
OBJECT_PATCH_DEFAULTS = {"colors": OBJECT_COLOURS, "patterns": list(PATTERNS), "shapes": ["ellipse", "rectangle", "polygon"], "size": [0.8, 1.4]}
