"""Load meshes from disk, reject broken ones with a one-line reason, normalize them.

Normalized frame: y up, the bounding box centered at the origin, its longest side 1, so the
object lies in [-0.5, 0.5]^3, the span of the voxel grid (`voxels.voxel_centers`).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict, Tuple, Union

import numpy as np
import trimesh

from .surface import MeshLike, Surface, as_surface

MESH_SUFFIXES = (".obj", ".glb", ".gltf", ".ply", ".off", ".stl")

# Rotations taking a source's up axis to +y.
UP_ROTATIONS: Dict[str, np.ndarray] = {
    "y": np.eye(3),
    "z": np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]]),  # (x, y, z) -> (x, z, -y)
    "x": np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]]),  # (x, y, z) -> (-y, x, z)
}


class MeshError(ValueError):
    """A mesh that cannot be used; the message is the one-line reason for the build report."""


def load_mesh(path: Union[str, os.PathLike]) -> Surface:
    """Read a mesh file (obj+mtl+textures, glb/gltf, ply, off, stl) into a `Surface`.
    Raises MeshError (unreadable, missing texture or material file, empty, degenerate)."""
    path = Path(path)
    if not path.is_file():
        raise MeshError(f"mesh file {path} not found")
    if path.suffix.lower() == ".obj":
        _check_obj_references(path)
    try:
        scene = trimesh.load_scene(str(path))
    except Exception as e:  # trimesh raises many types on bad input
        raise MeshError(f"unreadable mesh {path.name}: {type(e).__name__}: {e}") from None
    try:
        surface = as_surface(scene)
    except ValueError:
        if _has_non_finite_vertices(path):  # trimesh drops them, and the triangles using them
            raise MeshError(f"{path.name}: vertex coordinates hold NaN or infinite values") from None
        raise MeshError(f"{path.name} has no triangles") from None
    check_surface(surface, path.name)
    return surface


def _has_non_finite_vertices(path: Path) -> bool:
    """Whether the file's raw vertices (as stored, before trimesh's clean-up) hold NaN or inf."""
    try:
        raw = trimesh.load_scene(str(path), process=False)
        return any(not np.all(np.isfinite(np.asarray(g.vertices, dtype=np.float64)))
                   for g in raw.geometry.values() if hasattr(g, "vertices"))
    except Exception:  # unreadable without processing either: keep the first reason
        return False


def check_surface(surface: Surface, name: str = "mesh") -> None:
    """Raise MeshError if the surface is empty, non-finite or degenerate (no area or flat box)."""
    mesh = surface.mesh
    if len(mesh.faces) == 0:
        raise MeshError(f"{name} has no triangles")
    if not np.all(np.isfinite(mesh.vertices)):
        raise MeshError(f"{name} has non-finite vertex coordinates")
    used = mesh.vertices[np.unique(mesh.faces)]
    extent = used.max(axis=0) - used.min(axis=0)
    if extent.max() <= 0 or mesh.area <= 1e-12 * extent.max() ** 2:
        raise MeshError(f"{name} is degenerate (zero area or zero extent)")


def normalization(mesh: MeshLike, up: str = "y") -> np.ndarray:
    """(4, 4) transform: rotate `up` to +y, center the bounding box, scale its longest side to 1."""
    if up not in UP_ROTATIONS:
        raise ValueError(f"up axis must be one of {sorted(UP_ROTATIONS)}, got {up!r}")
    geometry = as_surface(mesh).mesh
    rot = UP_ROTATIONS[up]
    verts = geometry.vertices[np.unique(geometry.faces)] @ rot.T  # (V, 3) used vertices only
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    scale = 1.0 / float(np.max(hi - lo))
    m = np.eye(4)
    m[:3, :3] = scale * rot
    m[:3, 3] = -scale * (lo + hi) / 2.0
    return m


def normalize_mesh(mesh: MeshLike, up: str = "y") -> Union[trimesh.Trimesh, Surface]:
    """Into the unit cube centered at the origin (longest side 1), `up` turned to +y.
    A Trimesh comes back as a transformed copy (visuals kept); anything else as a Surface."""
    matrix = normalization(mesh, up)
    if isinstance(mesh, trimesh.Trimesh):
        out = mesh.copy()
        out.apply_transform(matrix)
        return out
    return as_surface(mesh).transformed(matrix)


def _check_obj_references(path: Path) -> None:
    """OBJ files name their material libraries and those their textures: trimesh only warns
    when one is missing and loads the mesh gray, so check them here."""
    text = path.read_text(errors="replace")
    for lib in re.findall(r"^\s*mtllib\s+(.+?)\s*$", text, flags=re.M):
        mtl = _resolve(path.parent, lib)
        if mtl is None:
            raise MeshError(f"{path.name}: material library {lib!r} not found")
        for tex in re.findall(r"^\s*map_Kd\s+(.+?)\s*$", mtl.read_text(errors="replace"),
                              flags=re.M):
            name = tex.split()[-1]  # options such as "-s 1 1 1" come before the file name
            if _resolve(mtl.parent, name) is None:
                raise MeshError(f"{path.name}: texture image {name!r} (from {mtl.name}) not found")


def _resolve(folder: Path, name: str):
    """An existing file `name` relative to `folder` (exact case, then case-insensitive)."""
    candidate = folder / name.replace("\\", "/")
    if candidate.is_file():
        return candidate
    wanted = candidate.name.lower()
    parent = candidate.parent
    if parent.is_dir():
        for entry in parent.iterdir():
            if entry.name.lower() == wanted and entry.is_file():
                return entry
    return None


def describe(surface: Surface) -> Dict[str, object]:
    """Small summary for meta.json: triangles, parts and their color sources."""
    kinds: Tuple[str, ...] = surface.kinds
    return {"triangles": int(len(surface.mesh.faces)), "parts": len(kinds),
            "color_sources": sorted(set(kinds))}
