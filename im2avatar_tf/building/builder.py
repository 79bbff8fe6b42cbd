"""Build datasets in the released layout: one model (`build_model`) or many (`build_dataset`).

Per model: normalize, voxelize the colored shell, render the views, compute one flow volume per
view, write `meta.json` LAST. Every file is written atomically, so a model is complete iff its
meta.json (matching resolution and image size) and all its files exist: a killed build resumes
where it stopped. Broken meshes are skipped with a one-line reason in `build_report.json`; a
file that cannot be written (disk full, file too large, read-only) stops the whole build with a
`BuildWriteError` naming it.
"""
from __future__ import annotations

import errno
import json
import math
import os
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..data.layout import ModelPaths, layout_for, view_azimuths, view_name, write_split
from ..images import BACKGROUND_RGB, WHITE_RGB
from ..io import atomic_write_text, write_h5, write_png
from ..scene.camera import DEFAULT_DISTANCE, DEFAULT_ELEVATION, DEFAULT_FOV, Camera

META_FORMAT = "im2avatar_tf-build/1"
SPLIT_FRACTIONS = (0.7, 0.1, 0.2)  # train, val, test (a layout may set its own)
REPORT_NAME = "build_report.json"


class BuildWriteError(OSError):
    """A dataset file could not be written: the build stops (every other model would fail the
    same way). Made as BuildWriteError(errno, strerror, filename), so it crosses processes."""

    HINTS = {errno.ENOSPC: "the disk is full: free space, or build into another --out",
             errno.EDQUOT: "the disk quota is used up: free space, or build into another --out",
             errno.EFBIG: "over the file-size limit (see `ulimit -f`) or the file system's",
             errno.EROFS: "a read-only file system: build into another --out",
             errno.EACCES: "no permission: build into a folder you can write",
             errno.EPERM: "no permission: build into a folder you can write"}

    def __str__(self) -> str:
        hint = self.HINTS.get(self.errno, "")
        code = f" [Errno {self.errno}]" if self.errno is not None else ""
        return (f"cannot write {self.filename}: {self.strerror}{code}{'; ' + hint if hint else ''}"
                f". The build stopped; finished models are kept and the same command resumes")


def _write(write: Callable, path: Path, *args, **kwargs) -> None:
    """`write(path, *args, **kwargs)`; an OSError becomes a BuildWriteError naming `path`."""
    try:
        write(path, *args, **kwargs)
    except OSError as e:
        raise BuildWriteError(e.errno, e.strerror or str(e), str(path)) from None


@dataclass(frozen=True)
class BuildOptions:
    """How a model is built; the defaults are the released format (64^3, 12 views of 128 px)."""

    resolution: int = 64
    image_size: int = 128
    views: int = 12
    shading: str = "lambert"  # or "flat" (unshaded albedo)
    background: Tuple[int, int, int] = BACKGROUND_RGB  # the human set uses WHITE_RGB
    elevation_deg: float = DEFAULT_ELEVATION
    distance: float = DEFAULT_DISTANCE
    fov_deg: float = DEFAULT_FOV
    normalize: bool = True
    up: str = "y"  # the input mesh's up axis, turned to +y (see meshes.orientation)
    front: Optional[str] = None  # where its front faces, turned to +z; None: meshes.DEFAULT_FRONT
    sample_spacing: float = 1.0 / 3.0  # voxelizer lattice step, in voxels
    similar_color: float = 0.1  # flow: RGB distance for "similar color"

    def cameras(self) -> List[Camera]:
        return [Camera.turntable(a, self.elevation_deg, self.distance, self.fov_deg,
                                 self.image_size) for a in view_azimuths(self.views)]

    def view_names(self) -> List[str]:
        return [view_name(a) for a in view_azimuths(self.views)]


