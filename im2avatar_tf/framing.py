"""Where the object sits in a picture: crop to it, or tell that there is none.

`crop_to_foreground` is what `reconstruct --crop` / `--foreground-ratio` do before the usual
resize and pad (`images.preprocess`); `has_foreground` finds blank or fully transparent inputs,
whose reconstruction would be a guess. Foreground is the alpha where an image has one, else what
differs from the border's color.
"""
from __future__ import annotations

import numpy as np


def crop_to_foreground(image: np.ndarray, margin: float = 0.1, tolerance: float = 0.05) -> np.ndarray:
    """Crop an image (H, W, C) to the bounding box of its foreground, grown by `margin` times
    the box's longer side on every side (clipped to the image).

    Foreground: alpha > 0 where the image has alpha (C = 2 or 4); otherwise pixels that differ
    from the background color (the median of the border pixels) by more than `tolerance`
    (in [0, 1] units) on some channel. An image with no foreground, or only foreground, is
    returned unchanged. The result still goes through `preprocess` (resize + pad).
    """
    if image.ndim != 3:
        raise ValueError(f"crop_to_foreground takes one image (H, W, C), got shape {image.shape}")
    x = image.astype(np.float32) / (255.0 if image.dtype == np.uint8 else 1.0)
    channels = x.shape[-1]
    if channels in (2, 4):
        foreground = x[..., -1] > 0
    else:
        border = np.concatenate([x[0], x[-1], x[:, 0], x[:, -1]])  # (2H + 2W, C)
        background = np.median(border, axis=0)
        foreground = np.any(np.abs(x - background) > tolerance, axis=-1)  # (H, W)
    if not foreground.any() or foreground.all():
        return image
    rows = np.flatnonzero(foreground.any(axis=1))
    cols = np.flatnonzero(foreground.any(axis=0))
    pad = int(round(margin * max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)))
    top, bottom = max(rows[0] - pad, 0), min(rows[-1] + 1 + pad, image.shape[0])
    left, right = max(cols[0] - pad, 0), min(cols[-1] + 1 + pad, image.shape[1])
    return image[top:bottom, left:right]


def has_foreground(image: np.ndarray, tolerance: float = 0.05) -> bool:
    """Whether an image (H, W, C) shows anything: False when it is fully transparent (alpha 0
    everywhere) or, where opaque, one flat color (no pixel differs from the median color by
    more than `tolerance` on a channel, in [0, 1] units)."""
    x = np.asarray(image)
    x = x.astype(np.float32) / (255.0 if x.dtype == np.uint8 else 1.0)
    if x.ndim == 2:
        x = x[..., None]
    if x.shape[-1] in (2, 4):
        opaque = x[..., -1] > 0
        if not opaque.any():
            return False
        x = x[..., :-1][opaque]  # (n, C) the visible pixels
    else:
        x = x.reshape(-1, x.shape[-1])
    return bool(np.any(np.abs(x - np.median(x, axis=0)) > tolerance))
