"""The released evaluation protocol (reference section 5), for any method's predictions.

For every test model, all V = 12 views go through the networks as one batch; each
(model, view) is scored against the model's ground truth at the network's resolution R:

- IoU: occupied iff probability > threshold (0.8 as released, plus a list), against the
  surface-shell ground truth (color channel 0 > -0.5).
- Surface PSNR: predicted voxels P = probability >= 0.8; each gets its color by a *coloring*
  and is compared with the color of its nearest ground-truth surface voxel (metrics.py), on
  the 0-255 scale, in RGB and YCbCr. Colorings of a color network's output (colors.py recipe,
  the flow color sampled from the network's input image, as the release (whose input is the
  128 px view) and `result.Result.colors` do):
      regression   the regressed color (w = 1)
      flow         the image color at the predicted flow, background repaired (w = 0)
      blend@t      the release's final color with re-weighting threshold t (0.2 released;
                   t = 1 is the plain training blend w * regressed + (1 - w) * sampled)
  and `direct` for methods that predict final colors (adapted 3D-R2N2).
  (As released: IoU uses `>` and PSNR `>=` at the threshold.)

Empty predictions, stated rule: a view whose prediction has no voxel at the PSNR threshold
has no PSNR (the released script divides by zero); it is left out of the PSNR means and
counted (`n_empty`). Its IoU is 0 (nothing intersects a non-empty ground truth) and it stays
in the IoU mean. A model with an empty ground truth is skipped and reported.

Output: a tidy per-(model, view) table (`EvalResult.records`) and `summarize` means per
category with counts. Predictions can be written in the released format (`save_prediction`)
and evaluated back (`PredictionFiles`), so third-party evaluators and ours read the same files.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .colors import final_colors, pack_color_prediction, split_color_prediction
from .data.layout import VIEW_NAMES
from .data.pipeline import ModelEntry, list_models, resolve_categories
from .data.samples import (BAD_FILE_ERRORS, load_color, load_flow, occupancy_from_color,
                           skip_or_raise)
from .metrics import NearestSurface, surface_psnr, voxel_iou


IOU_THRESHOLD = 0.8  # released
IOU_THRESHOLDS = (0.8, 0.3, 0.4, 0.5)  # 0.8 first; the others reported alongside
PSNR_THRESHOLD = 0.8  # released
BLEND_TS = (0.2,)  # released re-weighting threshold


@dataclass
class Prediction:
    """A method's outputs for all V views of one model."""

    probs: np.ndarray  # (V, R, R, R) occupancy probability
    color9: Optional[np.ndarray] = None  # (V, R, R, R, 9) [regressed 3, w 1, flow 2, blended 3]
    colors: Optional[np.ndarray] = None  # (V, R, R, R, 3) final colors (methods without flow)

    def __post_init__(self):
        if self.probs.ndim == 5 and self.probs.shape[-1] == 1:
            self.probs = self.probs[..., 0]
        if self.probs.ndim != 4:
            raise ValueError(f"probs must be (V, R, R, R), got {self.probs.shape}")
        for name in ("color9", "colors"):
            arr = getattr(self, name)
            if arr is not None and arr.shape[:4] != self.probs.shape:
                raise ValueError(f"{name} {arr.shape} does not match probs {self.probs.shape}")


@dataclass
class GroundTruth:
    """One model's surface: occupancy (R, R, R) bool, its points (K, 3) in C order, their
    colors (K, 3) and the nearest-point index over them."""

    occupancy: np.ndarray
    points: np.ndarray
    colors: np.ndarray
    nearest: NearestSurface

    @classmethod
    def from_color(cls, color: np.ndarray) -> "GroundTruth":
        occ = occupancy_from_color(color)
        points = np.argwhere(occ)
        return cls(occ, points, color[occ].astype(np.float64), NearestSurface(points))