def parse_background(text: str) -> Tuple[int, int, int]:
    """'white', 'gray' (the released 245) or 'R,G,B' with 0..255 integers."""
    named = {"white": WHITE_RGB, "gray": BACKGROUND_RGB, "grey": BACKGROUND_RGB}
    if text.lower() in named:
        return named[text.lower()]
    try:
        rgb = tuple(int(v) for v in text.split(","))
    except ValueError:
        rgb = ()
    if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
        raise ValueError(f"background {text!r} must be 'white', 'gray' or R,G,B with 0..255 values")
    return rgb


def build_model(mesh, paths: ModelPaths, options: BuildOptions = BuildOptions(),
                source: Optional[dict] = None) -> dict:
    """Build one model into `paths` (ShapeNet- or human-style) and return its meta.json dict.
    `mesh`: Trimesh, Scene or Surface. Raises MeshError for an unusable mesh."""
    from ..scene.render import render
    from ..scene.surface import as_surface
    from .flow import flow_volume
    from .meshes import check_surface, describe, normalization
    from .voxelize import colored_shell

    if paths.resolution != options.resolution:
        raise ValueError(f"paths are for {paths.resolution}^3 but options.resolution is "
                         f"{options.resolution}; make them agree")
    seconds = {"voxelize": 0.0, "render": 0.0, "flow": 0.0, "write": 0.0}
    clock = time.perf_counter()

    def lap(key: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[key] += now - clock
        clock = now

    surface = as_surface(mesh)
    check_surface(surface, paths.model_id)
    matrix = (normalization(surface, options.up, options.front) if options.normalize
              else np.eye(4))
    surface = surface.transformed(matrix)
    _write(Path.unlink, paths.meta, missing_ok=True)  # a model being rewritten is not complete
    shell = colored_shell(surface, options.resolution, options.sample_spacing)
    lap("voxelize")
    _write(write_h5, paths.color, shell.color)
    lap("write")
    views = []
    for name, camera in zip(options.view_names(), options.cameras()):
        view = render(surface, camera, options.shading, options.background)
        lap("render")
        flow = flow_volume(shell.color, camera, view, options.similar_color)
        lap("flow")
        _write(write_png, paths.view(name), view.rgb)
        _write(write_h5, paths.flow(name), flow)
        lap("write")
        views.append({"name": name, "azimuth": camera.azimuth, "camera": camera.to_dict()})
    meta = {
        "format": META_FORMAT,
        "model_id": paths.model_id,
        "style": paths.style,
        "resolution": options.resolution,
        "image_size": options.image_size,
        "options": _jsonable(asdict(options)),
        "views": views,
        "normalization": matrix.tolist(),
        "occupied_voxels": int(shell.occupied.sum()),
        "mesh": describe(surface),
        "source": _jsonable(source or {}),
        "seconds": {k: round(v, 4) for k, v in seconds.items()},
    }
    _write(atomic_write_text, paths.meta, json.dumps(meta, indent=1))
    return meta


def is_complete(paths: ModelPaths, options: BuildOptions = BuildOptions()) -> bool:
    """True iff meta.json matches the options' resolution, image size and orientation (up,
    front) and every file exists."""
    try:
        meta = json.loads(paths.meta.read_text())
    except (OSError, ValueError):
        return False
    if meta.get("resolution") != options.resolution or meta.get("image_size") != options.image_size:
        return False
    built = meta.get("options") or {}
    if any(built.get(key, getattr(options, key)) != getattr(options, key) for key in ("up", "front")):
        return False  # built in another orientation (older meta.json lack "front": as given)
    return all(p.exists() for p in paths.required_files(options.view_names()))


# -- many models -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    """One mesh to build: where it goes and how to load it (picklable, for worker processes)."""

    category: str  # category name ("car") or id
    model_id: str
    load: Callable[[], object]  # -> Trimesh / Scene / Surface; raises MeshError when broken
    source: dict = field(default_factory=dict)  # goes into meta.json (name, creator, licence)
    up: str = "y"  # the mesh's up axis and front (as in BuildOptions): a job's own win
    group: str = "default"  # human layout only: the clothes folder the model goes in
    front: Optional[str] = None  # None: meshes.DEFAULT_FRONT[up]

    @property
    def entry(self) -> str:
        """The model's line in its split list: the model id, or "clothes mesh" in the human
        layout (where one mesh id recurs under several clothes folders)."""
        return layout_for(self.category).entry(self.model_id, self.group)

    def paths(self, root: os.PathLike, resolution: int) -> ModelPaths:
        """Where the model goes under a dataset root, in its category's layout."""
        return layout_for(self.category).model(root, self.category, self.entry, resolution)


@dataclass
class BuildReport:
    built: List[Tuple[str, str]] = field(default_factory=list)  # (category, Job.entry)
    reused: List[Tuple[str, str]] = field(default_factory=list)
    skipped: List[dict] = field(default_factory=list)  # category, model_id, entry, source, reason
    seconds: Dict[str, float] = field(default_factory=dict)  # summed over built models

    def summary(self) -> str:
        per_model = ""
        if self.built:
            total = sum(self.seconds.values()) / len(self.built)
            parts = ", ".join(f"{k} {v / len(self.built):.2f}" for k, v in self.seconds.items())
            per_model = f"; {total:.2f} s per model ({parts})"
        return (f"built {len(self.built)}, reused {len(self.reused)}, skipped "
                f"{len(self.skipped)}{per_model}")


def build_dataset(jobs: Sequence[Job], root: os.PathLike, options: BuildOptions = BuildOptions(),
                  workers: int = 1, seed: int = 0, progress: bool = True,
                  splits: Union[bool, str] = True) -> BuildReport:
    """Build every job into `root` (ShapeNet or human layout), skipping complete models, then
    write `build_report.json` and, with `splits`, the split lists (0.7/0.1/0.2, shuffled by
    `seed`; `splits="test"`: every built model in the test split, the others empty, for the
    test-only real sets; callers with their own split, like the human set, pass splits=False).
    The one build loop of the project: every source's models go through here."""
    from tqdm import tqdm

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    _check_unique(jobs)
    report = BuildReport(seconds={"voxelize": 0.0, "render": 0.0, "flow": 0.0, "write": 0.0})
    todo = []
    for job in jobs:
        if is_complete(job.paths(root, options.resolution), _job_options(options, job)):
            report.reused.append((job.category, job.entry))
        else:
            todo.append(job)
    tasks = [(job, str(root), options) for job in todo]
    bar = tqdm(total=len(todo), desc=f"building {root.name}", unit="model", disable=not progress)
    failed = False
    try:
        for job, result in _run(tasks, workers):
            if isinstance(result, dict):
                report.built.append((job.category, job.entry))
                for k, v in result["seconds"].items():
                    report.seconds[k] = report.seconds.get(k, 0.0) + v
            else:
                report.skipped.append({"category": job.category, "model_id": job.model_id,
                                       "entry": job.entry, "source": job.source,
                                       "reason": result})
                bar.write(f"skipped {job.category}/{job.entry}: {result}")
            bar.update(1)
    except BaseException:
        failed = True
        raise
    finally:
        bar.close()
        try:
            _write_report(root, report, options)
        except OSError:
            if not failed:  # else the error that stopped the build is the one to tell
                raise
    if splits:
        done = set(report.built + report.reused)
        _write_splits(root, [j for j in jobs if (j.category, j.entry) in done], seed,
                      test_only=splits == "test")
    return report


def split_ids(ids: Sequence[str], seed: int, category: str = "",
              fractions: Tuple[float, float, float] = SPLIT_FRACTIONS) -> Tuple[List[str], ...]:
    """Shuffle sorted ids with (seed, category) and cut them by `fractions` (train, val, test);
    with enough models, each non-zero split gets at least one."""
    ids = sorted(ids)
    rng = np.random.default_rng([seed, zlib.crc32(category.encode())])
    order = [ids[i] for i in rng.permutation(len(ids))]
    n = len(order)
    n_val = int(round(fractions[1] * n))
    n_test = int(round(fractions[2] * n))
    if n >= 3:
        n_val = max(1, n_val) if fractions[1] else 0
        n_test = max(1, n_test) if fractions[2] else 0
    n_train = n - n_val - n_test
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]


