"""A colored mesh as the renderer and the voxelizer see it, and THE surface color lookup.

`Surface` holds the triangles of every part concatenated (for ray casting and sampling) and,
per part, where its color comes from: a UV texture, vertex colors, face colors or a material
color. Parts stay separate for colors because merging textured parts into one atlas wraps UVs
per vertex, which breaks tiled textures (a floor with u in [0, 8] would smear); here the wrap
is applied per surface point, after interpolation.

Colors are RGB floats in [0, 1]; alpha is ignored (everything is rendered opaque).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence, Tuple, Union

import numpy as np
import trimesh

# Color of a part that carries no color information at all (light gray).
DEFAULT_COLOR = (0.7, 0.7, 0.7)


class PartColors:
    """Color source of one part: `colors(faces, bary)` for local face ids and barycentrics."""

    def __init__(self, visual, faces: np.ndarray):
        self.faces = np.asarray(faces, dtype=np.int64)  # (F, 3) the part's own vertex ids
        self.kind = "uniform"
        self.color = np.asarray(DEFAULT_COLOR, dtype=np.float64)  # (3,)
        self.uv = self.image = self.values = None
        if isinstance(visual, trimesh.visual.TextureVisuals):
            self._from_texture(visual)
        elif isinstance(visual, trimesh.visual.ColorVisuals) and visual.kind is not None:
            if visual.kind == "vertex":
                self.kind, self.values = "vertex", _rgb(visual.vertex_colors)  # (V, 3)
            else:
                self.kind, self.values = "face", _rgb(visual.face_colors)  # (F, 3)

    def _from_texture(self, visual) -> None:
        material = visual.material
        image, factor = None, None
        if isinstance(material, trimesh.visual.material.PBRMaterial):
            image = material.baseColorTexture
            if material.baseColorFactor is not None:
                factor = _rgb(material.baseColorFactor[None])[0]  # glTF: texel * factor
        elif material is not None:
            image = getattr(material, "image", None)
            if image is None and getattr(material, "main_color", None) is not None:
                factor = _rgb(np.asarray(material.main_color)[None])[0]
        if image is not None and visual.uv is not None and len(visual.uv):
            self.kind = "texture"
            self.uv = np.asarray(visual.uv, dtype=np.float64)  # (V, 2)
            self.image = np.asarray(image.convert("RGB"))  # (H, W, 3) uint8, row 0 = v = 1
            self.color = np.ones(3) if factor is None else factor
        elif factor is not None:
            self.color = factor

    def colors(self, faces: np.ndarray, bary: np.ndarray) -> np.ndarray:
        """faces (N,) local face ids, bary (N, 3) -> RGB (N, 3) in [0, 1]."""
        if self.kind == "texture":
            uv = np.einsum("nk,nkc->nc", bary, self.uv[self.faces[faces]])  # (N, 2)
            uv = uv - np.floor(uv)  # wrap (GL_REPEAT) after interpolation
            h, w = self.image.shape[:2]
            col = np.minimum((uv[:, 0] * w).astype(np.int64), w - 1)
            row = np.minimum(((1.0 - uv[:, 1]) * h).astype(np.int64), h - 1)
            return self.image[row, col] / 255.0 * self.color
        if self.kind == "vertex":
            return np.einsum("nk,nkc->nc", bary, self.values[self.faces[faces]])
        if self.kind == "face":
            return self.values[faces]
        return np.broadcast_to(self.color, (len(faces), 3)).copy()


@dataclass
class Surface:
    """Triangles of all parts (`mesh`, visuals dropped) + each part's color source."""

    mesh: trimesh.Trimesh
    parts: Tuple[PartColors, ...]
    offsets: np.ndarray  # (P + 1,) first face of each part in `mesh`, then the face count

    def transformed(self, matrix: np.ndarray) -> "Surface":
        """The same surface moved by a (4, 4) transform (colors do not depend on position)."""
        mesh = self.mesh.copy()
        mesh.apply_transform(matrix)
        return Surface(mesh, self.parts, self.offsets)

    def colors_at(self, face_index: np.ndarray, bary: np.ndarray) -> np.ndarray:
        """face_index (N,), bary (N, 3) -> RGB (N, 3) float in [0, 1]."""
        face_index = np.asarray(face_index, dtype=np.int64)
        out = np.empty((len(face_index), 3))
        part = np.searchsorted(self.offsets, face_index, side="right") - 1  # (N,)
        for p in np.unique(part):
            sel = part == p
            out[sel] = self.parts[p].colors(face_index[sel] - self.offsets[p], bary[sel])
        return np.clip(out, 0.0, 1.0)

    @property
    def kinds(self) -> Tuple[str, ...]:
        """Color source of each part ('texture', 'vertex', 'face', 'uniform')."""
        return tuple(p.kind for p in self.parts)


MeshLike = Union[Surface, trimesh.Trimesh, trimesh.Scene, Sequence[trimesh.Trimesh]]


def as_surface(mesh: MeshLike) -> Surface:
    """Surface of a Trimesh, a Scene (parts placed by the scene graph) or a list of meshes."""
    if isinstance(mesh, Surface):
        return mesh
    if isinstance(mesh, trimesh.Scene):
        parts = [g for g in mesh.dump() if isinstance(g, trimesh.Trimesh)]
    elif isinstance(mesh, trimesh.Trimesh):
        parts = [mesh]
    else:
        parts = [g for g in mesh if isinstance(g, trimesh.Trimesh)]
    parts = [p for p in parts if len(p.faces)]
    if not parts:
        raise ValueError("the mesh has no triangles; give a mesh with faces")
    sizes = [len(p.faces) for p in parts]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    vert_offsets = np.concatenate([[0], np.cumsum([len(p.vertices) for p in parts])])
    geometry = trimesh.Trimesh(
        vertices=np.concatenate([p.vertices for p in parts]),
        faces=np.concatenate([p.faces + o for p, o in zip(parts, vert_offsets)]),
        process=False)
    return Surface(geometry, tuple(PartColors(p.visual, p.faces) for p in parts), offsets)


def surface_colors(mesh: MeshLike, points: np.ndarray, face_index: np.ndarray) -> np.ndarray:
    """THE color lookup: points (N, 3) lying on faces `face_index` (N,) -> RGB (N, 3) in [0, 1],
    from the UV texture (wrapped), vertex colors, face colors or material color."""
    surface = as_surface(mesh)
    face_index = np.asarray(face_index, dtype=np.int64)
    triangles = surface.mesh.triangles[face_index]  # (N, 3, 3)
    bary = trimesh.triangles.points_to_barycentric(triangles, np.asarray(points, np.float64))
    return surface.colors_at(face_index, bary)


def _rgb(colors) -> np.ndarray:
    """(N, 3|4) uint8 or float colors -> (N, 3) float in [0, 1]."""
    c = np.asarray(colors)
    c = c[:, :3].astype(np.float64)
    return c / 255.0 if np.asarray(colors).dtype.kind in "ui" or c.max() > 1.0 else c
