"""What a figure test can check beyond "the file exists": its pixels."""
from __future__ import annotations

import numpy as np
from PIL import Image

MPL_C0 = (31, 119, 180)  # matplotlib's first line colour (default cycle C0 = tab20 index 0)


def read_rgb(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def distinct_colours(rgb: np.ndarray) -> int:
    flat = rgb.reshape(-1, 3).astype(np.uint32)
    return len(np.unique((flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]))


def colour_pixels(rgb: np.ndarray, colour: tuple[int, int, int], tol: int = 12) -> int:
    """Pixels within `tol` (per channel) of `colour`: how much of a plotted line is visible."""
    return int((np.abs(rgb.astype(np.int16) - np.array(colour, np.int16)) <= tol).all(axis=-1).sum())


def curve_pixels(rgb: np.ndarray, tol: int = 10) -> int:
    """Pixels in any tab20 colour but its two greys (the palette of the verification figures):
    plotted curves, while axes, grid lines and text are black or grey."""
    from matplotlib import colormaps

    colours = [tuple(round(255 * c) for c in colormaps["tab20"](i)[:3]) for i in range(20) if i not in (14, 15)]
    diff = np.abs(rgb.astype(np.int16)[:, :, None, :] - np.array(colours, np.int16)[None, None])
    return int((diff <= tol).all(axis=-1).any(axis=-1).sum())


def non_white_fraction(rgb: np.ndarray, threshold: int = 245) -> float:
    return float((rgb < threshold).any(axis=-1).mean())
