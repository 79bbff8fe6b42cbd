"""A tiny dataset in the released layout for tests (not a test module): boxes of random size
and color, their surface shell as the color volume, a turntable-style orthographic flow per
view and small PNG views drawn from the same projection. Seconds to write, no renderer."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Sequence

import numpy as np
from PIL import Image

from im2avatar_tf.data import layout
from im2avatar_tf.io import write_h5

BACKGROUND = 245


def toy_volumes(rng: np.random.Generator, resolution: int):
    """(color (R,R,R,3) surface shell of a random box, flows {view: (R,R,R,2)}, images)."""
    R = resolution
    lo = rng.integers(1, R // 3, size=3)
    hi = rng.integers(2 * R // 3, R - 1, size=3)
    solid = np.zeros((R, R, R), bool)
    solid[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = True
    inner = np.zeros_like(solid)
    inner[lo[0] + 1:hi[0] - 1, lo[1] + 1:hi[1] - 1, lo[2] + 1:hi[2] - 1] = True
    shell = solid & ~inner
    base = rng.uniform(0.1, 0.9, size=3)
    color = np.full((R, R, R, 3), -1.0, np.float32)
    idx = np.argwhere(shell)
    # Two-tone: the color depends on height so color sampling has something to learn.
    color[shell] = np.clip(base + 0.3 * (idx[:, 1:2] / R - 0.5), 0, 1)
    centers = (idx + 0.5) / R - 0.5  # (n, 3) in (-0.5, 0.5)
    flows, views = {}, {}
    for k, name in enumerate(layout.VIEW_NAMES):
        a = k * np.pi / 6
        u = 0.5 + 0.9 * (np.cos(a) * centers[:, 0] + np.sin(a) * centers[:, 2])
        v = 0.5 - 0.9 * centers[:, 1]
        flow = np.full((R, R, R, 2), -1.0, np.float32)
        flow[shell] = np.stack([u, v], -1).clip(0, 0.999)
        flows[name] = flow
        size = 32
        img = np.full((size, size, 3), BACKGROUND, np.uint8)
        px = (flow[shell] * size).astype(int)
        img[px[:, 1], px[:, 0]] = (color[shell] * 255).astype(np.uint8)
        views[name] = img
    return color, flows, views


def write_toy_dataset(root: Path, categories: Sequence[str] = ("car", "chair"),
                      split_sizes: Dict[str, int] = None, resolution: int = 16,
                      seed: int = 0) -> Path:
    """Write a ShapeNet-style toy dataset under `root`; returns root."""
    root = Path(root)
    split_sizes = split_sizes or {"train": 6, "test": 3}
    rng = np.random.default_rng(seed)
    for cat in categories:
        for split, n in split_sizes.items():
            ids = [f"{cat}_{split}_{i:03d}" for i in range(n)]
            for mid in ids:
                m = layout.shapenet_model(root, cat, mid, resolution)
                write_toy_model(m, rng, resolution)
            layout.write_split(root, split, cat, ids)
    return root


def write_toy_model(m: layout.ModelPaths, rng: np.random.Generator, resolution: int) -> None:
    color, flows, views = toy_volumes(rng, resolution)
    write_h5(m.color, color, compress=False)
    for name in layout.VIEW_NAMES:
        write_h5(m.flow(name), flows[name], compress=False)
        m.views_dir.mkdir(parents=True, exist_ok=True)
        Image.fromarray(views[name]).save(m.view(name))


def write_toy_human(root: Path, pairs=(("clothes1", "mesh1_new"), ("clothes2", "mesh1_new"),
                                       ("clothes2", "mesh2_new")), resolution: int = 16,
                    seed: int = 0) -> Path:
    """A human-style toy dataset (mesh names repeat across clothes, as in the release)."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    for clothes, mesh in pairs:
        write_toy_model(layout.human_model(root, clothes, mesh, resolution), rng, resolution)
    lines = [f"{c} {m}" for c, m in pairs]
    layout.write_split(root, "train", "human", lines)
    layout.write_split(root, "test", "human", lines[:1])
    return root
