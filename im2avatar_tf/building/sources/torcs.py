"""`torcs`: the cars of the TORCS racing game, a test-only set of real textured cars.

Optional Debian package: `apt-get install torcs-data` (333 MB) puts 17 cars in
/usr/share/games/torcs/cars/<car>/ (an AC3D `<car>.acc` body with its `<car>.rgb` texture, a
`<car>.xml` of specifications and a readme with the authors and licence; Debian: GPL-2+, some
textures Free Art License). Nobody here made them; eight of them (`car1-trb1` ... `car8-trb1`)
are eight different bodies of one racing class; `car1-trb3` reuses parts of `car1-trb1`
(`shared_bodies` finds them from the geometry).

The game draws the wheels itself, so each car gets four dark tyres (cylinders) where its
`.xml` puts them: the axles' `xpos`, the wheels' `ypos`, rim diameter, tyre width and
height-width ratio, standing on the ground below the body (the `ride height`). The `.acc`
frame is y up with the nose at +x and the car's left at -z (the game reads a file point
(x, y, z) as (x, -z, y)): built with front `+x` into the procedural frame.

    python run.py build-dataset --source torcs --out data/torcs --resolution 32

writes every car into the test split of `car` (the train and validation lists are empty): a
second real test set for cars beside the three Sweet Home 3D ones (`--real-test`). With
`--torcs-split by-model` the cars are split train / val / test (`BY_MODEL_FRACTIONS`) by car
body instead: cars whose `.acc` geometry shares parts (`shared_bodies`: vertices in common, or
the same surface within 2 cm) go in the same split, so no livery or derivative of a training
body is ever tested on. `SOURCE` is the `torcs` source of build-dataset (`building.sources`).
"""
from __future__ import annotations

import functools
import json
import os
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from .base import Request, Source

CARS_DIR = Path(os.environ.get("TORCS_CARS", "/usr/share/games/torcs/cars"))
INSTALL_HINT = "install it with `apt-get install torcs-data` (Debian/Ubuntu)"
SPLITS = ("test", "by-model")  # --torcs-split: all in test (default) or held out by car body
BY_MODEL_FRACTIONS = (0.5, 0.1, 0.4)  # train, val, test of the body groups (16 of 17 cars)
SHARED_VERTICES = 0.01  # two bodies with this share of vertices in common (within 2 mm) ...
SAME_SURFACE_M = 0.02  # ... or surfaces this close (mean distance, metres) are one body
LICENSE = "GPL-2+ (Debian torcs-data); some textures Free Art License: see the car's readme"
TYRE_RGB = (0.08, 0.08, 0.08)
WHEELS = ("Front Right Wheel", "Front Left Wheel", "Rear Right Wheel", "Rear Left Wheel")


@dataclass(frozen=True)
class TorcsCar:
    """One car folder; `load()` reads its body and adds the wheels (a Surface)."""

    folder: str

    @property
    def model_id(self) -> str:
        return "torcs_" + re.sub(r"[^A-Za-z0-9._-]+", "_", Path(self.folder).name)

    def source(self, split: str = "test") -> dict:
        """What meta.json records about where the car came from (and the split it went in)."""
        readme = Path(self.folder) / "readme.txt"
        credits = (" ".join(readme.read_text(encoding="latin-1").split())[:300]
                   if readme.is_file() else "")
        return {**asdict(self), "folder": Path(self.folder).name, "source": "torcs",
                "name": Path(self.folder).name, "license": LICENSE, "credits": credits,
                "split": split}

    def load(self):
        """Body + wheels as a Surface in the `.acc` frame. Raises MeshError when broken."""
        import trimesh

        from ..ac3d import load_ac3d
        from ..meshes import MeshError
        from ...scene.surface import as_surface

        name = Path(self.folder).name
        scene = load_ac3d(Path(self.folder) / f"{name}.acc")
        specs = Path(self.folder) / f"{name}.xml"
        if not specs.is_file():
            raise MeshError(f"{name}: no {specs.name} (wheel positions)")
        for i, (x, y, z, radius, width) in enumerate(wheel_positions(specs)):
            tyre = trimesh.creation.cylinder(radius=radius, height=width, sections=24)
            tyre.apply_translation((x, y, z))  # the cylinder's axis is z: the car's axles
            rgb = np.r_[np.asarray(TYRE_RGB) * 255, 255].astype(np.uint8)
            tyre.visual = trimesh.visual.ColorVisuals(
                tyre, face_colors=np.tile(rgb, (len(tyre.faces), 1)))
            scene.add_geometry(tyre, geom_name=f"tyre{i}")
        return as_surface(scene)


