"""Validate a dataset in the released layout (ours or the authors'), ShapeNet- or human-style.

Checks: split lists exist and point at existing models; every model has its color volume
((R, R, R, 3) float32, RGB in [0, 1] on surface voxels, all three channels -1 elsewhere, not
empty), all 12 views (readable RGB PNGs of one size) and 12 flow volumes ((R, R, R, 2), values in
[0, 1] exactly where the color is valid, -1 elsewhere); meta.json, our addition, parses when
present. Problems are collected by kind, not raised, so one run lists everything.
"""
from __future__ import annotations

import collections
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..io import read_h5
from .layout import VIEW_NAMES, Layout, ModelPaths, detect_resolution, layout_of

ERROR, WARNING = "error", "warning"
_EXAMPLES = 3  # examples printed per problem kind


@dataclass
class Problem:
    severity: str  # ERROR or WARNING
    kind: str  # short key, e.g. "flow valid off the surface"
    where: str  # file or model
    detail: str = ""


@dataclass
class CheckResult:
    root: Path
    style: str
    resolution: Optional[int]
    models: int = 0
    problems: List[Problem] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(p.severity == ERROR for p in self.problems)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def add(self, severity: str, kind: str, where, detail: str = "") -> None:
        self.problems.append(Problem(severity, kind, str(where), detail))

    def summary(self) -> str:
        """Per-problem summary: count, severity and a few examples per kind."""
        lines = [f"{self.root}: {self.style}-style, {self.models} models checked, "
                 f"resolution {self.resolution}"]
        groups: Dict[tuple, List[Problem]] = collections.defaultdict(list)
        for p in self.problems:
            groups[(p.severity, p.kind)].append(p)
        for (severity, kind), items in sorted(groups.items()):
            lines.append(f"  {severity:7s} {len(items):6d} x {kind}")
            for p in items[:_EXAMPLES]:
                detail = f": {p.detail}" if p.detail else ""
                lines.append(f"                   {p.where}{detail}")
        n_warn = len(self.problems) - self.errors
        lines.append(f"{'OK' if self.ok else 'FAILED'}: {self.errors} errors, {n_warn} warnings")
        return "\n".join(lines)


def check_dataset(root: os.PathLike, resolution: Optional[int] = None,
                  categories: Optional[Sequence[str]] = None, limit: Optional[int] = None,
                  progress: bool = True) -> CheckResult:
    """Check the dataset at `root`; `limit` checks at most that many models per category."""
    from tqdm import tqdm

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder {root} not found")
    layout = layout_of(root)
    categories = list(categories) if categories else layout.categories(root)
    result = CheckResult(root, layout.name, resolution)
    if not categories:
        result.add(ERROR, "no split lists", root,
                   "expected data_list/{train,val,test}_list_<category>.txt or "
                   "{train,test}_list_human.txt")
        return result
    models = _models_from_splits(root, layout, categories, result)
    if limit is not None:
        per_cat = collections.defaultdict(list)
        for cat, m in models:
            per_cat[cat].append((cat, m))
        models = [x for items in per_cat.values() for x in items[:limit]]
    if result.resolution is None:
        result.resolution = detect_resolution([m for _, m in models])
    if result.resolution is None:
        result.add(ERROR, "no color volumes found", root, "no model has a color volume file")
        return result
    for _, m in tqdm(models, desc="checking", unit="model", disable=not progress):
        check_model(ModelPaths(m.root, m.style, result.resolution), result)
        result.models += 1
    return result


