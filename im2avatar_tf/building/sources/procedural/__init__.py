"""Procedural textured meshes of the paper's four categories (car, chair, table, guitar).

    mesh = generate("chair", 17)         # trimesh.Trimesh with a TextureVisuals atlas
    params = describe("chair", 17)       # the sampled parameters (JSON-ready), e.g. for meta.json

Conventions: y is up, the object's front faces +z, units are roughly metres (the dataset builder
normalizes into the unit cube). Each mesh is a union of closed parts (they may interpenetrate)
with one texture atlas in which every part surface has its own tile; colours and patterns come
only from the texture. Output depends only on (category, index, seed). See docs/procedural.md.
"""

from __future__ import annotations

import copy

import trimesh

from . import car, chair, guitar, table
from .sampling import Sampler, rng_for

CATEGORIES = ("car", "chair", "table", "guitar")
_MODULES = {"car": car, "chair": chair, "table": table, "guitar": guitar}


def _module(category: str):
    if category not in _MODULES:
        raise ValueError(f"unknown category {category!r}; expected one of {CATEGORIES}")
    return _MODULES[category]


def describe(category: str, index: int, seed: int = 0, family: str | None = None) -> dict:
    """The sampled parameters of model ``index`` (body type, part counts, colours as 0-255 RGB, pattern...).
    ``family``: cars only, "wide" (the default) or "classic" (the generator before issue 34), see car/."""
    sampler = Sampler(rng_for(category, index, seed))
    if family is not None and category != "car":
        raise ValueError(f"only cars have families, not {category!r}")
    params = _module(category).sample(sampler, family) if family else _module(category).sample(sampler)
    return {"category": category, "index": int(index), "seed": int(seed), **params}


def generate(category: str, index: int, seed: int = 0, family: str | None = None) -> trimesh.Trimesh:
    """One textured triangle mesh; the same (category, index, seed, family) always gives the same mesh and texture."""
    params = describe(category, index, seed, family)
    mesh = _module(category).build(copy.deepcopy(params)).mesh()
    mesh.metadata.update({"category": category, "index": int(index), "seed": int(seed), "params": params})
    return mesh


__all__ = ["CATEGORIES", "describe", "generate"]