def wheel_positions(specs: os.PathLike) -> List[tuple]:
    """(x, y, z, radius, width) in metres in the `.acc` frame for each wheel of a car's
    `.xml` (front right, front left, rear right, rear left): x the axle's xpos, z minus the
    wheel's ypos (the game's y, to the left, is the file's -z), y its centre above the ground
    (radius - ride height: the body's y = 0 rides that high)."""
    from ..meshes import MeshError

    try:
        root = ET.parse(specs).getroot()
    except ET.ParseError as e:
        raise MeshError(f"{Path(specs).name}: unreadable XML: {e}") from None
    sections = {s.get("name"): {a.get("name"): a.get("val") for a in s.findall("attnum")}
                for s in root.iter("section")}

    def number(section: str, name: str, default: Optional[float] = None) -> float:
        value = sections.get(section, {}).get(name)
        if value is None:
            if default is None:
                raise MeshError(f"{Path(specs).name}: no '{name}' in section '{section}'")
            return default
        return float(value)

    out = []
    for wheel in WHEELS:
        axle = "Front Axle" if wheel.startswith("Front") else "Rear Axle"
        width = number(wheel, "tire width") / 1000.0
        radius = (number(wheel, "rim diameter") * 0.0254 / 2
                  + width * number(wheel, "tire height-width ratio"))
        ride = number(wheel, "ride height", 100.0) / 1000.0
        out.append((number(axle, "xpos"), radius - ride, -number(wheel, "ypos"), radius, width))
    return out


def available(cars_dir: os.PathLike = CARS_DIR) -> bool:
    return any(Path(cars_dir).glob("*/*.acc"))


def iter_cars(cars_dir: os.PathLike = CARS_DIR) -> List[TorcsCar]:
    """Every car folder with a `<car>.acc`, by name. FileNotFoundError with the install hint
    if there is none."""
    cars = [TorcsCar(str(p)) for p in sorted(Path(cars_dir).iterdir())
            if (p / f"{p.name}.acc").is_file()] if Path(cars_dir).is_dir() else []
    if not cars:
        raise FileNotFoundError(f"no TORCS cars in {cars_dir}; {INSTALL_HINT}, or set TORCS_CARS "
                                f"to the folder holding the car folders")
    return cars


def body_points(car: TorcsCar) -> tuple:
    """(unique vertices rounded to 0.1 mm, 4,000 surface samples) of a car's body (the `.acc`
    alone, no tyres), in metres in the `.acc` frame: what `shared_bodies` compares."""
    import trimesh

    from ..ac3d import load_ac3d

    name = Path(car.folder).name
    mesh = load_ac3d(Path(car.folder) / f"{name}.acc").to_geometry()
    samples = trimesh.sample.sample_surface(mesh, 4000, seed=0)[0]
    return np.unique(np.round(mesh.vertices, 4), axis=0), samples


def shared_bodies(cars: List[TorcsCar]) -> List[List[str]]:
    """Groups of model ids whose bodies are one body (a livery of it) or share parts: at least
    `SHARED_VERTICES` of either's vertices within 2 mm of the other's, or a mean surface
    distance under `SAME_SURFACE_M` both ways. Groups sorted by their first member."""
    from scipy.spatial import cKDTree

    ids = [c.model_id for c in cars]
    points = [body_points(c) for c in cars]
    trees = [(cKDTree(v), cKDTree(p)) for v, p in points]
    parent = list(range(len(cars)))

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(len(cars)):
        for j in range(i + 1, len(cars)):
            shared = max(np.mean(trees[j][0].query(points[i][0])[0] < 0.002),
                         np.mean(trees[i][0].query(points[j][0])[0] < 0.002))
            distance = 0.5 * (trees[j][1].query(points[i][1])[0].mean()
                              + trees[i][1].query(points[j][1])[0].mean())
            if shared >= SHARED_VERTICES or distance < SAME_SURFACE_M:
                parent[root(j)] = root(i)
    groups: Dict[int, List[str]] = {}
    for i, model in enumerate(ids):
        groups.setdefault(root(i), []).append(model)
    return sorted(groups.values())


