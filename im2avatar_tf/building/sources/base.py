"""What a dataset source is: the one interface build-dataset uses."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Tuple


@dataclass(frozen=True)
class Request:
    """One build as build-dataset asks for it, its flags parsed and checked. A source reads the
    fields that concern it; None: the flag was not given (the source's default applies)."""

    out: str  # the dataset root to write
    options: object  # builder.BuildOptions: resolution, views, cameras, orientation, background
    preset: object = None  # config.Preset of --preset: default categories and counts
    categories: Optional[Tuple[str, ...]] = None  # --categories
    count: Optional[int] = None  # --count: models per category (at most, for real sets)
    seed: int = 0
    workers: int = 1
    progress: bool = True
    input: Optional[str] = None  # folder: the folder of meshes
    mapping: Optional[str] = None  # folder: a (path, category) CSV or JSON file
    bodies: Optional[int] = None  # human: body meshes
    styles: Optional[int] = None  # human: clothing styles
    pairs: Optional[int] = None  # human: (clothes, body) pairs
    human_variety: Optional[str] = None  # human: classic / poses / clothes / wide (default)
    torcs_split: Optional[str] = None  # torcs: "test" (all) or "by-model" (held out by body)
    say: Callable[[str], None] = print  # where the source says what it builds and built

    def wanted_categories(self) -> Tuple[str, ...]:
        """--categories, else the preset's, else the paper's four."""
        from ...config import CATEGORIES

        return tuple(self.categories or (self.preset.data.categories if self.preset
                                         else CATEGORIES))


class Source:
    """Where one kind of mesh comes from and how it becomes a dataset. Subclasses set the
    attributes and implement `build`."""

    name = ""
    default_out = "{name}-r{resolution}"  # under data/, when --out is not given
    background: Optional[Tuple[int, int, int]] = None  # its own default; None: the builder's

    def out_dir(self, resolution: int) -> str:
        """The folder name under data/ a build writes to by default."""
        return self.default_out.format(name=self.name, resolution=resolution)

    def build(self, request: Request) -> bool:
        """Build (or resume) the dataset `request` asks for into `request.out`, saying what it
        does through `request.say`; True when the build succeeded."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<source {self.name}>"


def build_jobs(source: str, jobs: Sequence, categories: Sequence[str], request: Request) -> bool:
    """A list of builder jobs through the builder's one loop (build_report.json, split lists);
    True when some model was built or reused."""
    import os

    from ..builder import build_dataset

    if not jobs:
        raise ValueError(f"nothing to build for categories {list(categories)} from {source}")
    options = request.options
    request.say(f"{len(jobs)} models -> {request.out} ({options.resolution}^3, {options.views} "
                f"views of {options.image_size} px, {request.workers} workers)")
    report = build_dataset(jobs, request.out, options, workers=request.workers,
                           seed=request.seed, progress=request.progress)
    request.say(report.summary())
    if report.skipped:
        request.say(f"skipped models and reasons: "
                    f"{os.path.join(request.out, 'build_report.json')}")
    return bool(report.built or report.reused)
