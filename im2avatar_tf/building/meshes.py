"""Load meshes from disk, reject broken ones with a one-line reason, normalize them.

Normalized frame: y up, the object's front toward +z (the procedural generator's convention: a
car's nose, headlights and grille are at +z), the bounding box centered at the origin, its
longest side 1, so the object lies in [-0.5, 0.5]^3, the span of the voxel grid
(`voxels.voxel_centers`). `orientation(up, front)` is the one rotation into that frame.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

import numpy as np
import trimesh

from ..scene.surface import MeshLike, Surface, as_surface

MESH_SUFFIXES = (".obj", ".glb", ".gltf", ".ply", ".off", ".stl")

UP_AXES = ("y", "z", "x")  # a source's up axis, turned to +y
FRONT_AXES = ("+z", "-z", "+x", "-x", "+y", "-y")  # where a source's front faces, turned to +z
# The front assumed when none is given: +z for y-up and x-up meshes, and -y for z-up meshes
# (Blender's convention; what `up="z"` has always done: (x, y, z) -> (x, z, -y)).
DEFAULT_FRONT: Dict[str, str] = {"y": "+z", "z": "-y", "x": "+z"}
_AXIS = {"x": np.array([1.0, 0, 0]), "y": np.array([0.0, 1, 0]), "z": np.array([0.0, 0, 1])}


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


def orientation(up: str = "y", front: Optional[str] = None) -> np.ndarray:
    """(3, 3) rotation taking a source's `up` axis ("y", "z", "x") to +y and its `front` axis
    ("+z", "-z", "+x", "-x", "+y", "-y"; a bare "x" means "+x") to +z, the frame of the training
    data (the procedural generator's: y up, front +z). `front=None`: `DEFAULT_FRONT[up]`.
    The one orientation routine of the builder: both axes go into one proper rotation."""
    if up not in UP_AXES:
        raise ValueError(f"up axis must be one of {list(UP_AXES)}, got {up!r}")
    front = DEFAULT_FRONT[up] if front is None else str(front)
    signed = front if front[:1] in "+-" else "+" + front
    if signed not in FRONT_AXES:
        raise ValueError(f"front axis must be one of {list(FRONT_AXES)}, got {front!r}")
    if signed[1] == up:
        perpendicular = [a for a in FRONT_AXES if a[1] != up]
        raise ValueError(f"--front {front} is parallel to --up {up}: the front must be "
                         f"perpendicular to the up axis ({', '.join(perpendicular)})")
    u = _AXIS[up]
    f = _AXIS[signed[1]] * (1.0 if signed[0] == "+" else -1.0)
    # Rows: the source's right (u x f), up and front; they map to +x, +y, +z (det +1).
    return np.stack([np.cross(u, f), u, f]) + 0.0  # + 0.0: no -0.0 in meta.json


def normalization(mesh: MeshLike, up: str = "y", front: Optional[str] = None) -> np.ndarray:
    """(4, 4) transform: rotate `up` to +y and `front` to +z (`orientation`), center the
    bounding box, scale its longest side to 1."""
    rot = orientation(up, front)
    geometry = as_surface(mesh).mesh
    verts = geometry.vertices[np.unique(geometry.faces)] @ rot.T  # (V, 3) used vertices only
    lo, hi = verts.min(axis=0), verts.max(axis=0)
    scale = 1.0 / float(np.max(hi - lo))
    m = np.eye(4)
    m[:3, :3] = scale * rot
    m[:3, 3] = -scale * (lo + hi) / 2.0
    return m


def normalize_mesh(mesh: MeshLike, up: str = "y",
                   front: Optional[str] = None) -> Union[trimesh.Trimesh, Surface]:
    """Into the unit cube centered at the origin (longest side 1), `up` turned to +y and `front`
    to +z. A Trimesh comes back as a transformed copy (visuals kept); anything else as a Surface."""
    matrix = normalization(mesh, up, front)
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
