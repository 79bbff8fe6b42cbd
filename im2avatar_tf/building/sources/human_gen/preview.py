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
    """(size, size, 3) uint8 view of a glTF-oriented textured mesh (or a Scene of parts) from
    the front (+z) or the back, white background, a soft headlight."""
    from ....scene.surface import as_surface

    surface = as_surface(mesh)
    mesh = surface.mesh
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
    shade = 0.55 + 0.45 * np.abs(n @ direction)
    img[hit] = surface.colors_at(faces, bary) * shade[:, None]
    return to_uint8(img.reshape(size, size, 3))


def sheet(meshes: Sequence[trimesh.Trimesh], labels: Sequence[str], path: Path,
          size: int = 192, columns: int = 8) -> None:
    """A sheet of front and back views (two rows per group of `columns` meshes)."""
    extent = max(max(e[0], e[1]) for e in (np.ptp(m.bounds, axis=0) for m in meshes)) * 1.08
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


def views_sheet(root: Path, path: Path, view: str = "0.000", columns: int = 12,
                size: int = 128, split: str = "both") -> int:
    """A grid of one rendered view of every person of a built human set (what the networks
    see), test people framed in red; torch-free. Returns the number of people shown."""
    from ....data.layout import HUMAN

    root = Path(root)
    entries = []
    for which in ("train", "test"):
        if split in (which, "both"):
            lines = HUMAN.split_list_path(root, which, HUMAN.CATEGORY).read_text().split("\n")
            entries += [(which, line.split()) for line in lines if line.strip()]
    tiles = []
    for which, (clothes, mesh) in entries:
        img = Image.open(root / clothes / mesh / "views" / f"{view}.png").convert("RGB")
        img = img.resize((size, size), Image.BILINEAR)
        if which == "test":
            ImageDraw.Draw(img).rectangle([0, 0, size - 1, size - 1], outline=(220, 30, 30), width=3)
        tiles.append(np.asarray(img))
    rows = (len(tiles) + columns - 1) // columns
    canvas = np.full((rows * size, columns * size, 3), 255, np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, columns)
        canvas[r * size:(r + 1) * size, c * size:(c + 1) * size] = t
    write_png(path, canvas)
    return len(tiles)

