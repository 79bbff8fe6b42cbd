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

`Layout` (`SHAPENET`, `HUMAN`; `layout_of(root)`, `layout_for(category)`) owns these paths, the
split lists and category discovery. Builders write through it and loaders read through it, so
our data and the authors' tarballs are interchangeable.
"""
from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from ..config import CATEGORY_IDS
from ..images import BACKGROUND_RGB, WHITE_RGB

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


class Layout:
    """One on-disk layout of the release: where a model's files are, where the split lists
    are, which categories a root holds and how models are named in the lists. The only place
    that knows how the ShapeNet-style and the human-style layouts differ."""

    name = ""
    splits: Tuple[str, ...] = SPLITS
    build_fractions = (0.7, 0.1, 0.2)  # train, val, test of a built dataset
    background: Tuple[int, int, int] = BACKGROUND_RGB  # the release's views, when meta.json is silent

    def owns(self, root: os.PathLike) -> bool:
        """Whether a dataset root is in this layout."""
        raise NotImplementedError

    def has_category(self, category: str) -> bool:
        """Whether a category's models live in this layout."""
        raise NotImplementedError

    def categories(self, root: os.PathLike) -> List[str]:
        """The categories a root holds (from its split lists), sorted."""
        raise NotImplementedError

    def split_list_path(self, root: os.PathLike, split: str, category: str) -> Path:
        raise NotImplementedError

    def model(self, root: os.PathLike, category: str, entry: str, resolution: int = 64) -> "ModelPaths":
        """A model from its line in a split list."""
        raise NotImplementedError

    def resolve_categories(self, categories: Optional[Sequence[str]]) -> Tuple[str, ...]:
        """The categories to read from a root in this layout, given the requested ones."""
        if not categories:
            raise ValueError("no categories given for a ShapeNet-style dataset")
        return tuple(categories)

    def entry(self, model_id: str, group: str) -> str:
        """A model's line in its split list (`group`: the human layout's clothes folder)."""
        return model_id

    def color_file(self, paths: "ModelPaths") -> Path:
        return paths.root / "models" / f"model_normalized_{paths.resolution}.h5"

    def flow_file(self, paths: "ModelPaths", view: str) -> Path:
        return paths.root / "models" / f"{paths.resolution}_{view}_coor.h5"

    def volumes_marker(self, paths: "ModelPaths") -> Path:
        """The file whose existence says a model has its volumes at `paths.resolution`."""
        return self.color_file(paths)

    def read_split(self, root: os.PathLike, split: str, category: str,
                   resolution: int = 64) -> List["ModelPaths"]:
        """Models of one split, in file order. Raises FileNotFoundError naming the list file."""
        path = self.split_list_path(root, split, category)
        if not path.exists():
            raise FileNotFoundError(
                f"split list {path} not found: build a dataset with `python run.py build-dataset` "
                f"or point --data at a folder in the released layout")
        lines = (line.strip() for line in path.read_text().splitlines())
        return [self.model(root, category, line, resolution) for line in lines if line]


class ShapeNetLayout(Layout):
    """{root}/{category_id}/{model_id}/..., lists {root}/data_list/{split}_list_{category}.txt"""

    name = "shapenet"

    def owns(self, root):
        return not HUMAN.owns(root)

    def has_category(self, category):
        return not HUMAN.has_category(category)

    def categories(self, root):
        found = set()
        for p in (Path(root) / "data_list").glob("*_list_*.txt"):
            m = re.match(r"(train|val|test)_list_(.+)\.txt$", p.name)
            if m:
                found.add(m.group(2))
        return sorted(found)

    def split_list_path(self, root, split, category):
        return Path(root) / "data_list" / f"{split}_list_{category}.txt"

    def model(self, root, category, entry, resolution=64):
        return ModelPaths(Path(root) / category_id(category) / entry, self.name, resolution)