def car_splits(cars: List[TorcsCar], mode: str = "test", seed: int = 0) -> Dict[str, str]:
    """{model_id: split}: every car in test (`mode` "test"), or the body groups of
    `shared_bodies` cut train / val / test by `BY_MODEL_FRACTIONS`, shuffled by `seed`
    ("by-model")."""
    from ..builder import split_ids

    if mode not in SPLITS:
        raise ValueError(f"--torcs-split must be one of {SPLITS}, got {mode!r}")
    if mode == "test":
        return {c.model_id: "test" for c in cars}
    groups = {g[0]: g for g in shared_bodies(cars)}
    out = {}
    for split, keys in zip(("train", "val", "test"),
                           split_ids(list(groups), seed, "car", BY_MODEL_FRACTIONS)):
        out.update({model: split for key in keys for model in groups[key]})
    return out


def torcs_jobs(limit: Optional[int] = None, cars_dir: os.PathLike = CARS_DIR,
               splits: Optional[Dict[str, str]] = None) -> List:
    """Build jobs for the cars (at most `limit`), y up and nose at +x; `splits` ({model_id:
    split}, default all test) goes into each meta.json."""
    from ..builder import Job

    return [Job("car", car.model_id, functools.partial(TorcsCar.load, car),
                car.source((splits or {}).get(car.model_id, "test")), up="y", front="+x")
            for car in iter_cars(cars_dir)[:limit]]


def build_torcs(out: os.PathLike, options=None, workers: int = 1, progress: bool = True,
                limit: Optional[int] = None, cars_dir: os.PathLike = CARS_DIR,
                split: str = "test", seed: int = 0) -> Dict:
    """Build every car into `out`, all in the test split of `car` (`split` "test") or held out
    by car body ("by-model", `car_splits`); resumable (complete models are reused). Returns a
    summary, also written to torcs_report.json."""
    from ...data.layout import write_split
    from ...io import atomic_write_text
    from ..builder import BuildOptions, build_dataset

    out = Path(out)
    cars = iter_cars(cars_dir)[:limit]
    splits = car_splits(cars, split, seed)
    jobs = torcs_jobs(limit, cars_dir, splits)
    t0 = time.perf_counter()
    report = build_dataset(jobs, out, options or BuildOptions(), workers=workers,
                           progress=progress, splits="test" if split == "test" else False)
    failed = {s["model_id"]: s["reason"] for s in report.skipped}
    if split != "test":
        done = {entry for _, entry in report.built + report.reused}
        for name in ("train", "val", "test"):
            write_split(out, name, "car", [j.model_id for j in jobs
                                           if splits[j.model_id] == name and j.entry in done])
    summary = {"models": len(jobs) - len(failed), "built": len(report.built),
               "reused": len(report.reused), "failed": failed,
               "seconds_build": round(time.perf_counter() - t0, 2),
               "resolution": (options or BuildOptions()).resolution, "split": split,
               "splits": {name: sorted(m for m, s in splits.items() if s == name)
                          for name in ("train", "val", "test")}}
    atomic_write_text(out / "torcs_report.json", json.dumps(summary, indent=1))
    return summary


class Torcs(Source):
    """The TORCS cars, in the test split of `car` or held out by car body (`--torcs-split`;
    at most `--count`)."""

    name = "torcs"

    def build(self, request: Request) -> bool:
        if request.categories and tuple(request.categories) != ("car",):
            raise ValueError("--source torcs only has cars: leave out --categories or pass car")
        out = Path(request.out)
        split = request.torcs_split or "test"
        summary = build_torcs(out, request.options, request.workers, request.progress,
                              request.count, split=split, seed=request.seed)
        where = ("in the test split" if split == "test" else "held out by car body: " + ", ".join(
            f"{len(v)} {k}" for k, v in summary["splits"].items()))
        request.say(f"torcs: {summary['models']} cars {where}, "
                    f"{len(summary['failed'])} failed -> {out}")
        for model, reason in summary["failed"].items():
            request.say(f"  failed {model}: {reason}")
        return not summary["failed"]


SOURCE = Torcs()