def check_model(paths: ModelPaths, result: CheckResult) -> None:
    """Append the problems of one model to `result`."""
    if not paths.root.is_dir():
        result.add(ERROR, "model folder missing", paths.root)
        return
    r = result.resolution
    color = _read_volume(paths.color, (r, r, r, 3), result)
    valid = None
    if color is not None:
        valid = color > -0.5  # (R, R, R, 3)
        if np.any(valid.any(-1) != valid.all(-1)):
            result.add(ERROR, "color: -1 in some channels only", paths.color)
        vals = color[valid]
        if vals.size and (vals.min() < 0.0 or vals.max() > 1.0):
            result.add(ERROR, "color outside [0, 1] on the surface", paths.color,
                       f"range {vals.min():.3f}..{vals.max():.3f}")
        if np.any(color[~valid] != -1.0):
            result.add(WARNING, "empty voxels not exactly -1", paths.color)
        if not valid.any():
            result.add(ERROR, "color volume empty (no surface voxel)", paths.color)
        valid = valid.all(-1)  # (R, R, R)

    sizes = set()
    for name in VIEW_NAMES:
        view = paths.view(name)
        if not view.exists():
            result.add(ERROR, "view missing", view)
        else:
            sizes.add(_check_view(view, result))
        flow = _read_volume(paths.flow(name), (r, r, r, 2), result)
        if flow is None or valid is None:
            continue
        fvalid = flow > -0.5  # (R, R, R, 2)
        if np.any(fvalid[..., 0] != fvalid[..., 1]):
            result.add(ERROR, "flow: -1 in one channel only", paths.flow(name))
        fvalid = fvalid.all(-1)
        if np.any(fvalid & ~valid):
            result.add(ERROR, "flow valid off the surface", paths.flow(name),
                       f"{int(np.sum(fvalid & ~valid))} voxels")
        if np.any(valid & ~fvalid):
            result.add(WARNING, "surface voxels without flow", paths.flow(name),
                       f"{int(np.sum(valid & ~fvalid))} voxels")
        vals = flow[fvalid]
        if vals.size and (vals.min() < 0.0 or vals.max() > 1.0):
            result.add(ERROR, "flow outside [0, 1]", paths.flow(name),
                       f"range {vals.min():.3f}..{vals.max():.3f}")
    sizes.discard(None)
    if len(sizes) > 1:
        result.add(ERROR, "views of different sizes", paths.root, str(sorted(sizes)))
    if paths.meta.exists():
        try:
            json.loads(paths.meta.read_text())
        except ValueError as e:
            result.add(WARNING, "meta.json unreadable", paths.meta, str(e))


def _read_volume(path: Path, shape: tuple, result: CheckResult) -> Optional[np.ndarray]:
    if not path.exists():
        result.add(ERROR, "volume missing", path)
        return None
    try:
        import h5py

        with h5py.File(path, "r") as f:
            if "data" not in f:
                result.add(ERROR, "h5 without dataset 'data'", path, f"has {list(f.keys())}")
                return None
            if f["data"].dtype != np.float32:
                result.add(WARNING, "volume not float32", path, str(f["data"].dtype))
        data = read_h5(path)
    except (OSError, KeyError) as e:
        result.add(ERROR, "volume unreadable", path, str(e).splitlines()[0])
        return None
    if data.shape != shape:
        result.add(ERROR, "volume of wrong shape", path, f"{data.shape}, expected {shape}")
        return None
    if not np.all(np.isfinite(data)):
        result.add(ERROR, "volume has NaN or inf", path)
        return None
    return data


def _check_view(path: Path, result: CheckResult):
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode not in ("RGB", "RGBA"):
                result.add(WARNING, "view not RGB", path, im.mode)
            return im.size
    except Exception as e:  # PIL raises several types for bad files
        result.add(ERROR, "view unreadable", path, str(e))
        return None


def _models_from_splits(root: Path, layout: Layout, categories: Sequence[str],
                        result: CheckResult):
    """(category, ModelPaths) for every split entry; split problems go into `result`."""
    seen: Dict[tuple, str] = {}
    models = []
    for category in categories:
        for split in layout.splits:
            path = layout.split_list_path(root, split, category)
            if not path.exists():
                if split != "val":
                    result.add(ERROR, "split list missing", path)
                continue
            entries = layout.read_split(root, split, category)
            if not entries:
                result.add(WARNING, "split list empty", path)
            for m in entries:
                key = (category, str(m.root))
                if key in seen:
                    if seen[key] != split:
                        result.add(ERROR, "model in two splits", m.root, f"{seen[key]} and {split}")
                    continue
                seen[key] = split
                if not m.root.is_dir():
                    result.add(ERROR, "split entry without model folder", m.root, path.name)
                    continue
                models.append((category, m))
    return models
