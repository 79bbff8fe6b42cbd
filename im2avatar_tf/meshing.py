"""Predicted volumes -> colored 3D geometry (points, voxel cubes, a smooth surface).

Pure NumPy / scikit-image / trimesh: no TensorFlow, so evaluation and viewers can use it on
saved predictions. Every function takes an occupancy mask or probability volume (R, R, R)
indexed (x, y, z) and per-voxel colors (R, R, R, 3) in [0, 1], and returns a `trimesh` object
in world coordinates, the training meshes' frame (`voxel_to_world`, from `voxel_centers`).

Colors live on occupied voxels only; surfaces get them from the nearest occupied voxel, which
is what the evaluation scores (reference 5.3).
"""
from __future__ import annotations

import functools
from typing import Optional, Tuple

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from .voxels import voxel_centers
from .images import to_uint8


class EmptyPredictionError(ValueError):
    """No voxel reaches the occupancy threshold: there is nothing to mesh."""


def voxel_to_world(index: np.ndarray, resolution: int) -> np.ndarray:
    """Continuous voxel index (..., 3) -> world point (..., 3), axes (x, y, z), y up.

    The affine extension of `voxels.voxel_centers`, the mapping the training meshes
    were voxelized with, so predictions line up with them: voxel (i, j, k) is centered at
    ((i + 0.5) / R - 0.5, ...) and its corners are at indices i - 0.5 and i + 0.5.
    """
    origin, step = _grid_affine(resolution)
    return origin + np.asarray(index, dtype=np.float64) * step


@functools.lru_cache(maxsize=8)
def _grid_affine(resolution: int):
    """(origin (3,), step (3,)) with voxel_centers(R)[i, j, k] = origin + (i, j, k) * step."""
    centers = voxel_centers(resolution)  # (R, R, R, 3)
    origin = centers[0, 0, 0]
    if resolution == 1:
        return origin, np.ones(3)
    return origin, (centers[-1, -1, -1] - origin) / (resolution - 1)


def require_occupied(occupied: np.ndarray, probability: np.ndarray, threshold: float) -> None:
    """Raise `EmptyPredictionError` naming the fix when no voxel is occupied."""
    if not occupied.any():
        best = float(probability.max())
        raise EmptyPredictionError(
            f"empty prediction: no voxel has occupancy >= {threshold:g} (highest is {best:.3f}); "
            f"lower the threshold (e.g. --threshold {max(best * 0.9, 0.01):.2f}), or check that "
            f"the object fills the image (try --crop)")


def to_points(occupied: np.ndarray, colors: np.ndarray) -> trimesh.PointCloud:
    """One point per occupied voxel at its center, colored. occupied (R, R, R) bool."""
    index = np.argwhere(occupied)  # (N, 3)
    rgba = _rgba8(colors[occupied])  # (N, 4)
    return trimesh.PointCloud(voxel_to_world(index, occupied.shape[0]), colors=rgba)


# Each face of a unit cube: (axis, side). Its quad lies in the plane index[axis] +- 0.5 and
# spans the two other axes u = axis + 1, v = axis + 2 (cyclic), so e_u x e_v = +e_axis.
_QUAD_UV = np.array([[0, 0], [1, 0], [1, 1], [0, 1]])  # counter-clockwise seen from +axis


def to_voxel_mesh(occupied: np.ndarray, colors: np.ndarray) -> trimesh.Trimesh:
    """One cube per occupied voxel, with shared vertices and face colors.

    Only faces between an occupied and an empty voxel are emitted (the inner ones are hidden
    anyway), so the result is a closed surface, outward-facing, with 2 triangles per face.
    occupied (R, R, R) bool; colors (R, R, R, 3) in [0, 1].
    """
    res = occupied.shape[0]
    padded = np.pad(occupied, 1)
    corners, face_voxels = [], []
    for axis in range(3):
        u, v = (axis + 1) % 3, (axis + 2) % 3
        for side in (-1, 1):
            neighbor_empty = ~np.roll(padded, -side, axis=axis)
            voxels = np.argwhere((padded & neighbor_empty)[1:-1, 1:-1, 1:-1])  # (F, 3)
            # Lattice corners: voxel i spans lattice points i .. i + 1 on each axis.
            quad = np.repeat(voxels[:, None, :], 4, axis=1)  # (F, 4, 3)
            quad[:, :, axis] += side > 0
            uv = _QUAD_UV if side > 0 else _QUAD_UV[::-1]
            quad[:, :, u] += uv[:, 0]
            quad[:, :, v] += uv[:, 1]
            corners.append(quad)
            face_voxels.append(voxels)
    corners = np.concatenate(corners)  # (F, 4, 3) lattice coordinates
    face_voxels = np.concatenate(face_voxels)  # (F, 3)
    lattice_id = np.ravel_multi_index(corners.reshape(-1, 3).T, (res + 1,) * 3)
    unique_ids, inverse = np.unique(lattice_id, return_inverse=True)
    quads = inverse.reshape(-1, 4)
    faces = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])  # (2F, 3)
    lattice = np.stack(np.unravel_index(unique_ids, (res + 1,) * 3), axis=-1)
    vertices = voxel_to_world(lattice - 0.5, res)
    face_rgb = colors[tuple(face_voxels.T)]  # (F, 3)
    mesh = trimesh.Trimesh(vertices, faces, process=False,
                           face_colors=_rgba8(np.concatenate([face_rgb, face_rgb])))
    return mesh