def colorings(pred: Prediction, view: int, where: Tuple[np.ndarray, ...], image: np.ndarray,
              blend_ts: Sequence[float]) -> Dict[Tuple[str, float], np.ndarray]:
    """Colors (P, 3) of the voxels `where` (index arrays) in view `view`, one per coloring,
    keyed (name, t) with t = NaN where it does not apply. image: (H, W, 3) float in [0, 1]."""
    out = {}
    if pred.colors is not None:
        out[("direct", math.nan)] = pred.colors[view][where]
    if pred.color9 is not None:
        parts = split_color_prediction(pred.color9[view][where])  # each (P, C)
        reg, w, flow = parts["regressed"], parts["confidence"], parts["flow"]
        out[("regression", math.nan)] = reg
        out[("flow", math.nan)] = final_colors(reg, np.zeros_like(w), flow, image)
        for t in blend_ts:
            out[("blend", float(t))] = final_colors(reg, w, flow, image, t=t)
    return out


def score_model(gt: GroundTruth, pred: Prediction, images: Sequence[np.ndarray],
                view_names: Sequence[str] = VIEW_NAMES,
                iou_thresholds: Sequence[float] = IOU_THRESHOLDS,
                psnr_threshold: float = PSNR_THRESHOLD,
                blend_ts: Sequence[float] = BLEND_TS) -> List[dict]:
    """Tidy rows (view, metric, threshold, coloring, t, value, n_points) for all views."""
    rows = []
    for v, name in enumerate(view_names):
        probs = pred.probs[v]  # (R, R, R)
        if probs.shape != gt.occupancy.shape:
            raise ValueError(f"prediction {probs.shape} and ground truth "
                             f"{gt.occupancy.shape} differ in resolution")
        for thr in iou_thresholds:
            pred_occ = probs > thr
            rows.append(dict(view=name, metric="iou", threshold=float(thr), coloring="",
                             t=math.nan, value=voxel_iou(pred_occ, gt.occupancy),
                             n_points=int(np.count_nonzero(pred_occ))))
        if pred.color9 is None and pred.colors is None:
            continue
        where = np.nonzero(probs >= psnr_threshold)
        n = len(where[0])
        gt_colors = gt.colors[gt.nearest.query(np.stack(where, axis=1))] if n else None
        for (coloring, t), colors in colorings(pred, v, where, images[v], blend_ts).items():
            rgb, ycc = surface_psnr(colors, gt_colors) if n else (math.nan, math.nan)
            for metric, value in (("psnr_rgb", rgb), ("psnr_ycbcr", ycc)):
                rows.append(dict(view=name, metric=metric, threshold=float(psnr_threshold),
                                 coloring=coloring, t=t, value=value, n_points=n))
    return rows


@dataclass
class TestModel:
    """What evaluation reads of one test model."""

    entry: ModelEntry
    inputs: np.ndarray  # (V, S, S, 3) float32 in [0, 1]: the network inputs (`preprocess`ed)
    gt: GroundTruth


def read_test_model(entry: ModelEntry, image_size: Optional[int], resolution: int,
                    view_names: Sequence[str] = VIEW_NAMES) -> TestModel:
    """image_size None keeps the views' own size (for scoring saved predictions)."""
    from .images import preprocess, read_image

    raw = [read_image(entry.paths.view(v)) for v in view_names]
    inputs = np.stack([preprocess(im, image_size or max(im.shape[:2])).numpy() for im in raw])
    color = load_color(entry.paths, resolution)
    if not occupancy_from_color(color).any():
        raise ValueError(f"{entry.paths.color} has no occupied voxel at {resolution}^3")
    return TestModel(entry, inputs, GroundTruth.from_color(color))


def iter_test_models(root, split: str, categories: Optional[Sequence[str]],
                     image_size: Optional[int],
                     resolution: int, max_models: Optional[int] = None, skip_bad: bool = False,
                     skipped: Optional[list] = None) -> Iterator[TestModel]:
    """Test models in split order (the first `max_models` of each category)."""
    cats = resolve_categories(Path(root), categories)
    entries, bad = list_models(Path(root), split, cats, resolution, skip_bad=skip_bad)
    if skipped is not None:
        skipped.extend(bad)
    if max_models:
        entries = [e for c in cats for e in [x for x in entries if x.category == c][:max_models]]
    for entry in entries:
        try:
            yield read_test_model(entry, image_size, resolution)
        except BAD_FILE_ERRORS as e:
            skip_or_raise(entry.key, e, skip_bad, skipped)


