"""`torcs`: the cars of the TORCS racing game, a test-only set of real textured cars.

Optional Debian package: `apt-get install torcs-data` (333 MB) puts 17 cars in
/usr/share/games/torcs/cars/<car>/ (an AC3D `<car>.acc` body with its `<car>.rgb` texture, a
`<car>.xml` of specifications and a readme with the authors and licence; Debian: GPL-2+, some
textures Free Art License). Nobody here made them; eight of them (`car1-trb1` ... `car8-trb1`)
share one racing body under different paint.

The game draws the wheels itself, so each car gets four dark tyres (cylinders) where its
`.xml` puts them: the axles' `xpos`, the wheels' `ypos`, rim diameter, tyre width and
height-width ratio, standing on the ground below the body (the `ride height`). The `.acc`
frame is y up with the nose at +x and the car's left at -z (the game reads a file point
(x, y, z) as (x, -z, y)): built with front `+x` into the procedural frame.

    python run.py build-dataset --source torcs --out data/torcs --resolution 32

writes every car into the test split of `car` (the train and validation lists are empty): a
second real test set for cars beside the three Sweet Home 3D ones (`--real-test`). `SOURCE` is
the `torcs` source of build-dataset (`building.sources`).
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

    def source(self) -> dict:
        """What meta.json records about where the car came from."""
        readme = Path(self.folder) / "readme.txt"
        credits = (" ".join(readme.read_text(encoding="latin-1").split())[:300]
                   if readme.is_file() else "")
        return {**asdict(self), "folder": Path(self.folder).name, "source": "torcs",
                "name": Path(self.folder).name, "license": LICENSE, "credits": credits,
                "split": "test"}

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


def torcs_jobs(limit: Optional[int] = None, cars_dir: os.PathLike = CARS_DIR) -> List:
    """Build jobs for the cars (at most `limit`), y up and nose at +x."""
    from ..builder import Job

    return [Job("car", car.model_id, functools.partial(TorcsCar.load, car), car.source(),
                up="y", front="+x")
            for car in iter_cars(cars_dir)[:limit]]


def build_torcs(out: os.PathLike, options=None, workers: int = 1, progress: bool = True,
                limit: Optional[int] = None, cars_dir: os.PathLike = CARS_DIR) -> Dict:
    """Build every car into `out`, all in the test split of `car`; resumable (complete models
    are reused). Returns a summary, also written to torcs_report.json."""
    from ...io import atomic_write_text
    from ..builder import BuildOptions, build_dataset

    out = Path(out)
    jobs = torcs_jobs(limit, cars_dir)
    t0 = time.perf_counter()
    report = build_dataset(jobs, out, options or BuildOptions(), workers=workers,
                           progress=progress, splits="test")
    failed = {s["model_id"]: s["reason"] for s in report.skipped}
    summary = {"models": len(jobs) - len(failed), "built": len(report.built),
               "reused": len(report.reused), "failed": failed,
               "seconds_build": round(time.perf_counter() - t0, 2),
               "resolution": (options or BuildOptions()).resolution}
    atomic_write_text(out / "torcs_report.json", json.dumps(summary, indent=1))
    return summary


class Torcs(Source):
    """The TORCS cars, all in the test split of `car` (at most `--count`)."""

    name = "torcs"

    def build(self, request: Request) -> bool:
        if request.categories and tuple(request.categories) != ("car",):
            raise ValueError("--source torcs only has cars: leave out --categories or pass car")
        out = Path(request.out)
        summary = build_torcs(out, request.options, request.workers, request.progress,
                              request.count)
        request.say(f"torcs: {summary['models']} cars in the test split, "
                    f"{len(summary['failed'])} failed -> {out}")
        for model, reason in summary["failed"].items():
            request.say(f"  failed {model}: {reason}")
        return not summary["failed"]


SOURCE = Torcs()