class HumanLayout(Layout):
    """{root}/{clothes}/{mesh}/..., one category `human`, lists {root}/{split}_list_human.txt
    of "clothes mesh" lines (mesh names recur across clothes folders)."""

    name = "human"
    CATEGORY = "human"
    splits = HUMAN_SPLITS
    build_fractions = (0.9, 0.0, 0.1)  # the released human set: 330 train, 37 test
    background = WHITE_RGB

    def owns(self, root):
        return any(self.split_list_path(root, s, self.CATEGORY).exists() for s in self.splits)

    def has_category(self, category):
        return category == self.CATEGORY

    def categories(self, root):
        return [self.CATEGORY]

    def resolve_categories(self, categories):
        return (self.CATEGORY,)

    def split_list_path(self, root, split, category):
        return Path(root) / f"{split}_list_{self.CATEGORY}.txt"

    def model(self, root, category, entry, resolution=64):
        clothes, mesh = entry.split()
        return ModelPaths(Path(root) / clothes / mesh, self.name, resolution)

    def entry(self, model_id, group):
        return f"{group} {model_id}"

    def color_file(self, paths):
        return paths.root / f"{paths.root.name}.h5"

    def flow_file(self, paths, view):
        return paths.root / "flow" / f"{paths.resolution}_{view}_coor.h5"

    def volumes_marker(self, paths):
        # The color file ({mesh}.h5) names no R: the first view's flow file does.
        return self.flow_file(paths, VIEW_NAMES[0])


HUMAN = HumanLayout()
SHAPENET = ShapeNetLayout()
LAYOUTS = {layout.name: layout for layout in (SHAPENET, HUMAN)}


def layout_of(root: os.PathLike) -> Layout:
    """The layout of a dataset root: human-style if it holds human split lists, else ShapeNet."""
    return HUMAN if HUMAN.owns(root) else SHAPENET


def layout_for(category: str) -> Layout:
    """The layout a category's models are stored in."""
    return HUMAN if HUMAN.has_category(category) else SHAPENET


@dataclass(frozen=True)
class ModelPaths:
    """All files of one model (one (clothes, mesh) pair for the human layout)."""

    root: Path  # the model's folder
    style: str  # its layout's name: "shapenet" or "human"
    resolution: int = 64

    @property
    def layout(self) -> Layout:
        return LAYOUTS[self.style]

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
        return self.layout.color_file(self)

    def flow(self, name: str) -> Path:
        return self.layout.flow_file(self, name)

    @property
    def has_volumes(self) -> bool:
        """Whether the volumes exist at this resolution."""
        return self.layout.volumes_marker(self).exists()

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
    return SHAPENET.model(root, category, model_id, resolution)


def human_model(root: os.PathLike, clothes: str, mesh: str, resolution: int = 64) -> ModelPaths:
    return HUMAN.model(root, HUMAN.CATEGORY, HUMAN.entry(mesh, clothes), resolution)


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
    return layout_for(category).split_list_path(root, split, category)


def read_split(root: os.PathLike, split: str, category: str, resolution: int = 64) -> List[ModelPaths]:
    """Models of one split, in file order. Raises FileNotFoundError naming the list file."""
    return layout_for(category).read_split(root, split, category, resolution)


def write_split(root: os.PathLike, split: str, category: str, entries: Sequence[str]) -> Path:
    """Write a split list atomically (entries: model ids, or 'clothes mesh' for humans)."""
    from ..io import atomic_write_text

    path = split_list_path(root, split, category)
    atomic_write_text(path, "".join(f"{e}\n" for e in entries))
    return path


def dataset_background(root: os.PathLike, category: str) -> tuple:
    """Background RGB of a dataset's views: from our meta.json (builder option) when present,
    else the release's convention (white for the human set, (245, 245, 245) otherwise)."""
    import json

    layout = layout_for(category)
    for split in SPLITS:
        try:
            models = layout.read_split(root, split, category)
        except FileNotFoundError:
            continue
        for m in models[:1]:
            if m.meta.exists():
                background = json.loads(m.meta.read_text()).get("options", {}).get("background")
                if background:
                    return tuple(int(c) for c in background)
    return layout.background
