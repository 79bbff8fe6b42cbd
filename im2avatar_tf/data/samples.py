"""Reading one model of the released layout into arrays, at the resolution a model needs.

Shared by the training pipeline, its compact cache and the evaluation, so all three see the
same ground truth:

- `occupancy_from_color`: occupied iff the color's first channel > -0.5 (as `eval_iou.py` and
  the released training code derive it: the target is the surface shell).
- `load_color` / `load_flow`: a volume at resolution R. When the files only exist at a finer
  resolution (the authors' data is 64^3; the tiny and small presets use 32^3) they are pooled
  by an integer factor: a coarse voxel is occupied iff any of its fine voxels is, its color is
  the mean color of those, its flow the mean of the defined fine flows; -1 elsewhere.
- `sparse_sample`: the compact form the pipeline moves around: the flat indices of the voxels
  that carry any value, with their colors and flows (everything else is -1 by definition).

Every error names the file and says what to do.
"""
from __future__ import annotations

import logging

import dataclasses
from typing import Iterable, Tuple

import numpy as np

from ..io import read_h5
from ..voxels import EMPTY, occupancy_from_color
from .layout import RESOLUTIONS_ON_DISK, ModelPaths


# Exceptions that mean "this file is missing or unreadable" (skippable with --skip-bad).
BAD_FILE_ERRORS = (FileNotFoundError, OSError, KeyError, ValueError)


class BadModelError(ValueError):
    """A model whose files are missing or corrupt; the message names the file and the fix."""

    def __init__(self, key: str, cause: Exception):
        reason = cause.args[0] if isinstance(cause, KeyError) and cause.args else cause
        super().__init__(f"model {key}: {reason} (or pass --skip-bad to skip such models "
                         f"with a warning)")


def skip_or_raise(key: str, error: Exception, skip_bad: bool, skipped) -> None:
    """The one --skip-bad rule: without it, raise a BadModelError naming the model and file;
    with it, warn and record {"model", "reason"} in `skipped` (a list, or None)."""
    if not skip_bad:
        raise BadModelError(key, error) from error
    logging.getLogger(__name__).warning("skipping model %s: %s", key, error)
    if skipped is not None:
        skipped.append({"model": key, "reason": str(error)})


def at_resolution(model: ModelPaths, resolution: int) -> ModelPaths:
    return dataclasses.replace(model, resolution=resolution)


def source_resolution(model: ModelPaths, resolution: int) -> int:
    """The resolution to read for a volume wanted at `resolution`: itself if on disk, else
    the coarsest finer one that is an integer multiple. Raises FileNotFoundError naming the
    expected file when none exists."""
    if at_resolution(model, resolution).has_volumes:
        return resolution
    for r in sorted(RESOLUTIONS_ON_DISK):
        if r > resolution and r % resolution == 0 and at_resolution(model, r).has_volumes:
            return r
    raise FileNotFoundError(
        f"missing volume file {at_resolution(model, resolution).color} (no finer resolution "
        f"on disk either): rebuild the model or run `python run.py check-dataset`")


def pool_volume(volume: np.ndarray, factor: int) -> np.ndarray:
    """Mean-pool the defined values of a released volume (R, R, R, C) by `factor`.
    A coarse voxel is defined iff any of its fine voxels is (channel 0 > -0.5); its value is
    the mean over those. Returns (R/f, R/f, R/f, C) float32 with -1 where undefined."""
    if factor == 1:
        return volume.astype(np.float32, copy=False)
    r, c = volume.shape[0], volume.shape[-1]
    if r % factor:
        raise ValueError(f"cannot pool a {r}^3 volume by {factor}")
    n = r // factor
    defined = (volume[..., 0] > -0.5).astype(np.float32)  # (R, R, R)
    blocks = (n, factor, n, factor, n, factor)
    count = defined.reshape(blocks).sum(axis=(1, 3, 5))  # (n, n, n)
    total = (volume * defined[..., None]).reshape(blocks + (c,)).sum(axis=(1, 3, 5))
    out = np.full((n, n, n, c), EMPTY, dtype=np.float32)
    hit = count > 0
    out[hit] = total[hit] / count[hit][:, None]
    return out


def _check_volume(array: np.ndarray, path, resolution: int, channels: int) -> np.ndarray:
    expected = (resolution,) * 3 + (channels,)
    if array.shape != expected:
        raise ValueError(f"{path} holds an array of shape {array.shape}, expected {expected}: "
                         f"the file is corrupt or from another layout; rebuild the model")
    if not np.isfinite(array).all():
        raise ValueError(f"{path} contains NaN or inf values; rebuild the model")
    return array


def _load_volume(model: ModelPaths, resolution: int, path_of, channels: int) -> np.ndarray:
    src = source_resolution(model, resolution)
    path = path_of(at_resolution(model, src))
    volume = _check_volume(read_h5(path), path, src, channels)
    return pool_volume(volume, src // resolution)


def load_color(model: ModelPaths, resolution: int) -> np.ndarray:
    """The ground-truth color volume (R, R, R, 3) float32: RGB in [0, 1] on surface voxels, -1
    elsewhere."""
    return _load_volume(model, resolution, lambda m: m.color, 3)


def load_flow(model: ModelPaths, view: str, resolution: int) -> np.ndarray:
    """The ground-truth flow volume of one view (R, R, R, 2) float32: (x = column, y = row) in
    [0, 1) on surface voxels, -1 elsewhere."""
    return _load_volume(model, resolution, lambda m: m.flow(view), 2)


def sparse_sample(color: np.ndarray, flows: Iterable[np.ndarray]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compact form of a model's volumes.

    color (R, R, R, 3); flows: one or more (R, R, R, 2) (one per view).
    Returns (voxels (n,) int32 flat C-order indices of the voxels where the color or any flow is
    defined, colors (n, 3) float32, flows (V, n, 2) float32); every other voxel is -1.
    """
    flows = [np.asarray(f, dtype=np.float32) for f in flows]
    mask = occupancy_from_color(color)
    for f in flows:
        mask |= f[..., 0] > -0.5
    voxels = np.flatnonzero(mask).astype(np.int32)
    colors = color.reshape(-1, 3)[voxels]
    flow_values = np.stack([f.reshape(-1, 2)[voxels] for f in flows]) if flows else \
        np.zeros((0, voxels.size, 2), np.float32)
    return voxels, colors.astype(np.float32), flow_values

