"""The evaluation-time color recipe of the release (reference 5.2), shared by evaluation and
inference so a reported PSNR and an exported mesh use the very same colors.

1. c = 1 - w (weight of the image color), re-mapped with threshold t: c' = 1 if c > t else c / t.
2. Image color = input pixel at (int(x * W), int(y * H)), clipped to the image.
3. Background repair: a sampled pixel equal to the background (the top-left pixel, within 1e-3
   on every channel) is replaced by the nearest foreground pixel (Euclidean, pixel space).
4. color = (1 - c') * regressed + c' * image color.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

BACKGROUND_TOLERANCE = 1e-3
RELEASED_T = 0.2  # the release's evaluation recipe: the re-mapping threshold t (reference 5.2)


def flow_to_pixels(flow: np.ndarray, height: int, width: int) -> tuple:
    """Normalized flow (..., 2) = (x = column, y = row) in [0, 1) -> integer (rows, cols)."""
    cols = np.clip((flow[..., 0] * width).astype(np.int64), 0, width - 1)
    rows = np.clip((flow[..., 1] * height).astype(np.int64), 0, height - 1)
    return rows, cols


def repair_background(image: np.ndarray, tolerance: float = BACKGROUND_TOLERANCE) -> np.ndarray:
    """Replace every background pixel (equal to the top-left pixel) by its nearest foreground
    pixel. image: (H, W, 3) float. Returns a new (H, W, 3) image; unchanged if all background."""
    background = image[0, 0]
    foreground = np.any(np.abs(image - background) >= tolerance, axis=-1)  # (H, W)
    if not foreground.any() or foreground.all():
        return image.copy()
    # For each pixel, the index of the nearest foreground pixel (itself if foreground).
    _, (rows, cols) = ndimage.distance_transform_edt(~foreground, return_indices=True)
    return image[rows, cols]


def image_colors(flow: np.ndarray, image: np.ndarray, repair: bool = True) -> np.ndarray:
    """Colors sampled from `image` (H, W, 3) at `flow` (..., 2) -> (..., 3) (nearest pixel)."""
    source = repair_background(image) if repair else image
    rows, cols = flow_to_pixels(flow, image.shape[0], image.shape[1])
    return source[rows, cols]


def final_colors(regressed: np.ndarray, confidence: np.ndarray, flow: np.ndarray,
                 image: np.ndarray, t: float = RELEASED_T, repair: bool = True) -> np.ndarray:
    """Final per-voxel colors by the release's evaluation recipe.

    regressed (..., 3) in [0, 1]; confidence w (..., 1), the weight of the regressed color;
    flow (..., 2); image (H, W, 3) in [0, 1]. Returns (..., 3) in [0, 1].
    `t` <= 0 gives the flow color everywhere; `t` >= 1 gives the plain blend (1 - w re-mapped
    by itself).
    """
    c = 1.0 - confidence  # weight of the image color
    if t > 0:
        c = np.where(c > t, 1.0, c / t)
    else:
        c = np.ones_like(c)
    sampled = image_colors(flow, image, repair=repair)
    return (1.0 - c) * regressed + c * sampled


# The released 9-channel color prediction (reference 5.1): its parts, in channel order.
COLOR_CHANNELS = (("regressed", 3), ("confidence", 1), ("flow", 2), ("blended", 3))
COLOR_KEYS = tuple(name for name, _ in COLOR_CHANNELS)


def pack_color_prediction(parts) -> np.ndarray:
    """The color network's outputs {"regressed" (..., 3), "confidence" w (..., 1), "flow"
    (..., 2), "blended" (..., 3), ...} -> the released color prediction float32 (..., 9);
    other keys are ignored. Inverse of `split_color_prediction`."""
    return np.concatenate([np.asarray(parts[key], np.float32) for key in COLOR_KEYS], axis=-1)


def split_color_prediction(pred: np.ndarray) -> dict:
    """Split the released 9-channel color prediction (..., 9) = [regressed 3, w 1, flow 2,
    blended 3] into named arrays."""
    if pred.shape[-1] != 9:
        raise ValueError(f"color prediction must have 9 channels, got shape {pred.shape}")
    parts, start = {}, 0
    for name, channels in COLOR_CHANNELS:
        parts[name] = pred[..., start:start + channels]
        start += channels
    return parts