def _write_splits(root: Path, complete: Sequence[Job], seed: int, test_only: bool = False
                  ) -> None:
    """Lists per category, cut by its layout's fractions: ShapeNet-style train/val/test
    (0.7/0.1/0.2), the human layout train/test (0.9/0.1; it has no val list); `test_only`:
    every model in test, in job order."""
    for category in sorted({j.category for j in complete}):
        layout = layout_for(category)
        members = [j for j in complete if j.category == category]
        if test_only:
            train, val, test = [], [], [j.entry for j in members]
        else:
            train, val, test = split_ids([j.entry for j in members], seed, category,
                                         fractions=layout.build_fractions)
        if "val" not in layout.splits:
            train, val = train + val, []
        for split, ids in (("train", train), ("val", val), ("test", test)):
            if split in layout.splits:
                write_split(root, split, category, ids)


def _check_unique(jobs: Iterable[Job]) -> None:
    layouts = {layout_for(job.category).name for job in jobs}
    if len(layouts) > 1:
        raise ValueError("human models use their own layout: build them into a separate root "
                         "(--categories human)")
    seen = set()
    for job in jobs:
        key = (job.category, job.entry)
        if key in seen:
            raise ValueError(f"two inputs map to the same model {job.category}/{job.entry}; "
                             f"rename one of them")
        seen.add(key)


