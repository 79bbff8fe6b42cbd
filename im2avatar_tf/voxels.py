"""The voxel grid every part of the project shares: the released volumes' conventions and the
index -> world mapping. Used by the readers (data/), the builders (building/), evaluation and
inference's meshing, so they all agree on where a voxel is and when it is occupied.

Grid: R^3 cells spanning [-0.5, 0.5]^3; `volume[i, j, k]` is the cell around
`voxel_centers(R)[i, j, k] = (-0.5 + (i + 0.5) / R, -0.5 + (j + 0.5) / R, -0.5 + (k + 0.5) / R)`,
axes (x, y, z) with y up. Empty voxels of the color and flow volumes hold -1.
"""
from __future__ import annotations

import numpy as np

EMPTY = -1.0  # value of empty voxels in the released color and flow volumes


def occupancy_from_color(color):
    """color (..., 3) -> bool (...): occupied iff channel 0 > -0.5 (the release's rule).
    Numpy arrays and tf tensors alike."""
    return color[..., 0] > -0.5


def voxel_centers(resolution: int) -> np.ndarray:
    """THE index -> world mapping: (R, R, R, 3) centers, axes (x, y, z), spanning [-0.5, 0.5]."""
    c = -0.5 + (np.arange(resolution) + 0.5) / resolution  # (R,)
    return np.stack(np.meshgrid(c, c, c, indexing="ij"), axis=-1)


def voxel_index(points: np.ndarray, resolution: int) -> np.ndarray:
    """World points (N, 3) -> integer voxel indices (N, 3), clipped into the grid."""
    idx = np.floor((np.asarray(points) + 0.5) * resolution).astype(np.int64)
    return np.clip(idx, 0, resolution - 1)
