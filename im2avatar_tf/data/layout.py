"""The released on-disk layout (reference section 4): one place that knows every path and name.

ShapeNet-style::

    {root}/{category_id}/{model_id}/views/{az}.png
    {root}/{category_id}/{model_id}/models/model_normalized_{R}.h5     "data" (R,R,R,3)
    {root}/{category_id}/{model_id}/models/{R}_{az}_coor.h5             "data" (R,R,R,2)
    {root}/data_list/{split}_list_{category}.txt                        one model id per line

Human-style::

    {root}/{clothes}/{mesh}/views/{az}.png
    {root}/{clothes}/{mesh}/{mesh}.h5                                    color volume
    {root}/{clothes}/{mesh}/flow/{R}_{az}_coor.h5                        flow volume
    {root}/{split}_list_human.txt                                        "clothes mesh" lines

Builders write through these functions and loaders read through them, so our data and the
authors' tarballs are interchangeable.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

from ..config import CATEGORY_IDS

NUM_VIEWS = 12
RESOLUTIONS_ON_DISK = (64, 32, 128, 16)  # volume sizes looked for, the released 64 first
SPLITS = ("train", "val", "test")
HUMAN_SPLITS = ("train", "test")


def view_azimuths(num_views: int = NUM_VIEWS) -> List[float]:
    """Azimuths in radians, k * 2pi / num_views (30 degree steps for 12 views)."""
    return [k * 2.0 * math.pi / num_views for k in range(num_views)]


def view_name(azimuth: float) -> str:
    """File stem of a view as released ('1.570', '3.140', '5.757')."""
    # The release computed its names with pi = 3.14, rounded to 3 decimals: k * 3.14 / 6
    # gives all twelve (2.093, 4.187, 5.757); truncating k * 2pi / 12 does not (2.094).
    return f"{round(azimuth / math.pi * 3.14, 3):.3f}"


VIEW_NAMES = tuple(view_name(a) for a in view_azimuths())
# The released names, checked against the reference.
assert VIEW_NAMES == ("0.000", "0.523", "1.047", "1.570", "2.093", "2.617", "3.140", "3.663",
                      "4.187", "4.710", "5.233", "5.757"), VIEW_NAMES


def category_id(category: str) -> str:
    """ShapeNet synset id for a category name; ids and other folder names pass through."""
    return CATEGORY_IDS.get(category, category)


@dataclass(frozen=True)
class ModelPaths:
    """All files of one model (one (clothes, mesh) pair for the human layout)."""

    root: Path  # the model's folder
    style: str  # "shapenet" or "human"
    resolution: int = 64

    @property
    def model_id(self) -> str:
        return self.root.name

    @property
    def views_dir(self) -> Path:
        return self.root / "views"

    def view(self, name: str) -> Path:
        return self.views_dir / f"{name}.png"

    @property
    def color(self) -> Path:
        if self.style == "human":
            return self.root / f"{self.root.name}.h5"
        return self.root / "models" / f"model_normalized_{self.resolution}.h5"

    def flow(self, name: str) -> Path:
        folder = "flow" if self.style == "human" else "models"
        return self.root / folder / f"{self.resolution}_{name}_coor.h5"

    @property
    def has_volumes(self) -> bool:
        """Whether the volumes exist at this resolution: the color file, or for the human
        layout, whose color file names no R ({mesh}.h5), the first view's flow file."""
        return (self.flow(VIEW_NAMES[0]) if self.style == "human" else self.color).exists()

    @property
    def meta(self) -> Path:
        """Our addition: cameras, source, licence (absent in the authors' release)."""
        return self.root / "meta.json"

    def required_files(self, view_names: Sequence[str] = VIEW_NAMES) -> List[Path]:
        """Every file a complete model has; a builder writes meta.json last as its marker."""
        files = [self.color]
        for v in view_names:
            files += [self.view(v), self.flow(v)]
        return files


def shapenet_model(root: os.PathLike, category: str, model_id: str, resolution: int = 64) -> ModelPaths:
    return ModelPaths(Path(root) / category_id(category) / model_id, "shapenet", resolution)


def human_model(root: os.PathLike, clothes: str, mesh: str, resolution: int = 64) -> ModelPaths:
    return ModelPaths(Path(root) / clothes / mesh, "human", resolution)


def detect_resolution(models: Sequence[ModelPaths], limit: int = 20) -> Optional[int]:
    """The R of a dataset: the first of RESOLUTIONS_ON_DISK at which one of the first `limit`
    models has its volumes; None if none has any."""
    for model in models[:limit]:
        for r in RESOLUTIONS_ON_DISK:
            if dataclasses.replace(model, resolution=r).has_volumes:
                return r
    return None


def split_list_path(root: os.PathLike, split: str, category: str) -> Path:
    """Split list file. Human lists live at the root; ShapeNet lists under data_list/."""
    if category == "human":
        return Path(root) / f"{split}_list_human.txt"
    return Path(root) / "data_list" / f"{split}_list_{category}.txt"


def detect_style(root: os.PathLike) -> str:
    """'human' if the root holds human split lists, else 'shapenet'."""
    root = Path(root)
    if any((root / f"{s}_list_human.txt").exists() for s in HUMAN_SPLITS):
        return "human"
    return "shapenet"


def read_split(root: os.PathLike, split: str, category: str, resolution: int = 64) -> List[ModelPaths]:
    """Models of one split, in file order. Raises FileNotFoundError naming the list file."""
    path = split_list_path(root, split, category)
    if not path.exists():
        raise FileNotFoundError(
            f"split list {path} not found: build a dataset with `python run.py build-dataset` "
            f"or point --data at a folder in the released layout")
    models = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line:
            continue
        if category == "human":
            clothes, mesh = line.split()
            models.append(human_model(root, clothes, mesh, resolution))
        else:
            models.append(shapenet_model(root, category, line, resolution))
    return models


def write_split(root: os.PathLike, split: str, category: str, entries: Sequence[str]) -> Path:
    """Write a split list atomically (entries: model ids, or 'clothes mesh' for humans)."""
    from .io import atomic_write_text

    path = split_list_path(root, split, category)
    atomic_write_text(path, "".join(f"{e}\n" for e in entries))
    return path


from ..images import WHITE_RGB  # noqa: E402  (re-exported: the human set's background)


def dataset_background(root: os.PathLike, category: str) -> tuple:
    """Background RGB of a dataset's views: from our meta.json (builder option) when present,
    else the release's convention (white for the human set, (245, 245, 245) otherwise)."""
    import json

    from ..images import BACKGROUND_RGB

    for split in SPLITS:
        try:
            models = read_split(root, split, category)
        except FileNotFoundError:
            continue
        for m in models[:1]:
            if m.meta.exists():
                background = json.loads(m.meta.read_text()).get("options", {}).get("background")
                if background:
                    return tuple(int(c) for c in background)
    return WHITE_RGB if category == "human" else BACKGROUND_RGB
