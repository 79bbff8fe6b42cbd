"""Flow ground truth: for every surface voxel, where in a view its color is (reference 4.4).

- Visible voxels: the projection (u, v) of the voxel center through the view's camera
  (`Camera.project`, u = column, v = row, normalized to [0, 1)).
- Occluded voxels: among the foreground pixels whose albedo is similar to the voxel's color
  (Euclidean RGB distance <= `SIMILAR_COLOR` = 0.1 on the [0, 1] scale, about 15/255 per
  channel), the one closest to the voxel's projection; when no pixel is similar, the nearest
  foreground pixel. The flow is that pixel's center. Colors are compared as albedo (the flat
  rendering), so shading does not break the match.
- Visibility: a voxel is visible when its center is no farther from the camera than the
  rendered depth at its pixel plus one voxel diagonal (sqrt(3) / R): the center of a surface
  voxel can lie up to half a diagonal behind the surface it contains. Voxels over background
  pixels are visible (nothing hides them).
- Empty voxels: -1.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..voxels import EMPTY, occupancy_from_color, voxel_centers
from ..scene.camera import Camera
from ..scene.render import Rendering

SIMILAR_COLOR = 0.1  # max RGB distance (colors in [0, 1]) for "similar color"
_CANDIDATES = (16,)  # nearest pixels tried (per stage) before the search over all similar colors
_FEW_PIXELS = 4  # colors with at most this many pixels are searched by brute force
_MAX_UV = np.nextafter(1.0, 0.0)  # keep flows inside [0, 1)


def flow_volume(color: np.ndarray, camera: Camera, rendering: Rendering,
                similar: float = SIMILAR_COLOR) -> np.ndarray:
    """color (R, R, R, 3) volume (-1 empty) + one view -> flow (R, R, R, 2) float32, -1 empty."""
    r = color.shape[0]
    occupied = occupancy_from_color(color)  # (R, R, R)
    flow = np.full(color.shape[:3] + (2,), EMPTY, dtype=np.float32)
    centers = voxel_centers(r)[occupied]  # (M, 3)
    if not len(centers):
        return flow
    uv, depth = camera.project(centers)  # (M, 2), (M,)
    visible = visibility(uv, depth, rendering, tolerance=np.sqrt(3.0) / r)
    out = np.clip(uv, 0.0, _MAX_UV)  # (M, 2)
    hidden = ~visible
    if hidden.any() and rendering.mask.any():
        pixel = similar_pixel(uv[hidden] * camera.size, color[occupied][hidden], rendering,
                              similar)  # (K, 2) row, col
        out[hidden] = (pixel[:, ::-1] + 0.5) / camera.size
    flow[occupied] = out
    return flow


def visibility(uv: np.ndarray, depth: np.ndarray, rendering: Rendering,
               tolerance: float) -> np.ndarray:
    """(M,) bool: nothing in the rendered view lies more than `tolerance` in front of the point."""
    size = rendering.depth.shape[0]
    px = np.floor(uv * size).astype(np.int64)  # (M, 2) col, row
    inside = np.all((px >= 0) & (px < size), axis=1)
    visible = np.zeros(len(uv), dtype=bool)
    col, row = px[inside, 0], px[inside, 1]
    visible[inside] = depth[inside] <= rendering.depth[row, col] + tolerance
    return visible


def similar_pixel(positions: np.ndarray, colors: np.ndarray, rendering: Rendering,
                  similar: float = SIMILAR_COLOR) -> np.ndarray:
    """positions (K, 2) in pixels (x, y), colors (K, 3) -> (K, 2) int (row, col) of the closest
    foreground pixel whose albedo is within `similar`, else of the closest foreground pixel."""
    rows, cols = np.nonzero(rendering.mask)
    fg_pos = np.stack([cols + 0.5, rows + 0.5], axis=1)  # (P, 2) pixel centers, x y
    # Pixel colors at 8 bits: pixels sharing a color are searched together.
    palette, pixel_color = np.unique(np.round(rendering.albedo[rows, cols] * 255.0).astype(
        np.int32), axis=0, return_inverse=True)  # (U, 3), (P,)
    palette = palette / 255.0
    pixel_color = pixel_color.ravel()
    pos_tree = cKDTree(fg_pos)
    choice = np.full(len(positions), -1, dtype=np.int64)

    # Usually a similar pixel is near the projection: try the nearest pixels first.
    todo = np.arange(len(positions))
    for k in _CANDIDATES:
        k = min(k, len(fg_pos))
        if not len(todo) or k == 0:
            break
        _, near = pos_tree.query(positions[todo], k=k)  # (T, k) sorted by image distance
        near = near.reshape(len(todo), k)
        ok = (np.sum((palette[pixel_color[near]] - colors[todo, None]) ** 2, axis=2)
              <= similar ** 2)  # (T, k)
        hit = ok.any(axis=1)
        choice[todo[hit]] = near[hit, np.argmax(ok[hit], axis=1)]
        todo = todo[~hit]
    # The rest: every similar palette color, the image-closest pixel of each, the best of those.
    if len(todo):
        choice[todo] = _closest_similar(positions[todo], colors[todo], fg_pos, palette,
                                        pixel_color, similar)
    missing = choice < 0  # no similar color in the whole view: nearest foreground pixel
    if missing.any():
        choice[missing] = pos_tree.query(positions[missing], k=1)[1]
    return np.stack([rows[choice], cols[choice]], axis=1)


def _closest_similar(pos, col, fg_pos, palette, pixel_color, similar) -> np.ndarray:
    """(B,) index of the image-closest pixel among those whose palette color is within
    `similar` of `col` (-1 where there is none)."""
    pairs = cKDTree(col).sparse_distance_matrix(cKDTree(palette), similar,
                                                output_type="ndarray")  # (voxel i, color j)
    pairs = pairs[np.argsort(pairs["i"], kind="stable")]
    owner = pairs["i"].astype(np.int64)  # (S,) sorted voxel of each (voxel, color) pair
    pair_color = pairs["j"].astype(np.int64)
    by_color = np.argsort(pixel_color, kind="stable")  # pixels grouped by palette color
    starts = np.searchsorted(pixel_color[by_color], np.arange(len(palette) + 1))
    counts = np.diff(starts)  # (U,) pixels per palette color

    best = np.full(len(col), -1, dtype=np.int64)
    best_d = np.full(len(col), np.inf)
    # Colors held by few pixels: expand to (voxel, pixel) pairs, vectorized.
    few = counts[pair_color] <= _FEW_PIXELS
    own, colr = owner[few], pair_color[few]  # owners stay sorted
    rep = counts[colr]
    offset = np.arange(rep.sum()) - np.repeat(np.cumsum(rep) - rep, rep)
    pix = by_color[np.repeat(starts[colr], rep) + offset]
    own = np.repeat(own, rep)
    _keep_best(best, best_d, own, pix, np.sum((fg_pos[pix] - pos[own]) ** 2, axis=1))
    # Colors held by many pixels: one tree query per color.
    many_owner, many_color = owner[~few], pair_color[~few]
    order = np.argsort(many_color, kind="stable")
    many_owner, many_color = many_owner[order], many_color[order]
    bounds = np.r_[0, np.nonzero(np.diff(many_color))[0] + 1, len(many_color)]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        if lo == hi:
            continue
        u = many_color[lo]
        members = by_color[starts[u]:starts[u + 1]]
        o = many_owner[lo:hi]  # distinct voxels (a voxel meets a color once)
        d, j = cKDTree(fg_pos[members]).query(pos[o], k=1)
        better = d ** 2 < best_d[o]
        best[o[better]] = members[j[better]]
        best_d[o[better]] = d[better] ** 2
    return best


def _keep_best(best, best_d, owner, pixel, d) -> None:
    """best[o] = pixel where d beats best_d[o]; `owner` is sorted and may repeat (the minimum
    of each run competes)."""
    if not len(owner):
        return
    starts = np.r_[0, np.nonzero(np.diff(owner))[0] + 1]  # runs of equal owners
    run_min = np.minimum.reduceat(d, starts)  # (runs,)
    run_of = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(owner)]))
    at_min = np.flatnonzero(d == run_min[run_of])
    first = at_min[np.r_[True, np.diff(run_of[at_min]) != 0]]  # one winner per run
    o = owner[first]
    better = d[first] < best_d[o]
    best[o[better]] = pixel[first[better]]
    best_d[o[better]] = d[first[better]]
