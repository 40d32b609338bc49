"""Registry: renderer (occluder kind) name -> Renderer. A config type picks one with `kind`
(default: the type's own name), so several variants of one kind can be rendered side by side."""
from __future__ import annotations

from robustface.occlude.renderers import eyewear, local, masks, template
from robustface.occlude.renderers.base import RenderContext, Renderer
from robustface.occlude.textures import PATTERNS

RENDERERS: dict[str, Renderer] = {
    r.name: r
    for r in (
        Renderer("surgical_mask", masks.draw_surgical_mask, masks.SURGICAL_DEFAULTS, "non-rigid"),
        Renderer("cloth_mask", masks.draw_cloth_mask, masks.CLOTH_DEFAULTS, "non-rigid", {"patterns": PATTERNS}),
        Renderer("n95", masks.draw_n95, masks.N95_DEFAULTS, "non-rigid", {"styles": ("n95", "kn95")}),
        Renderer("scarf", masks.draw_scarf, masks.SCARF_DEFAULTS, "non-rigid", {"patterns": PATTERNS}),
        Renderer("sunglasses", eyewear.draw_sunglasses, eyewear.SUNGLASSES_DEFAULTS, "rigid"),
        Renderer("face_shield", eyewear.draw_face_shield, eyewear.FACE_SHIELD_DEFAULTS, "rigid"),
        Renderer("eyeglasses", eyewear.draw_eyeglasses, eyewear.EYEGLASSES_DEFAULTS, "transparent"),
        Renderer("hand", local.draw_hand, local.HAND_DEFAULTS, "local", {"targets": local.HAND_TARGETS}),
        Renderer("hair", local.draw_hair, local.HAIR_DEFAULTS, "local"),
        Renderer("object_patch", local.draw_object_patch, local.OBJECT_PATCH_DEFAULTS, "local",
                 {"patterns": PATTERNS, "shapes": local.OBJECT_SHAPES}),
        Renderer("template", template.draw_template, template.TEMPLATE_DEFAULTS, "user"),
    )
}


def get_renderer(otype: str, params: dict | None) -> Renderer:
    kind = (params or {}).get("kind") or otype
    if kind not in RENDERERS:
        raise ValueError(f"unknown occluder kind {kind!r} for type {otype!r}; known: {sorted(RENDERERS)} (set `kind:` in the type's params)")
    return RENDERERS[kind]


__all__ = ["RENDERERS", "RenderContext", "Renderer", "get_renderer"]
