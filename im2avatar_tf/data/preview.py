"""Contact sheet of a dataset: per model, four of its views and its colored voxels from two angles.

The voxels are drawn as face-colored cubes (`meshing.to_voxel_mesh`) with the project's own
renderer, so the sheet shows exactly what the color volume holds.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

from ..images import BACKGROUND_RGB, WHITE_RGB
from ..voxels import occupancy_from_color
from .layout import ModelPaths, detect_resolution, layout_of

SHEET_VIEWS = ("0.000", "1.570", "3.140", "4.710")  # 0, 90, 180, 270 degrees
VOXEL_AZIMUTHS = (0.6, 3.8)  # radians: front-left and back-right, seen from above


def render_voxels(color: np.ndarray, size: int = 128, azimuths: Sequence[float] = VOXEL_AZIMUTHS
                  ) -> List[np.ndarray]:
    """Images (size, size, 3) uint8 of the colored voxels, one per azimuth."""
    from ..scene.camera import Camera
    from ..scene.render import render
    from ..scene.surface import as_surface
    from ..meshing import to_voxel_mesh

    occupied = occupancy_from_color(color)  # (R, R, R)
    if not occupied.any():
        return [np.full((size, size, 3), BACKGROUND_RGB, np.uint8) for _ in azimuths]
    surface = as_surface(to_voxel_mesh(occupied, color))
    return [render(surface, Camera.turntable(a, size=size)).rgb for a in azimuths]


def pick_models(root: os.PathLike, per_category: int = 3,
                categories: Optional[Sequence[str]] = None) -> List[ModelPaths]:
    """The first `per_category` models of each category's test (else any) split."""
    root = Path(root)
    layout = layout_of(root)
    categories = list(categories) if categories else layout.categories(root)
    if not categories:
        raise FileNotFoundError(f"no split lists under {root}: is it a dataset in the released "
                                f"layout? (build one with `python run.py build-dataset`)")
    picked = []
    for category in categories:
        models: List[ModelPaths] = []
        for split in reversed(layout.splits):
            try:
                models += layout.read_split(root, split, category)
            except FileNotFoundError:
                continue
        picked += models[:per_category]
    return picked


def contact_sheet(root: os.PathLike, out: os.PathLike, per_category: int = 3,
                  categories: Optional[Sequence[str]] = None, tile: int = 128) -> Path:
    """Write the contact sheet PNG of `root` to `out`; returns `out`."""
    from PIL import Image, ImageDraw

    from ..images import read_image
    from ..io import read_h5, write_png

    models = pick_models(root, per_category, categories)
    resolution = detect_resolution(models)
    if resolution is None:
        raise FileNotFoundError(f"no color volume found under {root}")
    label_h = 14
    cols = len(SHEET_VIEWS) + len(VOXEL_AZIMUTHS)
    sheet = Image.new("RGB", (cols * tile, len(models) * (tile + label_h)), WHITE_RGB)
    draw = ImageDraw.Draw(sheet)
    for row, m in enumerate(models):
        m = ModelPaths(m.root, m.style, resolution)
        y = row * (tile + label_h)
        draw.text((4, y + 1), f"{m.root.parent.name}/{m.model_id}   views | voxels "
                  f"{resolution}^3 from two angles", fill=(0, 0, 0))
        tiles = []
        for name in SHEET_VIEWS:
            try:
                tiles.append(read_image(m.view(name))[..., :3])
            except (FileNotFoundError, ValueError):
                tiles.append(np.full((tile, tile, 3), (255, 0, 0), np.uint8))  # red: missing
        try:
            tiles += render_voxels(read_h5(m.color), tile)
        except (OSError, KeyError):
            tiles += [np.full((tile, tile, 3), (255, 0, 0), np.uint8)] * len(VOXEL_AZIMUTHS)
        for col, img in enumerate(tiles):
            im = Image.fromarray(img)
            if im.size != (tile, tile):
                im = im.resize((tile, tile), Image.BILINEAR)
            sheet.paste(im, (col * tile, y + label_h))
    return write_png(out, np.asarray(sheet))
