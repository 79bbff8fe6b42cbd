"""Preview renders of generated people (orthographic ray casting; no GPU, no TensorFlow).

Only for looking at the output (the preview sheet); the dataset's views are rendered by the
dataset builder with its own cameras.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Sequence

import numpy as np
import trimesh
from PIL import Image, ImageDraw

from ....images import to_uint8
from ....io import write_png


def render(mesh: trimesh.Trimesh, size: int = 192, back: bool = False,
           extent: float = None) -> np.ndarray:
    """(size, size, 3) uint8 view of a glTF-oriented textured mesh from the front (+z) or the
    back, white background, a soft headlight."""
    lo, hi = mesh.bounds
    center = (lo + hi) / 2
    ext = extent or max(hi[0] - lo[0], hi[1] - lo[1]) * 1.08
    s = (np.arange(size) + 0.5) / size - 0.5
    X, Y = np.meshgrid(s * ext, -s * ext)
    sign = -1.0 if back else 1.0
    origins = np.c_[center[0] + sign * X.ravel(), center[1] + Y.ravel(),
                    np.full(X.size, center[2] + sign * 10.0)]
    direction = np.array([0.0, 0.0, -sign])
    ray_ids = mesh.ray.intersects_first(origins, np.tile(direction, (len(origins), 1)))
    img = np.ones((X.size, 3), np.float32)
    hit = ray_ids >= 0
    # Hit points: intersects_first gives the faces only.
    faces = ray_ids[hit]
    tris = mesh.triangles[faces]
    o = origins[hit]
    n = mesh.face_normals[faces]
    t = np.einsum("nd,nd->n", tris[:, 0] - o, n) / (n @ direction)
    p = o + t[:, None] * direction
    bary = trimesh.triangles.points_to_barycentric(tris, p)
    uv = np.einsum("nk,nkd->nd", bary, mesh.visual.uv[mesh.faces[faces]])
    tex = np.asarray(mesh.visual.material.image.convert("RGB"), np.float32) / 255.0
    h, w = tex.shape[:2]
    cols = np.clip((uv[:, 0] % 1.0) * w, 0, w - 1).astype(int)
    rows = np.clip((1.0 - uv[:, 1] % 1.0) * h, 0, h - 1).astype(int)
    shade = 0.55 + 0.45 * np.abs(n @ direction)
    img[hit] = tex[rows, cols] * shade[:, None]
    return to_uint8(img.reshape(size, size, 3))


def sheet(meshes: Sequence[trimesh.Trimesh], labels: Sequence[str], path: Path,
          size: int = 192, columns: int = 8) -> None:
    """A sheet of front and back views (two rows per group of `columns` meshes)."""
    extent = max(max(m.extents[0], m.extents[1]) for m in meshes) * 1.08
    tiles: List[np.ndarray] = []
    for m in meshes:
        tiles.append((render(m, size, False, extent), render(m, size, True, extent)))
    rows = (len(meshes) + columns - 1) // columns
    label_h = 14
    canvas = Image.new("RGB", (columns * size, rows * (2 * size + label_h)), "white")
    draw = ImageDraw.Draw(canvas)
    for i, ((front, back), label) in enumerate(zip(tiles, labels)):
        r, c = divmod(i, columns)
        y0 = r * (2 * size + label_h)
        draw.text((c * size + 3, y0 + 1), label[:30], fill=(0, 0, 0))
        canvas.paste(Image.fromarray(front), (c * size, y0 + label_h))
        canvas.paste(Image.fromarray(back), (c * size, y0 + label_h + size))
    write_png(path, np.asarray(canvas))
