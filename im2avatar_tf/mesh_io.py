"""Write colored geometry so it opens colored in common viewers (Blender, MeshLab, three.js).

One rule for every format: colors are stored per vertex, because that is what all viewers show
by default. A mesh with face colors (the voxel mesh) gets its vertices split per face first, so
each face keeps its exact color.

- `.ply` (binary) and `.obj` (`v x y z r g b`): sRGB colors, as MeshLab and Blender read them.
- `.glb`: glTF 2.0 says COLOR_0 is *linear*, so sRGB colors are decoded to linear first (what
  Blender's own exporter does); the primitive gets a white, non-metallic, double-sided material,
  which glTF viewers multiply by COLOR_0, so the model is colored without any setup.
- `.stl` (binary): triangles only, no colors (the format has none): for 3D printing. The smooth
  surface (`meshing.to_surface_mesh`) is closed, so its STL is watertight.

All files are written atomically (temporary name, then rename).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Union

import numpy as np
import trimesh

from .io import atomic_path
from .images import to_uint8

MESH_FORMATS = (".ply", ".obj", ".glb", ".stl")
Geometry = Union[trimesh.Trimesh, trimesh.PointCloud]


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1] -> linear light in [0, 1] (the IEC 61966-2-1 curve)."""
    rgb = np.clip(np.asarray(rgb, dtype=np.float64), 0.0, 1.0)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def vertex_colored(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """The same surface with colors per vertex: face-colored meshes get one vertex per face
    corner (exact face colors); vertex-colored ones are returned as they are."""
    if mesh.visual.kind != "face":
        return mesh
    face_rgba = mesh.visual.face_colors  # (F, 4) uint8
    split = trimesh.Trimesh(mesh.vertices[mesh.faces].reshape(-1, 3),
                            np.arange(3 * len(mesh.faces)).reshape(-1, 3), process=False,
                            vertex_colors=np.repeat(face_rgba, 3, axis=0))
    return split


class NotWatertightWarning(UserWarning):
    """An STL was written from a surface that is not closed and manifold."""


def unpaired_edges(mesh: trimesh.Trimesh) -> int:
    """How many edges of `mesh` are not shared by exactly two faces (0: watertight, as
    trimesh's `is_watertight` defines it), counting vertices at the same place as one."""
    merged = trimesh.Trimesh(mesh.vertices, mesh.faces, process=True)
    groups = trimesh.grouping.group_rows(merged.edges_sorted, require_count=None)
    return int(sum(len(g) != 2 for g in groups))


def write_geometry(geometry: Geometry, path: Union[str, os.PathLike]) -> Path:
    """Write a colored mesh or point cloud to `path`; the suffix picks the format."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MESH_FORMATS:
        raise ValueError(f"cannot write {path.name}: the suffix must be one of "
                         f"{', '.join(MESH_FORMATS)} (or .h5 for the raw prediction volumes)")
    if suffix == ".stl" and not isinstance(geometry, trimesh.Trimesh):
        raise ValueError(f"cannot write {path.name}: STL holds triangles, not points; use the "
                         f"mesh or voxel geometry")
    if suffix == ".stl":
        open_edges = unpaired_edges(geometry)
        if open_edges:
            warnings.warn(f"{path}: not watertight ({open_edges} edges are not shared by exactly "
                          f"two triangles; a simplified surface (--faces) can pinch): a slicer "
                          f"may need to repair it", NotWatertightWarning, stacklevel=2)
    elif isinstance(geometry, trimesh.Trimesh):
        geometry = vertex_colored(geometry)
    if suffix == ".glb":
        geometry = _gltf_ready(geometry)
    with atomic_path(path) as tmp:
        if suffix == ".obj" and isinstance(geometry, trimesh.PointCloud):
            tmp.write_text(_point_obj(geometry))
        else:
            geometry.export(file_obj=str(tmp), file_type=suffix[1:])
    return path


def _gltf_ready(geometry: Geometry) -> Geometry:
    """A copy whose colors are linear and, for meshes, carried next to a white material.

    trimesh writes COLOR_0 and the material together when the visual is a `TextureVisuals`
    with a `color` vertex attribute (no texture, no UVs needed).
    """
    if isinstance(geometry, trimesh.PointCloud):
        rgba = geometry.colors.copy()
        rgba[:, :3] = _linear8(rgba[:, :3])
        return trimesh.PointCloud(geometry.vertices, colors=rgba)
    rgba = geometry.visual.vertex_colors.copy()  # (V, 4) uint8, sRGB
    rgba[:, :3] = _linear8(rgba[:, :3])
    material = trimesh.visual.material.PBRMaterial(
        name="vertex_color", baseColorFactor=[255, 255, 255, 255], metallicFactor=0.0,
        roughnessFactor=1.0, doubleSided=True)
    visual = trimesh.visual.TextureVisuals(material=material)
    visual.vertex_attributes["color"] = rgba
    return trimesh.Trimesh(geometry.vertices, geometry.faces, visual=visual, process=False)


def _linear8(rgb8: np.ndarray) -> np.ndarray:
    return to_uint8(srgb_to_linear(rgb8 / 255.0))


def _point_obj(points: trimesh.PointCloud) -> str:
    """A point cloud as OBJ vertices with colors (`v x y z r g b`, colors in [0, 1])."""
    rgb = points.colors[:, :3] / 255.0
    rows = np.concatenate([points.vertices, rgb], axis=1)
    return "".join(f"v {x:.6f} {y:.6f} {z:.6f} {r:.4f} {g:.4f} {b:.4f}\n"
                   for x, y, z, r, g, b in rows)
