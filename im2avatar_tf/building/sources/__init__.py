"""Dataset sources: where build-dataset's meshes come from. Each source is a module here that
defines `SOURCE`, a `base.Source` (its name, its default output folder and background, and one
call, `build(request)`, that builds what a `base.Request` asks for); build-dataset looks the
source up by name and knows none of them.

    names()                 # ['procedural', 'folder', 'sweethome3d', 'human', ...]
    source = get("torcs")   # the module's SOURCE
    ok = source.build(Request(out="data/torcs-r32", options=BuildOptions(resolution=32)))

The registry is `MODULES` (a source's name -> the module defining it), so listing the names
imports no source (nor trimesh, nor the builder) and `--help` stays fast. A new source is a
module with its `SOURCE` and one line here.
"""
from __future__ import annotations

import importlib
from typing import List

MODULES = {
    "procedural": "procedural.jobs",
    "folder": "folder",
    "sweethome3d": "sweethome3d",
    "human": "human",
    "human-real": "human_real",
    "torcs": "torcs",
}


def names() -> List[str]:
    """Every source's name, in the order `--source` lists them."""
    return list(MODULES)


def get(name: str):
    """The `Source` called `name`."""
    if name not in MODULES:
        raise ValueError(f"unknown source {name!r}; choose one of {names()}")
    source = importlib.import_module(f"{__name__}.{MODULES[name]}").SOURCE
    if source.name != name:
        raise ValueError(f"{__name__}.{MODULES[name]} defines a source named {source.name!r}")
    return source
