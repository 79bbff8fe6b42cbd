"""Headless rendering by ray casting (trimesh + embreex): no OpenGL, no GPU.

One ray per pixel center (`Camera.rays`), first hit only. The albedo is `surface_colors` at the
hit (THE color lookup, shared with the voxelizer). Shading "lambert" is ambient + diffuse from
a light fixed to the camera (above, left and behind it), so every view is lit alike; faces are
two-sided (normals flipped towards the viewer) because real meshes have inconsistent winding.
Shading "flat" returns the albedo unshaded.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence

import numpy as np

from .camera import Camera, turntable_cameras
from ..images import BACKGROUND_RGB, to_uint8
from .surface import MeshLike, as_surface, surface_colors  # noqa: F401  (re-exported)

AMBIENT = 0.35
DIFFUSE = 0.65
# Direction towards the light in the camera frame (x right, y down, z forward).
LIGHT_CAMERA = np.array([-0.4, -0.7, -1.0]) / np.linalg.norm([-0.4, -0.7, -1.0])
SHADINGS = ("lambert", "flat")


@dataclass
class Rendering:
    """One view. Background pixels: rgb = background, depth = inf, mask False, albedo nan."""

    rgb: np.ndarray  # (H, W, 3) uint8
    depth: np.ndarray  # (H, W) float32, along the viewing axis
    mask: np.ndarray  # (H, W) bool, True on the object
    albedo: np.ndarray  # (H, W, 3) float32 in [0, 1], unshaded surface color


def render(mesh: MeshLike, camera: Camera, shading: str = "lambert",
           background: Sequence[int] = BACKGROUND_RGB) -> Rendering:
    """Render `mesh` (Trimesh, Scene or Surface) seen by `camera`."""
    if shading not in SHADINGS:
        raise ValueError(f"shading must be one of {SHADINGS}, got {shading!r}")
    surface = as_surface(mesh)
    size = camera.size
    origins, dirs = camera.rays()  # (H*W, 3) each
    # The intersector is cached on the mesh: the BVH is built once for all views.
    faces, rays, hits = surface.mesh.ray.intersects_id(
        origins, dirs, multiple_hits=False, return_locations=True)
    rot = camera.rotation  # rows: right, down, forward

    depth = np.full(size * size, np.inf, dtype=np.float32)
    depth[rays] = (hits - origins[rays]) @ rot[2]
    albedo = np.full((size * size, 3), np.nan, dtype=np.float32)
    color = surface_colors(surface, hits, faces)  # (K, 3)
    albedo[rays] = color
    if shading == "lambert":
        normals = surface.mesh.face_normals[faces]  # (K, 3)
        flip = np.einsum("kc,kc->k", normals, dirs[rays]) > 0  # facing away from the viewer
        normals[flip] *= -1
        light = LIGHT_CAMERA @ rot  # camera -> world
        color = color * (AMBIENT + DIFFUSE * np.clip(normals @ light, 0.0, None))[:, None]

    rgb = np.empty((size * size, 3), dtype=np.uint8)
    rgb[:] = np.asarray(background, dtype=np.uint8)
    rgb[rays] = to_uint8(color)
    mask = np.zeros(size * size, dtype=bool)
    mask[rays] = True
    return Rendering(rgb.reshape(size, size, 3), depth.reshape(size, size),
                     mask.reshape(size, size), albedo.reshape(size, size, 3))


def turntable(mesh: MeshLike, views: int = 8, size: int = 128, shading: str = "lambert",
              background: Sequence[int] = BACKGROUND_RGB, **camera_kwargs) -> List[np.ndarray]:
    """`views` images (H, W, 3) uint8 around the turntable, starting at azimuth 0. The mesh is
    used as it is: normalize it first (`building.meshes.normalize_mesh`) to fit the default frame."""
    surface = as_surface(mesh)
    return [render(surface, cam, shading, background).rgb
            for cam in turntable_cameras(views, size=size, **camera_kwargs)]
