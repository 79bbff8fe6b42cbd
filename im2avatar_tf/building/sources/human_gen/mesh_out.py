"""Write a posed, textured body as a GLB (+ JSON sidecar), atomically.

The GLB follows glTF's axes: +y up, the person facing +z, meters, the same as anny rotated by
-90 degrees about x ((x, y, z) -> (x, z, -y)). Vertices are split at UV seams (glTF stores one
UV per vertex); faces inside the body (mouth, eye sockets) are dropped.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image

from ....io import atomic_path, atomic_write_text

ANNY_TO_GLTF = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


class SeamSplit:
    """The (vertex, uv) corner pairs of the mesh, computed once for every body."""

    def __init__(self, faces: np.ndarray, face_uv: np.ndarray, drop_faces: np.ndarray):
        keep = np.ones(len(faces), bool)
        keep[drop_faces] = False
        pairs = np.stack([faces[keep].ravel(), face_uv[keep].ravel()], 1)  # (3F', 2)
        unique, inverse = np.unique(pairs, axis=0, return_inverse=True)
        self.vertex = unique[:, 0]  # (V', ) source vertex of each output vertex
        self.uv = unique[:, 1]
        self.faces = inverse.reshape(-1, 3)  # (F', 3)


def textured_mesh(vertices: np.ndarray, split: SeamSplit, uv: np.ndarray,
                  texture: np.ndarray) -> trimesh.Trimesh:
    """vertices (V, 3) anny coordinates; texture (S, S, 3) uint8 -> glTF-oriented mesh."""
    verts = vertices[split.vertex] @ ANNY_TO_GLTF.T
    visual = trimesh.visual.TextureVisuals(
        uv=uv[split.uv], material=trimesh.visual.material.SimpleMaterial(
            image=Image.fromarray(texture), diffuse=[255, 255, 255, 255]))
    return trimesh.Trimesh(verts, split.faces, visual=visual, process=False)


def kept_faces(faces: np.ndarray, drop_faces: np.ndarray) -> np.ndarray:
    """The source faces without the dropped ones (mouth, eye sockets)."""
    keep = np.ones(len(faces), bool)
    keep[drop_faces] = False
    return faces[keep]


def textured_parts(vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray,
                   texture: np.ndarray) -> trimesh.Trimesh:
    """A textured mesh from output vertices in anny coordinates (K, 3), faces, per-vertex UVs
    (K, 2): the body with its garment shells; glTF-oriented."""
    visual = trimesh.visual.TextureVisuals(
        uv=uv, material=trimesh.visual.material.SimpleMaterial(
            image=Image.fromarray(texture), diffuse=[255, 255, 255, 255]))
    return trimesh.Trimesh(vertices @ ANNY_TO_GLTF.T, faces, visual=visual, process=False)


def to_gltf(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """A copy of a mesh in anny coordinates turned into glTF's axes."""
    out = mesh.copy()
    m = np.eye(4)
    m[:3, :3] = ANNY_TO_GLTF
    out.apply_transform(m)
    return out


def scene(parts, extra=()):
    """One mesh as is, or a Scene of `parts` (glTF axes) and `extra` (anny axes) as separate
    geometries (each keeps its own texture or vertex colors)."""
    meshes = list(parts) + [to_gltf(m) for m in extra]
    if len(meshes) == 1:
        return meshes[0]
    sc = trimesh.Scene()
    for i, m in enumerate(meshes):
        sc.add_geometry(m, geom_name=f"part{i}")
    return sc


def write_glb(mesh: trimesh.Trimesh, path: Path) -> None:
    data = trimesh.exchange.gltf.export_glb(mesh, include_normals=True)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_sidecar(path: Path, meta: dict) -> None:
    atomic_write_text(path, json.dumps(meta, indent=1, sort_keys=True) + "\n")
