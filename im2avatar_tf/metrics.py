"""The released evaluation metrics (reference section 5.3), on plain numpy arrays.

- `voxel_iou`: |pred & gt| / |pred | gt| of two boolean volumes.
- `NearestSurface`: for predicted voxels, the nearest ground-truth surface voxel (Euclidean,
  voxel-index space) through a k-d tree. Ties are broken towards the lowest index in C order,
  which is what the released `cdist` + `argmin` does, so results equal the brute force exactly.
- `surface_psnr`: PSNR on the 0-255 scale over P predicted voxels x 3 channels, in RGB and in
  YCbCr (the JPEG / ITU-T T.871 full-range conversion).
- `brute_force_nearest`: the released O(P K) method (chunked so it fits in memory), kept as the
  reference the fast path is checked against (`evaluate --check-brute-force`).
"""
from __future__ import annotations

import math
from typing import Tuple

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

# JPEG (ITU-T T.871) full-range RGB -> YCbCr on the 0-255 scale. The released script has
# 0.331364 for Cb's green coefficient, a typo of 0.331264 (effect on PSNR < 0.01 dB).
_YCBCR = np.array([[0.299, 0.587, 0.114],
                   [-0.168736, -0.331264, 0.5],
                   [0.5, -0.418688, -0.081312]])
_YCBCR_OFFSET = np.array([0.0, 128.0, 128.0])


def rgb_to_ycbcr(rgb255: np.ndarray) -> np.ndarray:
    """(..., 3) RGB on the 0-255 scale -> (..., 3) YCbCr (JPEG full range)."""
    return rgb255 @ _YCBCR.T + _YCBCR_OFFSET


def voxel_iou(pred: np.ndarray, gt: np.ndarray) -> float:
    """IoU of two boolean volumes; NaN when both are empty (undefined)."""
    union = np.count_nonzero(pred | gt)
    if union == 0:
        return math.nan
    return np.count_nonzero(pred & gt) / union


def psnr(mse: float) -> float:
    """PSNR in dB of a mean squared error on the 0-255 scale (inf for a perfect match)."""
    if mse == 0:
        return math.inf
    return 20.0 * math.log10(255.0) - 10.0 * math.log10(mse)


def surface_psnr(pred_colors: np.ndarray, gt_colors: np.ndarray) -> Tuple[float, float]:
    """(PSNR RGB, PSNR YCbCr) of matched colors (P, 3) in [0, 1]; (NaN, NaN) when P == 0."""
    if len(pred_colors) == 0:
        return math.nan, math.nan
    p = np.asarray(pred_colors, np.float64) * 255.0
    g = np.asarray(gt_colors, np.float64) * 255.0
    mse_rgb = float(np.mean(np.square(p - g)))
    mse_ycc = float(np.mean(np.square(rgb_to_ycbcr(p) - rgb_to_ycbcr(g))))
    return psnr(mse_rgb), psnr(mse_ycc)


class NearestSurface:
    """Nearest ground-truth surface voxel of query voxels, via a k-d tree.

    gt_points (K, 3) integer voxel indices in C order (as `np.argwhere` gives them).
    `query(points (P, 3)) -> (P,)` indices into gt_points; ties go to the lowest index.
    """

    K_FIRST = 8  # neighbours fetched at once; rows where all of them tie are resolved exactly

    def __init__(self, gt_points: np.ndarray):
        self.points = np.asarray(gt_points, dtype=np.float64)
        if len(self.points) == 0:
            raise ValueError("the ground-truth surface is empty: nothing to match colors to")
        self.tree = cKDTree(self.points)

    def query(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, dtype=np.float64)
        if len(points) == 0:
            return np.zeros(0, np.int64)
        k = min(self.K_FIRST, len(self.points))
        dist, idx = self.tree.query(points, k=k)
        if k == 1:
            return idx.astype(np.int64)
        # Squared distances between integer points are integers, so distinct distances differ by
        # far more than this tolerance; equal ones compare equal.
        tied = dist <= dist[:, :1] + 1e-6  # (P, k), sorted by distance
        best = np.where(tied, idx, len(self.points)).min(axis=1)
        for row in np.flatnonzero(tied[:, -1]):  # more ties than fetched: take them all
            ball = self.tree.query_ball_point(points[row], dist[row, 0] + 1e-6)
            best[row] = min(ball)
        return best.astype(np.int64)


def brute_force_nearest(points: np.ndarray, gt_points: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """The released method (`cdist` then `argmin`, first index on ties), in row chunks."""
    out = np.empty(len(points), np.int64)
    for a in range(0, len(points), chunk):
        out[a:a + chunk] = np.argmin(cdist(points[a:a + chunk], gt_points), axis=1)
    return out


class BruteForceNearest(NearestSurface):
    """`NearestSurface` with the released O(P K) search, to check and time the fast one."""

    def query(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, dtype=np.float64)
        if len(points) == 0:
            return np.zeros(0, np.int64)
        return brute_force_nearest(points, self.points)


def color_cluster_count(colors: np.ndarray, max_k: int = 8, tolerance: float = 0.05,
                        seed: int = 0) -> int:
    """How many colors a model has: the smallest k (1..max_k) whose k-means clustering of its
    surface colors (n, 3) in [0, 1] leaves a mean distance to the assigned center <= tolerance
    (0.05 ~ 13 levels of 255); max_k when none does. Deterministic under `seed`."""
    from scipy.cluster.vq import kmeans2

    colors = np.asarray(colors, np.float64)
    if len(colors) == 0:
        raise ValueError("no colors to cluster")
    for k in range(1, max_k + 1):
        if k >= len(np.unique(colors, axis=0)):
            return k
        centers, labels = kmeans2(colors, k, minit="++", seed=seed)
        if np.linalg.norm(colors - centers[labels], axis=1).mean() <= tolerance:
            return k
    return max_k
