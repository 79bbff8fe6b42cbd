"""Several pictures of one object -> one colored model.

The networks predict in the object's own frame (the training volumes are not turned with the
camera), so the predictions of several views of one object already line up voxel for voxel:
no camera poses are needed.

- Shape: the mean of the views' occupancy probabilities (a voxel is kept where the views agree
  on average; 3D-R2N2's multi-view case fuses with a recurrent unit it trains, this needs none).
- Colors: each view gives its final colors by the release's recipe (`colors.final_colors`:
  regressed and image-sampled colors, weighted by its confidence w), and its *visibility weight*
  1 - w: the color network raises w where the view does not see a voxel (it cannot sample it,
  so the regressed color must do) and lowers it where it does. A voxel's fused color is the
  mean of the views' colors weighted by 1 - w, so the views that see it decide its color; where
  no view sees it (every w = 1), the plain mean of the regressed colors.

The fused `Result` carries its colors as "regressed" with confidence 1 (the image part of the
recipe is then unused), so it saves, previews and evaluates like any other Result.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from .colors import final_colors


def fused_colors(results: Sequence) -> np.ndarray:
    """(R, R, R, 3) in [0, 1]: the views' final colors, weighted per voxel by 1 - w."""
    total = np.zeros(results[0].regressed.shape, np.float64)
    weight = np.zeros(results[0].confidence.shape, np.float64)
    for r in results:
        seen = 1.0 - r.confidence  # (R, R, R, 1)
        total += seen * final_colors(r.regressed, r.confidence, r.flow, r.image, t=r.color_t)
        weight += seen
    unseen = np.mean([r.regressed for r in results], axis=0)
    return np.where(weight > 1e-6, total / np.maximum(weight, 1e-6), unseen).astype(np.float32)


def fuse(results: Sequence, name: str = ""):
    """One `result.Result` from the Results of several views of one object (same model,
    same size). (Takes and makes Results without importing inference: it imports this.)"""
    results = list(results)
    if not results:
        raise ValueError("fuse needs at least one view")
    shapes = {r.occupancy.shape for r in results}
    if len(shapes) > 1:
        raise ValueError(f"cannot fuse predictions of different resolutions: {sorted(shapes)}")
    if len(results) == 1:
        return results[0]
    colors = fused_colors(results)
    first = results[0]
    return dataclasses.replace(
        first, name=name or f"{first.name}_fused",
        occupancy=np.mean([r.occupancy for r in results], axis=0).astype(np.float32),
        regressed=colors, blended=colors,
        confidence=np.ones_like(first.confidence), color_t=1.0)  # colors = "regressed"