def _build_job(task) -> Tuple[Job, object]:
    """Worker: build one job; returns (job, meta dict) or (job, one-line skip reason)."""
    from .meshes import MeshError

    job, root, options = task
    try:
        mesh = job.load()
        return job, build_model(mesh, job.paths(root, options.resolution),
                                _job_options(options, job), job.source)
    except MeshError as e:
        return job, str(e)
    except BuildWriteError:
        raise  # not this mesh's fault: the build stops
    except MemoryError:
        return job, "out of memory (mesh too large)"
    except Exception as e:  # a broken mesh must not stop the build; the reason is reported
        return job, f"{type(e).__name__}: {e}"


def _run(tasks, workers: int):
    """Yield (job, result) as jobs finish; `workers` > 1 uses spawned processes."""
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield _build_job(task)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    # spawn, not fork: embree's threads do not survive a fork of a process that used them.
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(min(workers, len(tasks)), mp_context=ctx)
    try:
        for future in as_completed([pool.submit(_build_job, t) for t in tasks]):
            yield future.result()  # a worker's BuildWriteError is raised here
    except BrokenProcessPool:
        raise RuntimeError(
            "a build worker process died (out of memory, or the calling script starts the build "
            "at import time: wrap it in `if __name__ == '__main__':`); retry with workers=1 "
            "(--workers 1) to see the cause") from None
    finally:  # on an error (or Ctrl+C): the queued jobs are dropped, the running ones awaited
        pool.shutdown(wait=True, cancel_futures=True)


def _write_report(root: Path, report: BuildReport, options: BuildOptions) -> None:
    data = {
        "summary": report.summary(),
        "options": _jsonable(asdict(options)),
        "built": len(report.built),
        "reused": len(report.reused),
        "seconds_per_model": {k: round(v / max(1, len(report.built)), 4)
                              for k, v in report.seconds.items()},
        "skipped": report.skipped,
    }
    atomic_write_text(root / REPORT_NAME, json.dumps(_jsonable(data), indent=1))


def _job_options(options: BuildOptions, job: Job) -> BuildOptions:
    """The options one job builds with: its own orientation (up, front) wins."""
    if (options.up, options.front) == (job.up, job.front):
        return options
    return _replace(options, up=job.up, front=job.front)


def _replace(options: BuildOptions, **changes) -> BuildOptions:
    import dataclasses

    return dataclasses.replace(options, **changes)


def _jsonable(obj):
    """Tuples -> lists, numpy scalars -> Python, callables -> names (for json.dumps)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return obj
