"""Photos with a background -> the object alone, as the networks were trained to see it.

The networks only ever saw renders on a plain light background, with the object filling about
0.7 of the frame (the longer side of its box; measured on the training views). A photo has a
scene behind the object and any framing. Two steps make it look like a training view:

1. `remove_background`: an alpha channel for the object. An image that already has a real one
   (some pixel not opaque) keeps it: it is the user's own cut-out. Otherwise OpenCV's GrabCut
   segments it from a border prior: everything within `border` of the frame's edge is taken as
   background, the rest as probably foreground (the object is assumed to be roughly centered and
   not to touch the frame). No learned weights, nothing downloaded.
2. `foreground_margin(ratio)`: the margin `framing.crop_to_foreground` keeps around the alpha's
   box so that the object's longer side is `ratio` of the network's input after the usual
   resize and pad (`images.preprocess` composites the alpha onto the training background).

    rgba = remove_background(read_image("car_on_street.jpg"))  # (H, W, 4) uint8
    note = coverage_warning(rgba)  # None, or a sentence when the cut-out looks wrong
"""
from __future__ import annotations

from typing import Optional

import numpy as np

# The object's longer side over the frame in the training renders, mean per category (procedural
# test views at 128 px: chairs 0.715, 10th-90th percentile 0.66-0.77; cars 0.571, 0.29-0.69).
# The camera is fixed, so the size in the frame is part of what the networks read: reframing a
# photo to these helps only when its object is far off them.
TRAINING_FOREGROUND_RATIOS = {"chair": 0.715, "car": 0.571}
# A cut-out covering less or more of the frame than this is probably wrong.
MIN_COVERAGE, MAX_COVERAGE = 0.01, 0.95


def has_real_alpha(image: np.ndarray) -> bool:
    """Whether an image (H, W, C) carries an alpha channel that is used: C is 2 or 4 and some
    pixel is not fully opaque."""
    if image.ndim != 3 or image.shape[-1] not in (2, 4):
        return False
    alpha = image[..., -1]
    opaque = 255 if image.dtype == np.uint8 else 1.0
    return bool((alpha < opaque).any())


def foreground_mask(rgb: np.ndarray, border: float = 0.04, iterations: int = 5) -> np.ndarray:
    """(H, W) bool: GrabCut's foreground of an RGB image (H, W, 3) uint8, initialised with the
    frame's outer `border` (fraction of each side, at least one pixel) as sure background.
    Deterministic: OpenCV's GrabCut seeds its own k-means."""
    import cv2

    if rgb.ndim != 3 or rgb.shape[-1] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"foreground_mask takes an (H, W, 3) uint8 image, got {rgb.shape} "
                         f"{rgb.dtype}")
    height, width = rgb.shape[:2]
    dy, dx = max(1, round(border * height)), max(1, round(border * width))
    if height - 2 * dy < 2 or width - 2 * dx < 2:
        raise ValueError(f"image of {width}x{height} pixels is too small to separate an object "
                         f"from its background")
    mask = np.zeros((height, width), np.uint8)
    background_model = np.zeros((1, 65), np.float64)
    foreground_model = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)
    cv2.grabCut(np.ascontiguousarray(rgb[..., ::-1]), mask,  # OpenCV wants BGR
                (dx, dy, width - 2 * dx, height - 2 * dy), background_model, foreground_model,
                iterations, cv2.GC_INIT_WITH_RECT)
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


def remove_background(image: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 RGBA: the image with its background transparent. An image with a real
    alpha channel (`has_real_alpha`) keeps it; gray or RGB images get GrabCut's mask."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[-1] in (1, 2):  # gray (+ alpha) -> RGB (+ alpha)
        image = np.concatenate([np.repeat(image[..., :1], 3, axis=-1), image[..., 1:]], axis=-1)
    if has_real_alpha(image):
        return image
    rgb = image[..., :3]
    alpha = np.where(foreground_mask(rgb), 255, 0).astype(np.uint8)
    return np.concatenate([rgb, alpha[..., None]], axis=-1)


def coverage_warning(rgba: np.ndarray, name: str = "image") -> Optional[str]:
    """A sentence when the foreground of a cut-out (alpha > 0) covers under 1 % or over 95 %
    of the frame (the object was probably lost, or the background kept), else None."""
    coverage = float((rgba[..., -1] > 0).mean())
    if coverage < MIN_COVERAGE:
        return (f"{name}: the object covers {coverage:.1%} of the frame after background "
                f"removal: it was probably lost (is it centered and clear of the frame's edge?)")
    if coverage > MAX_COVERAGE:
        return (f"{name}: the object covers {coverage:.1%} of the frame after background "
                f"removal: the background was probably kept (give a wider shot, or an image "
                f"with its own alpha channel)")
    return None


def cut_out(image: np.ndarray, name: str = "image"):
    """(`remove_background(image)`, `coverage_warning` of it or None): the one step every
    entry point (the Python API, `reconstruct`, the demo) runs on a photo."""
    rgba = remove_background(image)
    return rgba, coverage_warning(rgba, name)


def foreground_margin(ratio: float) -> float:
    """The margin (fraction of the object's longer side, per side) that `crop_to_foreground`
    keeps so the object's longer side is `ratio` of the square input: 1 / (1 + 2m) = ratio."""
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"foreground ratio must be in (0, 1], got {ratio}")
    return (1.0 / ratio - 1.0) / 2.0
