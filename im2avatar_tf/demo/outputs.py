"""Where the demo's results go: one folder per request under a temporary root (the last
`keep` kept), and the reconstruction that fills one."""
from __future__ import annotations

import collections
import dataclasses
import re
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Dict, Optional

import numpy as np

FORMATS = ("glb", "ply", "obj")
GEOMETRIES = ("mesh", "voxels")  # what the viewer draws: triangles
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$")
RESULT_ID = re.compile(r"^[0-9a-f]{16}$")


def safe_stem(filename: str, default: str = "model") -> str:
    """A file stem safe in a URL and a file name: `photo of car.jpg` -> `photo_of_car`."""
    stem = Path(filename or "").stem
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_-")[:60]
    return stem or default


class ResultStore:
    """Request folders `<root>/<id>/`, id 16 hex digits; creating one beyond `keep` deletes
    the oldest. `root` defaults to a new temporary folder, removed by `close()`."""

    def __init__(self, root: Optional[Path] = None, keep: int = 20):
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        self._owns_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="im2avatar-demo-")) if root is None else Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self._ids: collections.deque = collections.deque()
        self._lock = threading.Lock()

    def new(self) -> tuple:
        """-> (id, folder) of a fresh, empty request folder."""
        result_id = uuid.uuid4().hex[:16]
        folder = self.root / result_id
        folder.mkdir()
        with self._lock:
            self._ids.append(result_id)
            while len(self._ids) > self.keep:
                shutil.rmtree(self.root / self._ids.popleft(), ignore_errors=True)
        return result_id, folder

    def file(self, result_id: str, filename: str) -> Optional[Path]:
        """The path of a stored file, or None if there is no such (or no valid) id or name."""
        if not RESULT_ID.match(result_id or "") or not SAFE_NAME.match(filename or ""):
            return None
        path = self.root / result_id / filename
        return path if path.is_file() else None

    def close(self) -> None:
        if self._owns_root:
            shutil.rmtree(self.root, ignore_errors=True)


@dataclasses.dataclass
class Outcome:
    """What one reconstruction wrote into its folder. `files`: kind ("input", "glb", "ply",
    "obj") -> file name; `error`: why there is no mesh (an empty prediction), else None."""

    files: Dict[str, str]
    resolution: int
    occupied: int  # voxels at or above the threshold
    triangles: int = 0
    vertices: int = 0
    predict_seconds: float = 0.0  # preprocessing + networks
    mesh_seconds: float = 0.0  # colors, meshing and writing the three files
    warnings: list = dataclasses.field(default_factory=list)
    error: Optional[str] = None


def reconstruct_into(folder: Path, reconstructor, image: np.ndarray, name: str = "model",
                     threshold: float = 0.8, geometry: str = "mesh",
                     crop: bool = False, remove_background: bool = False) -> Outcome:
    """Reconstruct `image` (H, W, C) uint8 and write `<name>_input.png` (the preprocessed
    input) and `<name>.glb/.ply/.obj` (the colored `geometry`) into `folder`. An empty
    prediction writes the input only and says why in `Outcome.error`. `remove_background`:
    a photo's scene cut away first (`background.cut_out`), its framing kept."""
    from ..mesh_io import vertex_colored, write_geometry
    from ..meshing import EmptyPredictionError

    if geometry not in GEOMETRIES:
        raise ValueError(f"geometry must be one of {', '.join(GEOMETRIES)}, got {geometry!r}")
    start = time.perf_counter()
    pixels, notes = reconstructor.prepare(image, "the image", crop=crop,
                                          remove_background=remove_background)
    [result] = reconstructor.results(pixels[None], [name], threshold)
    predicted = time.perf_counter()
    result.save_input(folder / f"{name}_input.png")
    outcome = Outcome(files={"input": f"{name}_input.png"}, resolution=result.resolution,
                      occupied=int(result.occupied.sum()), predict_seconds=predicted - start,
                      warnings=[str(note).replace("(try --crop)", "(try crop)") for note in notes])
    try:
        build = result.to_mesh if geometry == "mesh" else result.to_voxel_mesh
        mesh = vertex_colored(build())  # what the files hold: colors per vertex
    except EmptyPredictionError as e:
        outcome.error = str(e).replace("--threshold", "threshold").replace("(try --crop)",
                                                                           "(try crop)")
        return outcome
    for kind in FORMATS:
        written = write_geometry(mesh, folder / f"{name}.{kind}")
        outcome.files[kind] = written.name
    outcome.triangles, outcome.vertices = len(mesh.faces), len(mesh.vertices)
    outcome.mesh_seconds = time.perf_counter() - predicted
    return outcome