# A predictor maps (entry, inputs (V, S, S, 3)) to a Prediction.
Predictor = Callable[[ModelEntry, np.ndarray], Prediction]

def network_predictor(shape_model, color_model=None) -> Predictor:
    """The two-network design: occupancy from the shape network, colors from the color network
    (none without one), through inference's forward pass. The occupancy is remembered
    (`OccupancyMemo`): an experiment scores one shape network's voxels several times."""
    from .forward import keras_forward

    shape_forward = keras_forward(shape_model)
    colors = keras_forward(None, color_model) if color_model is not None else None

    def predict(entry, inputs):
        occupancy = OccupancyMemo.of(shape_model).get(
            inputs, lambda: shape_forward(inputs)["occupancy"])
        return Prediction(occupancy,
                          pack_color_prediction(colors(inputs)) if colors is not None else None)
    return predict


class OccupancyMemo:
    """A shape network's occupancy (V, R, R, R, 1) by its input batch, kept while the network
    lives: one experiment scores the same voxels for IoU, under the color network and under
    the mean color, so the network runs once per test model instead of three times. A batch is
    known by a digest of its bytes and its shape (the same images give the same occupancy: the
    network runs in inference mode), and a memo is emptied when the network's weights are
    found changed since it was filled (trained further, say). The memos of all live networks
    keep at most `MAX_BYTES` (a fifth of the machine's memory, at most 4 GiB: 340 models of
    12 views at 64^3); beyond that the network runs each time, as without a memo."""

    MAX_BYTES = min(4 * 2**30, os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 5)
    _memos = None  # a weakref.WeakKeyDictionary: shape network -> its OccupancyMemo

    def __init__(self, weights: bytes):
        self.weights = weights  # the digest of the network's weights the kept arrays are of
        self._kept: Dict[bytes, np.ndarray] = {}
        self.nbytes = 0

    @classmethod
    def of(cls, shape_model) -> "OccupancyMemo":
        """The memo of `shape_model` as its weights are now, made on first use; it goes when
        the network goes (it holds no reference to it)."""
        import weakref

        if cls._memos is None:
            cls._memos = weakref.WeakKeyDictionary()
        weights = _digest(*shape_model.get_weights())
        memo = cls._memos.get(shape_model)
        if memo is None or memo.weights != weights:
            memo = cls._memos[shape_model] = cls(weights)
        return memo

    def get(self, inputs: np.ndarray, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """The occupancy of `inputs`: kept, or `compute()`d (and kept while there is room)."""
        key = _digest(inputs)
        found = self._kept.get(key)
        if found is not None:
            return found
        occupancy = compute()
        kept = sum(m.nbytes for m in OccupancyMemo._memos.values())
        if kept + occupancy.nbytes <= self.MAX_BYTES:
            occupancy.setflags(write=False)  # shared by every caller
            self._kept[key] = occupancy
            self.nbytes += occupancy.nbytes
        return occupancy


def _digest(*arrays: np.ndarray) -> bytes:
    """A digest of arrays' shapes, types and bytes."""
    import hashlib

    digest = hashlib.blake2b(digest_size=16)
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(repr((a.shape, a.dtype.str)).encode())
        digest.update(a.tobytes())
    return digest.digest()


def pooled_predictor(predict: Predictor, factor: int) -> Predictor:
    """`predict`'s occupancy at a resolution `factor` times coarser, to score a finer network
    beside a coarser one on equal footing (a 64^3 network at 32^3): a coarse voxel's
    probability is the largest of its factor^3 fine voxels', so it is occupied at a threshold
    iff one of them is, as the coarse ground truth is a surface voxel iff one of its fine voxels
    is (exactly so where it is pooled from the fine file, `data.samples.pool_volume`; a coarse
    file voxelized on its own agrees up to the voxelizer's rounding). IoU only: colors are left out (surface PSNR is scored at
    each network's own resolution)."""
    if factor == 1:
        return predict

    def predict_pooled(entry, inputs):
        probs = predict(entry, inputs).probs  # (V, R, R, R)
        v, r = probs.shape[:2]
        if r % factor:
            raise ValueError(f"cannot pool a {r}^3 prediction by {factor}")
        n = r // factor
        return Prediction(probs.reshape(v, n, factor, n, factor, n, factor).max(axis=(2, 4, 6)))
    return predict_pooled


GROUND_TRUTH_FLOW = "flow only, ground-truth flow (ceiling)"


def ground_truth_flow_predictor(resolution: int) -> Predictor:
    """An oracle for the flow branch: the ground-truth surface as the shape and, per view, the
    dataset's ground-truth flow (a visible voxel's projection; for a hidden one the nearest
    foreground pixel of similar color) as the flow, regressed color and confidence 0. Its
    "flow" coloring is the best a predicted flow can do on this data: how close the input
    image's (shaded, resized) pixels come to the surface's (unshaded) colors."""

    def predict(entry, inputs):
        color = load_color(entry.paths, resolution)
        probs = np.repeat(occupancy_from_color(color)[None].astype(np.float32),
                          len(VIEW_NAMES), axis=0)  # (V, R, R, R)
        flow = np.stack([load_flow(entry.paths, v, resolution) for v in VIEW_NAMES])
        zeros = np.zeros_like(probs)[..., None]
        return Prediction(probs, pack_color_prediction({
            "regressed": np.repeat(zeros, 3, -1), "confidence": zeros,
            "flow": np.clip(flow, 0.0, 1.0), "blended": np.repeat(zeros, 3, -1)}))
    return predict


@dataclass
class EvalResult:
    records: "object"  # pandas.DataFrame, one row per (model, view, metric, threshold, coloring, t)
    skipped: List[dict] = field(default_factory=list)
    seconds_predict: float = 0.0
    seconds_score: float = 0.0

    @property
    def n_models(self) -> int:
        return int(self.records["model_id"].nunique()) if len(self.records) else 0


def evaluate(predict: Predictor, root, split: str = "test",
             categories: Optional[Sequence[str]] = None, *, image_size: Optional[int],
             resolution: int,
             iou_thresholds: Sequence[float] = IOU_THRESHOLDS,
             psnr_threshold: float = PSNR_THRESHOLD, blend_ts: Sequence[float] = BLEND_TS,
             max_models: Optional[int] = None, skip_bad: bool = False,
             save_predictions: Optional[Path] = None, progress: bool = True,
             desc: str = "evaluating") -> EvalResult:
    """Predict and score every (test model, view). See the module docstring.

    image_size: the network's input size S (None: the views' own size, for saved predictions);
    resolution: R, the predictions' and the ground truth's volume size."""
    import pandas as pd
    from tqdm import tqdm

    skipped: list = []
    rows, t_pred, t_score = [], 0.0, 0.0
    models = iter_test_models(root, split, categories, image_size, resolution, max_models,
                              skip_bad, skipped)
    for tm in tqdm(models, desc=desc, unit="model", disable=not progress, leave=False):
        t0 = time.perf_counter()
        pred = predict(tm.entry, tm.inputs)
        t1 = time.perf_counter()
        for row in score_model(tm.gt, pred, tm.inputs, VIEW_NAMES, iou_thresholds,
                               psnr_threshold, blend_ts):
            rows.append(dict(category=tm.entry.category, model_id=tm.entry.key, **row))
        t_pred += t1 - t0
        t_score += time.perf_counter() - t1
        if save_predictions is not None:
            save_prediction(save_predictions, tm.entry.key, pred)
    columns = ["category", "model_id", "view", "metric", "threshold", "coloring", "t", "value",
               "n_points"]
    return EvalResult(pd.DataFrame(rows, columns=columns), skipped, t_pred, t_score)


def summarize(records, by: Sequence[str] = ("category",), add_mean: bool = True):
    """Means over (model, view) per group, metric, threshold, coloring and t, with counts:
    n_models, n_views (scored (model, view) pairs) and n_empty (views without a PSNR).
    With `add_mean`, a category 'mean' row per metric is the mean of the category means
    (as the paper's mean column, `with_category_mean`)."""
    keys = list(by) + ["metric", "threshold", "coloring", "t"]
    r = records.copy()
    r["t"] = r["t"].fillna(-1.0)  # groupby drops NaN keys; -1 stands for "not applicable"
    g = r.groupby(keys, sort=False)
    out = g["value"].mean().rename("value").to_frame()
    out["n_models"] = g["model_id"].nunique()
    out["n_views"] = g["value"].count()
    out["n_empty"] = g["value"].apply(lambda s: int(s.isna().sum()))
    out = out.reset_index()
    if add_mean and "category" in by:
        out = with_category_mean(out)
    out["t"] = out["t"].where(out["t"] >= 0, np.nan)
    return out


COUNTS = ("n_models", "n_views", "n_empty")
# Columns that describe one category's row only (left empty in the "mean" row, not grouped on):
# a baseline's threshold fitted per category.
PER_CATEGORY = ("fitted_threshold",)


def with_category_mean(df):
    """`df` (summarized rows: a "category" column, "value", the COUNTS and any other keys)
    plus a category "mean" row per combination of the other keys (PER_CATEGORY columns aside):
    the mean of the category means, as the paper's mean column, with the counts summed.
    Unchanged with one category."""
    import pandas as pd

    if "category" not in df or df["category"].nunique() <= 1:
        return df
    keys = [c for c in df.columns if c not in ("category", "value", *COUNTS, *PER_CATEGORY)]
    means = (df.groupby(keys, sort=False, dropna=False)
             .agg(value=("value", "mean"), **{c: (c, "sum") for c in COUNTS})
             .reset_index())
    means["category"] = "mean"
    for c in PER_CATEGORY:
        if c in df:
            means[c] = np.nan
    return pd.concat([df, means[df.columns]], ignore_index=True)


# ---------------------------------------------------------------- released prediction files

def prediction_paths(out_dir: Path, key: str, view: str) -> Tuple[Path, Path]:
    """Where the release's inference scripts put one view's outputs:
    output_shape/<category folder>/<model>/<view>.h5 and output_color/... (same names)."""
    out_dir = Path(out_dir)
    return (out_dir / "output_shape" / key / f"{view}.h5",
            out_dir / "output_color" / key / f"{view}.h5")


def save_prediction(out_dir: Path, key: str, pred: Prediction,
                    view_names: Sequence[str] = VIEW_NAMES) -> None:
    """Write a prediction in the released format: shape (R, R, R, 1) probabilities, color
    (R, R, R, 9) = [regressed, w, flow, blended]. Direct colors are written as regressed and
    blended with w = 1 and flow = 0, which the released recipe turns back into those colors."""
    from .io import write_h5

    color9 = pred.color9
    if color9 is None and pred.colors is not None:
        c = pred.colors
        color9 = pack_color_prediction({"regressed": c, "confidence": np.ones_like(c[..., :1]),
                                        "flow": np.zeros_like(c[..., :2]), "blended": c})
    for v, name in enumerate(view_names):
        shape_path, color_path = prediction_paths(out_dir, key, name)
        write_h5(shape_path, pred.probs[v][..., None])
        if color9 is not None:
            write_h5(color_path, color9[v])


class PredictionFiles:
    """A predictor that reads saved predictions (ours or anyone's, released format): shape
    files (R, R, R, 1) and color files (R, R, R, 9), R = `resolution` (default: the first
    file's). A file of another shape, or one that is all NaN, is refused, naming it."""

    def __init__(self, out_dir: Path, view_names: Sequence[str] = VIEW_NAMES,
                 resolution: Optional[int] = None):
        self.out_dir, self.view_names = Path(out_dir), tuple(view_names)
        self.resolution = resolution

    def __call__(self, entry: ModelEntry, inputs=None) -> Prediction:
        probs, color9 = [], []
        for name in self.view_names:
            shape_path, color_path = prediction_paths(self.out_dir, entry.key, name)
            probs.append(self._read(shape_path, 1))
            if color_path.exists():
                color9.append(self._read(color_path, 9))
        if color9 and len(color9) != len(probs):
            raise FileNotFoundError(f"{self.out_dir / 'output_color' / entry.key} lacks some "
                                    f"views' color predictions")
        return Prediction(np.stack(probs), np.stack(color9) if color9 else None)

    def _read(self, path: Path, channels: int) -> np.ndarray:
        """One saved volume (R, R, R, channels), checked."""
        from .io import read_h5

        volume = read_h5(path)
        if self.resolution is None and volume.ndim == 4:
            self.resolution = volume.shape[0]
        expected = (self.resolution,) * 3 + (channels,)
        if volume.shape != expected:
            raise ValueError(f"{path} holds a prediction of shape {volume.shape}, expected "
                             f"{expected}: made at another resolution (--resolution) or not a "
                             f"prediction in the released format")
        if np.isnan(volume).all():
            raise ValueError(f"{path} is all NaN: not a prediction (a failed run wrote it?)")
        return volume


# ---------------------------------------------------------------- trivial baselines

MEAN_SHAPE = "mean training shape (baseline)"
MEAN_COLOR = "mean training color (baseline)"


@dataclass
class Baselines:
    """What a learned model must beat, fitted on the training split only.

    mean_shape (R, R, R): the fraction of training models occupying each voxel; predicted for
    every test view and read at `shape_threshold`, the threshold maximizing its mean IoU on the
    training models themselves (the most favorable fixed threshold, chosen without the test set).
    mean_color (3,): the mean color of all training surface voxels, painted on the voxels the
    method's shape network predicts, so only the colors differ from the method's PSNR.
    fitted_on: the models it was fitted on (model keys), for the record.
    """

    mean_shape: np.ndarray
    shape_threshold: float
    mean_color: np.ndarray
    fitted_on: Tuple[str, ...] = ()

    def shape_predictor(self) -> Predictor:
        def predict(entry, inputs):
            return Prediction(np.repeat(self.mean_shape[None], len(inputs), axis=0))
        return predict

    def color_predictor(self, shape) -> Predictor:
        """The mean color on the voxels `shape` predicts: a Predictor (any method's, e.g. the
        unified network's or saved predictions) or a shape network (Keras model)."""
        predict_shape = network_predictor(shape) if hasattr(shape, "count_params") else shape

        def predict(entry, inputs):
            probs = predict_shape(entry, inputs).probs  # (V, R, R, R)
            colors = np.broadcast_to(self.mean_color, probs.shape + (3,))
            return Prediction(probs, colors=colors)
        return predict


def fit_baselines(root, categories: Optional[Sequence[str]], resolution: int,
                  split: str = "train", skip_bad: bool = False) -> Baselines:
    """Fit `Baselines` on a split's ground truth (the training split: never fit on the test
    split, whose ground truth the baselines are scored against); `root` may be several roots,
    as training reads them (e.g. procedural + real training models)."""
    root = Path(root) if isinstance(root, str) else root
    entries, _ = list_models(root, split, resolve_categories(root, categories),
                             resolution, skip_bad=skip_bad)
    if not entries:
        raise FileNotFoundError(f"no {split} models in {root} to fit the baselines on")
    occupancies, color_sum, color_count = [], np.zeros(3), 0
    for e in entries:
        color = load_color(e.paths, resolution)
        occ = occupancy_from_color(color)
        occupancies.append(occ)
        color_sum += color[occ].sum(axis=0)
        color_count += int(occ.sum())
    mean_shape = np.mean(occupancies, axis=0).astype(np.float32)  # (R, R, R)
    candidates = np.unique(mean_shape)[:-1]  # thresholds t with "> t" keeping something
    step = max(1, len(candidates) // 64)
    best = max(candidates[::step], default=0.0,
               key=lambda t: np.nanmean([voxel_iou(mean_shape > t, o) for o in occupancies]))
    return Baselines(mean_shape, float(best), (color_sum / max(color_count, 1)).astype(np.float32),
                     tuple(e.key for e in entries))


def has_split(root, split: str, categories: Optional[Sequence[str]]) -> bool:
    """Whether every category of `root` has a `split` list (e.g. a test-only set has no
    training split to fit baselines on)."""
    from .data.layout import layout_of

    root = Path(root)
    layout = layout_of(root)
    try:
        cats = resolve_categories(root, categories)
        return all(layout.read_split(root, split, c) for c in cats)
    except (FileNotFoundError, ValueError):
        return False


@dataclass
class BaselineScores:
    """The two trivial baselines scored on a split, beside a method.

    shape: the mean training shape's IoU at its own threshold (EvalResult, IoU rows only;
    None when not asked for); color: the mean training color's surface PSNR (coloring
    "direct") on the voxels of the method's shape prediction (None without one)."""

    baselines: Baselines
    shape: Optional[EvalResult]
    color: Optional[EvalResult] = None

    def model_means(self, metric: str = "iou"):
        """Per-model means of `metric` ("iou", "psnr_rgb", "psnr_ycbcr"): what a method's
        per-model means are compared with (`claims.beats_baseline`)."""
        from .claims import model_means

        result = self.shape if metric == "iou" else self.color
        if result is None:
            raise ValueError(f"no {metric} for the baselines: scored without a shape prediction")
        return model_means(result.records, metric=metric)

    def results(self):
        """(label, EvalResult) of each baseline scored."""
        return [(label, r) for label, r in ((MEAN_SHAPE, self.shape), (MEAN_COLOR, self.color))
                if r is not None]

    @property
    def n_models(self) -> int:
        return max(r.n_models for _, r in self.results())

    @property
    def skipped(self) -> List[dict]:
        return self.results()[0][1].skipped


def score_baselines(root, split: str = "test", categories: Optional[Sequence[str]] = None, *,
                    image_size: Optional[int], resolution: int, shape=None, iou: bool = True,
                    baselines: Optional[Baselines] = None, fit_root=None,
                    psnr_threshold: float = PSNR_THRESHOLD, max_models: Optional[int] = None,
                    skip_bad: bool = False, progress: bool = True,
                    desc: str = "baselines") -> BaselineScores:
    """Fit the trivial baselines on the training split (of `fit_root`, default `root`; or take
    fitted `baselines`) and score them on `split` of `root`, by the same protocol as a method:
    the mean shape's IoU at its training threshold and, given `shape` (the method's shape
    network or a Predictor whose occupancy is used), the mean color's surface PSNR on the
    voxels it predicts (>= psnr_threshold); `iou=False` leaves the mean shape out. The one
    implementation behind every experiment, `evaluate` and `quickstart`."""
    if not iou and shape is None:
        raise ValueError("nothing to score: iou=False and no shape prediction for the color")
    if baselines is None:
        baselines = fit_baselines(fit_root if fit_root is not None else root, categories,
                                  resolution, skip_bad=skip_bad)
    kw = dict(image_size=image_size, resolution=resolution, max_models=max_models,
              skip_bad=skip_bad, progress=progress)
    shape_result = color_result = None
    if iou:
        shape_result = evaluate(baselines.shape_predictor(), root, split, categories,
                                iou_thresholds=(baselines.shape_threshold,),
                                desc=f"{desc}: shape", **kw)
    if shape is not None:
        color_result = evaluate(baselines.color_predictor(shape), root, split, categories,
                                iou_thresholds=(), psnr_threshold=psnr_threshold,
                                desc=f"{desc}: color", **kw)
    return BaselineScores(baselines, shape_result, color_result)
