"""The `folder` source: meshes from a folder, one subfolder per category (or a mapping file).

It turns into a list of `builder.Job`s (category, model id, a picklable loader), built by
the builder's one loop; `SOURCE` is the `folder` source of build-dataset (`building.sources`).
"""
from __future__ import annotations

import csv
import functools
import json
import os
import re
from pathlib import Path
from typing import Dict, List, Optional

from ...config import CATEGORY_IDS
from ..builder import Job
from ..meshes import MESH_SUFFIXES, load_mesh, orientation
from .base import Request, Source, build_jobs

# File stems that name the format, not the model (ShapeNet v1 model.obj, v2 model_normalized.obj).
_GENERIC_STEMS = {"model", "model_normalized", "mesh", "scene"}


# -- folder ------------------------------------------------------------------------------------
def folder_jobs(root: os.PathLike, mapping: Optional[os.PathLike] = None,
                up: str = "y", front: Optional[str] = None) -> List[Job]:
    """Meshes under `root`: one subfolder per category (a name such as `chair` or a ShapeNet
    id), searched recursively; or, with `mapping`, a CSV / JSON file of (path, category).
    `up` ("y", "z", "x") and `front` ("+z", "-z", "+x", "-x", "+y", "-y"; None: the default for
    `up`, see `meshes.DEFAULT_FRONT`): how the meshes are oriented; the build turns them into the
    frame of the procedural training data, y up and the front toward +z (`meshes.orientation`)."""
    orientation(up, front)  # refuse a bad pair (front parallel to up) before any work
    root = Path(root).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"mesh folder {root} not found; give a folder of meshes with "
                                f"one subfolder per category")
    entries = _read_mapping(root, Path(mapping)) if mapping else _scan_categories(root)
    if not entries:
        raise ValueError(f"no meshes ({', '.join(MESH_SUFFIXES)}) found under {root}; put them "
                         f"in one subfolder per category (e.g. {root}/chair/x.obj) or pass "
                         f"--mapping")
    jobs = []
    for path, category, rel in entries:
        jobs.append(Job(category, folder_model_id(rel), functools.partial(load_mesh, path),
                        {"source": "folder", "path": str(path)}, up, front=front))
    return jobs


class Folder(Source):
    """A folder of meshes (`--input`, `--mapping`), oriented by `--up` and `--front`."""

    name = "folder"

    def build(self, request: Request) -> bool:
        if not request.input:
            raise ValueError("--source folder needs --input DIR (a folder of meshes)")
        categories = request.wanted_categories()
        jobs = folder_jobs(request.input, request.mapping, up=request.options.up,
                           front=request.options.front)
        if request.categories:
            jobs = [j for j in jobs if j.category in categories]
        return build_jobs(self.name, jobs, categories, request)


SOURCE = Folder()


def folder_model_id(rel: Path) -> str:
    """Model id from a mesh's path below its category folder: `a/b.obj` -> `a_b`, `a/a.obj` ->
    `a`; ShapeNet-style `<id>/models/model_normalized.obj` or `<id>/model.obj` -> `<id>`."""
    parts = list(rel.with_suffix("").parts)
    if parts[-1].lower() in _GENERIC_STEMS and len(parts) > 1:
        parts = parts[:1]
    elif len(parts) > 1 and parts[-1] == parts[-2]:  # `<name>/<name>.obj` -> `<name>`
        parts = parts[:-1]
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "_".join(parts)).strip("_") or "model"


def _scan_categories(root: Path):
    entries = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(folder.rglob("*")):
            if path.suffix.lower() in MESH_SUFFIXES and path.is_file():
                entries.append((path, _category_name(folder.name), path.relative_to(folder)))
    return entries


def _category_name(name: str) -> str:
    """Folder name -> category name ('03001627' -> 'chair'); other names are kept."""
    by_id: Dict[str, str] = {v: k for k, v in CATEGORY_IDS.items()}
    return by_id.get(name, name)


def _read_mapping(root: Path, mapping: Path):
    """CSV rows `path,category` (a header row is allowed) or a JSON object {path: category}."""
    if not mapping.is_file():
        raise FileNotFoundError(f"mapping file {mapping} not found")
    if mapping.suffix.lower() == ".json":
        items = json.loads(mapping.read_text()).items()
    else:
        with open(mapping, newline="") as f:
            items = [row[:2] for row in csv.reader(f) if len(row) >= 2
                     and not row[0].startswith("#")]
        if items and items[0][0].strip().lower() == "path":
            items = items[1:]
    entries = []
    for p, c in items:
        rel = Path(p.strip())
        path = rel if rel.is_absolute() else root / rel
        below = Path(rel.name) if rel.is_absolute() else rel  # names the model id
        entries.append((path, _category_name(c.strip()), below))
    return entries