def to_surface_mesh(probability: np.ndarray, threshold: float, occupied: np.ndarray,
                    colors: np.ndarray, max_faces: Optional[int] = None) -> trimesh.Trimesh:
    """Smooth surface: marching cubes (scikit-image, Lewiner) on the probability volume at
    `threshold`, padded with zeros so the surface is closed where the object touches the
    border; with `max_faces`, simplified to at most that many triangles (`simplify`). Vertex
    colors: the color of the nearest occupied voxel (after simplification, so each kept
    vertex gets the color of where it now is).

    probability (R, R, R) float in [0, 1]; occupied (R, R, R) bool (probability >= threshold);
    colors (R, R, R, 3) in [0, 1].
    """
    from skimage import measure

    padded = np.pad(probability.astype(np.float32), 1, constant_values=0.0)
    # "ascent" winds the triangles counter-clockwise seen from outside (positive volume in
    # trimesh) for an object whose values are higher than its surroundings.
    verts, faces, _, _ = measure.marching_cubes(padded, level=threshold, allow_degenerate=False,
                                                gradient_direction="ascent")
    verts = verts - 1.0  # (V, 3) voxel index space of the unpadded volume
    if max_faces is not None:
        verts, faces = simplify(verts, faces, max_faces)
    occupied_index = np.argwhere(occupied)  # (N, 3)
    _, nearest = cKDTree(occupied_index).query(verts)
    vertex_rgb = colors[tuple(occupied_index[nearest].T)]  # (V, 3)
    return trimesh.Trimesh(voxel_to_world(verts, probability.shape[0]), faces, process=False,
                           vertex_colors=_rgba8(vertex_rgb))


def simplify(vertices: np.ndarray, faces: np.ndarray, max_faces: int) -> Tuple[np.ndarray, np.ndarray]:
    """At most `max_faces` triangles: quadric edge-collapse decimation (the maintained
    fast-simplification package, Fast-Quadric-Mesh-Simplification). A mesh that already has
    no more faces is returned as it is. vertices (V, 3) float, faces (F, 3) int ->
    (V', 3) float64, (F', 3) int64 with F' <= max_faces; deterministic for the same input."""
    if max_faces < 4:
        raise ValueError(f"max_faces must be at least 4 (a closed surface), got {max_faces}")
    if len(faces) <= max_faces:
        return vertices, faces
    import fast_simplification

    # Collapses stop short of a target now and then; lower it until the count is met.
    target = max_faces
    for _ in range(8):
        out_vertices, out_faces = fast_simplification.simplify(
            np.asarray(vertices, np.float64), np.asarray(faces, np.int32), target_count=target)
        if len(out_faces) <= max_faces:
            return out_vertices, out_faces.astype(np.int64)
        target = max(4, int(target * max_faces / len(out_faces)) - 1)
    raise RuntimeError(f"could not simplify {len(faces)} faces to at most {max_faces}")


def _rgba8(rgb: np.ndarray) -> np.ndarray:
    """Float RGB (..., 3) in [0, 1] -> uint8 RGBA (..., 4), opaque."""
    rgb8 = to_uint8(rgb)
    alpha = np.full(rgb8.shape[:-1] + (1,), 255, dtype=np.uint8)
    return np.concatenate([rgb8, alpha], axis=-1)
