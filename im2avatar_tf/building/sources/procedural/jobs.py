"""The procedural source as builder jobs, and the procedural dataset a preset trains on.

    jobs = procedural_jobs(["car", "chair"], count=50, seed=0)   # builder.Job list
    root = ensure_dataset(preset.data, 32, "data/procedural-tiny")  # built once, then reused

`SOURCE` is the `procedural` source of build-dataset (`building.sources`).
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import List, Optional, Sequence

from ....config import CATEGORY_IDS
from ....data.layout import layout_for
from ...builder import REPORT_NAME, BuildOptions, Job, build_dataset, is_complete
from ..base import Request, Source, build_jobs
from . import describe, generate


def procedural_model_id(index: int, seed: int = 0) -> str:
    return f"proc{seed}_{index:05d}"


def procedural_jobs(categories: Sequence[str], count: int, seed: int = 0,
                    params: bool = True) -> List[Job]:
    """`count` generated models per category (deterministic in (category, index, seed)); each
    model's sampled parameters (`describe`: a car's family and type, sizes, livery) go into its
    meta.json under source.params (`params=False`: not drawn, for a completeness check)."""
    unknown = [c for c in categories if c not in CATEGORY_IDS]
    if unknown:
        raise ValueError(f"procedural categories must be among {sorted(CATEGORY_IDS)}, "
                         f"got {unknown}")
    return [Job(c, procedural_model_id(i, seed), functools.partial(generate, c, i, seed=seed),
                {"source": "procedural", "category": c, "index": i, "seed": seed,
                 **({"params": describe(c, i, seed)} if params else {})})
            for c in categories for i in range(count)]


class Procedural(Source):
    """Generated models: `--count` per category (default: the preset's, else 10), by seed."""

    name = "procedural"

    def build(self, request: Request) -> bool:
        preset = request.preset
        categories = request.wanted_categories()
        jobs = [job for c in categories for job in procedural_jobs(
            [c], request.count or (preset.data.count(c) if preset else 10), request.seed)]
        return build_jobs(self.name, jobs, categories, request)


SOURCE = Procedural()


def ensure_dataset(data_cfg, resolution: int, root: os.PathLike,
                   workers: Optional[int] = None, progress: bool = True) -> Path:
    """Build (or resume, or reuse) the procedural dataset a preset needs and return its root.
    `data_cfg`: config.DataConfig (categories, models_per_category, render_size, views, seed).
    Cheap when complete: a stat per file, no decoding."""
    if data_cfg.source != "procedural":
        raise ValueError(f"the preset's data source is {data_cfg.source!r}: only procedural data "
                         f"is built automatically; pass --data DIR")
    options = BuildOptions(resolution=resolution, image_size=data_cfg.render_size,
                           views=data_cfg.views)

    def jobs(params: bool) -> List[Job]:
        return [job for c in data_cfg.categories
                for job in procedural_jobs([c], data_cfg.count(c), data_cfg.seed, params)]

    root = Path(root)
    lists = [layout_for(c).split_list_path(root, s, c) for c in data_cfg.categories
             for s in layout_for(c).splits]
    if all(p.exists() for p in lists) and all(is_complete(j.paths(root, options.resolution), options)
                                              for j in jobs(params=False)):
        return root
    report = build_dataset(jobs(params=True), root, options, workers=workers or os.cpu_count() or 1,
                           seed=data_cfg.seed, progress=progress)
    if not (report.built or report.reused):
        raise ValueError(f"no model of {root} could be built; see {root / REPORT_NAME}")
    return root
