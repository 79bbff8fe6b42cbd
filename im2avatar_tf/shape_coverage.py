"""How well a training set covers a test set in shape space, on surface-shell voxels (numpy only).

    occ = shell(mesh, 32, up="y", front="+x")      # (R, R, R) bool, the builder's frame and grid
    best, which = nearest_iou(tests, train)         # per test model: the best IoU of any training model
    d = descriptors(occ)                            # ratios, height profile, roundness, wheels

`nearest_iou` is what a network that memorized its training set could at best score (IoU of the
surface shells, the evaluation's metric, no threshold: the shells are binary). `descriptors`
says in a few numbers where two shapes differ: bounding-box ratios, the roof line along the
length, how much of the front and side silhouettes' boxes they fill (1 = a box, 0.79 = an
ellipse) and, for cars, where the wheels touch the ground.

Axes as in `voxels.py`: volume[i, j, k] = (x, y up, z); a car's length runs along z (its nose at
+z, the builder's frame), its width along x.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

PROFILE_STATIONS = 8  # roof-line samples along the length, rear to front
DESCRIPTORS = ("width_over_length", "height_over_length", "front_fill", "side_fill",
               "roof_peak_at", "wheelbase", "front_overhang", "track", "contacts")
GENERIC = DESCRIPTORS[:5]  # the ones that mean something for any object
PROFILE = tuple(f"top_{k}" for k in range(PROFILE_STATIONS))


def shell(mesh, resolution: int, up: str = "y", front=None) -> np.ndarray:
    """The occupied surface voxels of a mesh (Trimesh, Scene or Surface) exactly as
    build-dataset makes them: turned to y up / front +z, box-centered, longest side 1."""
    from .building.meshes import check_surface, normalization
    from .building.voxelize import colored_shell
    from .scene.surface import as_surface

    surface = as_surface(mesh)
    check_surface(surface, "mesh")
    surface = surface.transformed(normalization(surface, up, front))
    return colored_shell(surface, resolution).occupied


def iou_matrix(a: np.ndarray, b: np.ndarray, chunk: int = 256) -> np.ndarray:
    """(len(a), len(b)) IoU of every pair of boolean volumes (first axis: models)."""
    fa = a.reshape(len(a), -1).astype(np.float32)
    na = fa.sum(1)
    out = np.zeros((len(a), len(b)), np.float32)
    for s in range(0, len(b), chunk):
        fb = b[s:s + chunk].reshape(-1, fa.shape[1]).astype(np.float32)
        inter = fa @ fb.T
        union = na[:, None] + fb.sum(1)[None, :] - inter
        out[:, s:s + chunk] = inter / np.maximum(union, 1)
    return out


def nearest_iou(tests: np.ndarray, train: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """For each test volume, the best IoU over the training volumes and that model's index."""
    m = iou_matrix(tests, train)
    which = m.argmax(1)
    return m[np.arange(len(tests)), which], which


def mean_shape(train: np.ndarray, thresholds=np.arange(0.05, 0.96, 0.05)
               ) -> Tuple[np.ndarray, float]:
    """The mean training occupancy cut at the threshold that scores best on the training
    set itself (the mean-shape baseline): (volume, threshold)."""
    mean = train.mean(0)
    best = max(thresholds, key=lambda t: iou_matrix(train, (mean >= t)[None])[:, 0].mean())
    return mean >= best, float(best)


def _runs(mask: np.ndarray) -> List[Tuple[int, int]]:
    """[start, end) of each run of True in a 1-D mask."""
    d = np.diff(np.r_[0, mask.astype(int), 0])
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def descriptors(occ: np.ndarray) -> Dict[str, float]:
    """A few numbers that say where two shapes differ (lengths as fractions of the length
    along z, except `track`, a fraction of the width):

    - width_over_length, height_over_length: the occupied box's x / z and y / z extents;
    - top_0 .. top_7: the roof line, the highest voxel's height above the lowest, at 8 stations
      from the rear (-z) to the front (+z), in lengths;
    - roof_peak_at: where along the length (0 rear, 1 front) the roof line is highest;
    - front_fill, side_fill: the share of the silhouette's box the silhouette fills, seen from
      the front (along z) and from the side (along x): 1 for a box, 0.79 for an ellipse;
    - wheelbase, front_overhang, track, contacts: where the shape touches the ground (its
      lowest voxel layer): the distance between the first and last contact run along z, from
      the front contact to the nose, the contact's x span over the width, and how many runs
      (4 wheels seen from the side: 2)."""
    idx = np.argwhere(occ)
    if not len(idx):
        return {k: float("nan") for k in DESCRIPTORS + PROFILE}
    lo, hi = idx.min(0), idx.max(0)
    ext = (hi - lo + 1).astype(float)  # x, y, z
    length = ext[2]
    out = {"width_over_length": ext[0] / length, "height_over_length": ext[1] / length}
    sub = occ[lo[0]:hi[0] + 1, lo[1]:hi[1] + 1, lo[2]:hi[2] + 1]
    ys = np.arange(sub.shape[1])
    column_top = np.where(sub.any(0), ys[:, None], -1).max(0)  # (z,), highest y per z
    stations = np.linspace(0, sub.shape[2] - 1, PROFILE_STATIONS).round().astype(int)
    for k, z in enumerate(stations):
        out[f"top_{k}"] = (column_top[z] + 1) / length
    out["roof_peak_at"] = float(np.argmax(column_top)) / max(sub.shape[2] - 1, 1)
    front = sub.any(2)  # (x, y) seen along z
    side = sub.any(0)  # (y, z) seen along x
    out["front_fill"] = front.mean()
    out["side_fill"] = side.mean()
    ground = sub[:, 0, :]  # (x, z): touching the lowest layer
    runs = _runs(ground.any(0))
    out["contacts"] = float(len(runs))
    if len(runs) >= 2:
        centers = [(a + b - 1) / 2 for a, b in runs]
        out["wheelbase"] = (centers[-1] - centers[0]) / length
        out["front_overhang"] = (sub.shape[2] - 1 - centers[-1]) / length
    else:
        out["wheelbase"] = out["front_overhang"] = float("nan")
    xs = np.flatnonzero(ground.any(1))
    out["track"] = (xs.max() - xs.min() + 1) / ext[0] if len(xs) else float("nan")
    return {k: float(out[k]) for k in DESCRIPTORS + PROFILE}


def profile_distance(a: Dict[str, float], b: Dict[str, float]) -> float:
    """RMS difference of two roof lines (in lengths)."""
    return float(np.sqrt(np.mean([(a[k] - b[k]) ** 2 for k in PROFILE])))


def shortfalls(target: Dict[str, float], family: Sequence[Dict[str, float]],
               keys: Sequence[str] = DESCRIPTORS, tail: float = 2.5) -> List[str]:
    """Where a target lies outside a family: 'height_over_length 0.25 < family p2.5 0.29' for
    each descriptor outside the family's [tail, 100 - tail] percentiles."""
    out = []
    for k in keys:
        values = np.array([f[k] for f in family], float)
        values = values[np.isfinite(values)]
        v = target[k]
        if not len(values) or not np.isfinite(v):
            continue
        lo, hi = np.percentile(values, [tail, 100 - tail])
        if v < lo:
            out.append(f"{k} {v:.2f} < p{tail:g} {lo:.2f}")
        elif v > hi:
            out.append(f"{k} {v:.2f} > p{100 - tail:g} {hi:.2f}")
    return out
