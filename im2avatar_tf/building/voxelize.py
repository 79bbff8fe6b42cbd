"""Colored surface-shell voxelization (the paper's color volume, reference section 4.1).

Grid (`voxels.py`): R^3 cells spanning [-0.5, 0.5]^3; `volume[i, j, k]` is the cell around
`voxel_centers(R)[i, j, k] = (-0.5 + (i + 0.5) / R, -0.5 + (j + 0.5) / R, -0.5 + (k + 0.5) / R)`,
i.e. the axes are (x, y, z) with y up. A voxel is occupied iff the surface passes through it;
its color is the area-weighted mean surface color inside it; empty voxels are -1.

Sampling: every triangle is covered by a regular barycentric lattice whose steps along two of its
edges are at most `spacing` (a third of a voxel by default), plus points along its third edge,
so every triangle, however thin or small, marks the voxels it passes through (vertices and
edges included) up to corners it clips by less than the spacing. Lattices are anchored at the
vertex opposite the longest edge, so slivers cost few points. Deterministic: no random samples.
Each sample carries its triangle's area / sample count, so colors are area-weighted means; where
several faces share a voxel over less than a few sampling steps (a box corner) their weights are
only approximately their areas.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Tuple

import numpy as np

from ..voxels import EMPTY, occupancy_from_color, voxel_index
from ..scene.surface import MeshLike, Surface, as_surface

DEFAULT_SPACING = 1.0 / 3.0  # lattice step, in voxels
_CHUNK_POINTS = 1_000_000  # lattice points generated at once (bounds memory)


@dataclass
class Shell:
    """A colored surface shell."""

    color: np.ndarray  # (R, R, R, 3) float32, RGB in [0, 1] on the surface, -1 elsewhere

    @property
    def resolution(self) -> int:
        return self.color.shape[0]

    @property
    def occupied(self) -> np.ndarray:
        """(R, R, R) bool, the released convention (`occupancy_from_color`)."""
        return occupancy_from_color(self.color)


def colored_shell(mesh: MeshLike, resolution: int, spacing: float = DEFAULT_SPACING) -> Shell:
    """Voxelize a normalized mesh (inside [-0.5, 0.5]^3) into a colored surface shell."""
    surface = as_surface(mesh)
    r = int(resolution)
    n = r ** 3
    color_sum = np.zeros((n, 3))
    weight_sum = np.zeros(n)
    for faces, bary, weight in lattice_samples(surface, spacing / r):
        points = np.einsum("nk,nkc->nc", bary, surface.mesh.triangles[faces])  # (N, 3)
        idx = voxel_index(points, r)
        flat = (idx[:, 0] * r + idx[:, 1]) * r + idx[:, 2]  # (N,) matches C order of (R,R,R)
        colors = surface.colors_at(faces, bary)  # (N, 3)
        weight_sum += np.bincount(flat, weight, minlength=n)
        for c in range(3):
            color_sum[:, c] += np.bincount(flat, weight * colors[:, c], minlength=n)
    hit = weight_sum > 0
    color = np.full((n, 3), EMPTY, dtype=np.float32)
    color[hit] = color_sum[hit] / weight_sum[hit, None]
    return Shell(color.reshape(r, r, r, 3))


def lattice_samples(surface: Surface, spacing: float
                    ) -> Iterator[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield chunks (face (N,), barycentric (N, 3), area weight (N,)) covering every triangle
    with points at most `spacing` apart along its edges (see the module docstring)."""
    tri = surface.mesh.triangles  # (F, 3, 3)
    edge = np.linalg.norm(tri[:, [1, 2, 0]] - tri[:, [2, 0, 1]], axis=2)  # (F, 3) opposite vertex k
    apex = np.argmax(edge, axis=1)  # vertex opposite the longest edge
    order = np.stack([apex, (apex + 1) % 3, (apex + 2) % 3], axis=1)  # (F, 3) a, b, c
    rows = np.arange(len(tri))[:, None]
    len_ab = edge[rows[:, 0], order[:, 2]]  # edge a-b is opposite c
    len_ac = edge[rows[:, 0], order[:, 1]]
    len_bc = edge[rows[:, 0], order[:, 0]]
    n1 = np.maximum(1, np.ceil(len_ab / spacing)).astype(np.int64)  # steps along a -> b
    n2 = np.maximum(1, np.ceil(len_ac / spacing)).astype(np.int64)  # steps along a -> c
    n3 = np.maximum(1, np.ceil(len_bc / spacing)).astype(np.int64)  # steps along b -> c
    grid = (n1 + 1) * (n2 + 1) + (n3 + 1)  # candidate points per face (lattice + third edge)
    area = surface.mesh.area_faces  # (F,)
    cum = np.cumsum(grid)
    start = 0
    while start < len(tri):
        stop = int(np.searchsorted(cum, cum[start] - grid[start] + _CHUNK_POINTS, side="right"))
        sl = slice(start, max(stop, start + 1))
        start = sl.stop
        yield _chunk(np.arange(sl.start, sl.stop), n1[sl], n2[sl], n3[sl], order[sl], area[sl])


def _chunk(faces, n1, n2, n3, order, area):
    """Lattice points of a block of faces: (face, barycentric in vertex order, area weight)."""
    per_face = (n1 + 1) * (n2 + 1)
    face_of = np.repeat(np.arange(len(faces)), per_face)  # (M,) local face of each candidate
    local = np.arange(per_face.sum()) - np.repeat(np.cumsum(per_face) - per_face, per_face)
    i = local // np.repeat(n2 + 1, per_face)
    j = local % np.repeat(n2 + 1, per_face)
    a, b = n1[face_of], n2[face_of]
    keep = i * b + j * a <= a * b
    face_of, s, t = face_of[keep], i[keep] / a[keep], j[keep] / b[keep]
    lat = np.stack([1.0 - s - t, s, t], axis=1)  # weights of (a, b, c)

    per_edge = n3 + 1  # points on b -> c, endpoints included
    edge_face = np.repeat(np.arange(len(faces)), per_edge)
    u = (np.arange(per_edge.sum()) - np.repeat(np.cumsum(per_edge) - per_edge, per_edge)) \
        / n3[edge_face]
    edg = np.stack([np.zeros_like(u), 1.0 - u, u], axis=1)

    face_of = np.concatenate([face_of, edge_face])
    abc = np.clip(np.concatenate([lat, edg]), 0.0, 1.0)  # (N, 3) weights of (a, b, c)
    bary = np.empty_like(abc)
    rows = np.arange(len(abc))
    bary[rows[:, None], order[face_of]] = abc  # back to the face's vertex order
    count = np.bincount(face_of, minlength=len(faces))  # points per face
    weight = area[face_of] / count[face_of]  # each face's area shared by its points
    return faces[face_of], bary, weight
