"""Evaluate a trained model (or saved predictions) with the released protocol.

IoU at 0.8 (and --thresholds) per (test model, view), and surface PSNR in RGB and YCbCr of
the color recipes: regression only, flow only and the release's blend at each --blend-t.
Prints means per category beside the trivial baselines, fitted per category on the training
split of --data (the mean training shape at its best training threshold; the mean training
color painted on the voxels the model predicts) with paired "beats the baseline" verdicts;
--out writes the per-(model, view) rows of the model and the baselines (column `method`) as CSV.

Examples:
  python run.py evaluate --model runs/tiny --data data/procedural-tiny
  python run.py evaluate --model runs/car --save-predictions outputs/car     # released format
  python run.py evaluate --predictions outputs/car --data data/procedural-small --resolution 32
  python run.py evaluate --model runs/tiny --check-brute-force 3   # k-d tree vs released cdist
  python run.py evaluate --model runs/paper/<data>/car/shape-msfcel-<hash> --categories car \
      --data data/procedural-paper --resolution 32    # a 64^3 network's IoU at 32^3 (pooled)
  python run.py evaluate --model runs/small/<data>/car/shape-msfcel-<hash> \
      --color-model runs/small/<data>/car/color-<hash> --categories car   # experiments' runs
  python run.py evaluate --model runs/paper/<data>/chair/shape-msfcel-<hash> --categories chair \
      --data data/procedural-paper --weights int8   # as `publish-model --weights int8` stores it
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from ..io import atomic_write_text

from .options import (add_data_argument, int_range, nonnegative_int, positive_int,
                      probability, unit_interval)

PREDICTIONS_SIDECAR = "predictions.json"

HELP = "evaluate a model or saved predictions (IoU, surface PSNR) on a test split"


def add_arguments(parser) -> None:
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="model dir: config.json + shape.keras (+ color.keras)")
    src.add_argument("--predictions", help="folder of saved predictions in the released format "
                                           "(output_shape/, output_color/) to score instead")
    parser.add_argument("--color-model", default=None,
                        help="color network (.keras file or a dir holding color.keras) when it "
                             "is not in --model (experiments keep each network in its own run "
                             "dir); without any, only IoU is scored")
    add_data_argument(parser)
    from ..pretrained import WEIGHT_ENCODINGS

    parser.add_argument("--weights", choices=("float32", *WEIGHT_ENCODINGS), default="float32",
                        help="--model's weights as trained (float32, the default) or as the "
                             "zoo would store them (float16, or int8 with one scale per kernel "
                             "channel: publish-model --weights), to measure what storing costs")
    parser.add_argument("--split", default="test", help="split to evaluate (default: test)")
    parser.add_argument("--categories", nargs="+", default=None,
                        help="categories (default: the model's preset's)")
    parser.add_argument("--resolution", type=int_range(2, 512), default=None,
                        help="with --predictions: their volume size R (default: the model's). "
                             "With --model: score at R^3, coarser than the network's own (a "
                             "divisor of it), by max-pooling its occupancy: a 64^3 network "
                             "beside a 32^3 one on equal footing (IoU only, no colors)")
    parser.add_argument("--image-size", type=int_range(8, 4096), default=None,
                        help="with --predictions: the input size S of the network that made "
                             "them (flow colors are sampled from the view resized to S). "
                             "Default: what predictions.json beside them says, else the views' "
                             "own size (the released 128 px)")
    parser.add_argument("--max-models", type=positive_int, default=None,
                        help="only the first N models of each category")
    parser.add_argument("--thresholds", type=probability, nargs="+", default=[0.8, 0.3, 0.4, 0.5],
                        help="IoU occupancy thresholds (default 0.8 0.3 0.4 0.5; 0.8 is released)")
    parser.add_argument("--blend-t", type=unit_interval, nargs="+", default=[0.2],
                        help="re-weighting thresholds t of the color recipe (0.2 is released)")
    parser.add_argument("--save-predictions", default=None,
                        help="also write the predictions in the released format here")
    parser.add_argument("--out", default=None,
                        help="CSV of the per-(model, view) rows, the model's and the baselines' "
                             "(column method)")
    parser.add_argument("--check-brute-force", type=nonnegative_int, default=0, metavar="N",
                        help="re-score the first N models with the released brute-force "
                             "nearest-voxel search; print the largest difference and the speed-up")
    parser.add_argument("--baseline-split", default="train",
                        help="split the trivial baselines are fitted on (default: train; "
                             "skipped when --data has none)")
    parser.add_argument("--no-baselines", action="store_true",
                        help="do not fit and score the trivial baselines")
    parser.add_argument("--skip-bad", action="store_true",
                        help="skip models with missing or corrupt files (with a warning)")


def run(args) -> int:
    from .. import evaluation, methods, scoring
    from .options import resolve_data

    if args.model:
        from ..models import load_network, load_preset

        preset = load_preset(args.model)
        shape = load_network(Path(args.model) / "shape.keras")
        image_size, resolution = preset.model.image_size, preset.model.volume_size
        pool = 1
        if args.resolution and args.resolution != resolution:
            if args.resolution > resolution or resolution % args.resolution:
                raise ValueError(f"--resolution {args.resolution}: the model predicts "
                                 f"{resolution}^3; give a divisor of {resolution} (e.g. "
                                 f"{resolution // 2}) to score it coarser, or leave it out")
            print(f"scoring at {args.resolution}^3: the model's {resolution}^3 occupancy "
                  f"max-pooled by {resolution // args.resolution} (IoU only)")
            pool, resolution = resolution // args.resolution, args.resolution
        color_path = Path(args.color_model or args.model)
        if color_path.is_dir():
            color_path = color_path / "color.keras"
        color = (load_network(color_path) if pool == 1 and (color_path.exists()
                                                            or args.color_model) else None)
        if args.weights != "float32":
            from ..pretrained import as_stored

            print(f"weights as the zoo stores them: {args.weights}")
            shape = as_stored(shape, "shape", preset, args.weights)
            if color is not None:
                color = as_stored(color, "color", preset, args.weights)
        predictor = evaluation.pooled_predictor(methods.get("shape").predictor(shape, color),
                                                pool)
    else:
        from ..config import get_preset

        if args.weights != "float32":
            raise ValueError("--weights applies to --model: saved predictions hold no weights")
        if not args.data:
            raise ValueError("--predictions needs --data: the dataset they were made from")
        preset = get_preset("paper")
        sidecar = Path(args.predictions) / PREDICTIONS_SIDECAR
        saved = json.loads(sidecar.read_text()) if sidecar.exists() else {}
        image_size = args.image_size or saved.get("image_size")
        resolution = args.resolution or saved.get("resolution") or preset.model.volume_size
        predictor = evaluation.PredictionFiles(args.predictions, resolution=resolution)
    root = resolve_data(args.data, preset)
    categories = args.categories or list(preset.data.categories)
    kw = dict(image_size=image_size, resolution=resolution, iou_thresholds=args.thresholds,
              blend_ts=args.blend_t, max_models=args.max_models, skip_bad=args.skip_bad,
              save_predictions=Path(args.save_predictions) if args.save_predictions else None)
    t0 = time.perf_counter()
    scored = None
    if args.no_baselines:
        result = evaluation.evaluate(predictor, root, args.split, categories, **kw)
    elif not evaluation.has_split(root, args.baseline_split, categories):
        print(f"(no {args.baseline_split} split in {root} to fit the trivial baselines on: "
              "skipped)")
        result = evaluation.evaluate(predictor, root, args.split, categories, **kw)
    else:
        scored = scoring.beside_baselines(
            predictor, root, args.split, categories, shape=predictor,
            baseline_split=args.baseline_split,
            selections=scoring.standard_selections(args.blend_t[0]), **kw)
        result = scored.result
    wall = time.perf_counter() - t0
    for bad in result.skipped:
        print(f"skipped {bad['model']}: {bad['reason']}")
    records = scored.records() if scored else result.records.assign(method="model")
    print_summary(summary_of(records))
    if scored:
        print_verdicts(scored.verdicts)
    n_views = result.records.groupby(["model_id", "view"]).ngroups
    print(f"\n{result.n_models} models x 12 views from {root} ({args.split}), {resolution}^3; "
          f"{wall:.1f} s: predicting {result.seconds_predict:.1f} s, scoring "
          f"{result.seconds_score:.1f} s ({n_views / max(result.seconds_score, 1e-9):.1f} views/s)")
    if args.out:
        atomic_write_text(args.out, records.to_csv(index=False, float_format="%.6g"))
        print(f"rows: {args.out}")
    if args.save_predictions:
        # Our addition beside the released files: what scoring them again needs to know.
        atomic_write_text(Path(args.save_predictions) / PREDICTIONS_SIDECAR, json.dumps(
            {"image_size": image_size, "resolution": resolution}))
        print(f"predictions (released format): {args.save_predictions}")
    if args.check_brute_force:
        check_brute_force(predictor, root, args, categories, image_size, resolution)
    return 0


def summary_of(records):
    """`evaluation.summarize` per method, the model first, baselines labelled."""
    import pandas as pd

    from .. import evaluation

    parts = []
    for method, r in records.groupby("method", sort=False):
        if method == evaluation.MEAN_SHAPE:  # its threshold is fitted per category
            r = r.assign(threshold=-1.0)
        s = evaluation.summarize(r)
        s["method"] = method
        parts.append(s)
    return pd.concat(parts, ignore_index=True)


def print_verdicts(verdicts) -> None:
    """Per category (and pooled), does the model beat each baseline? (`scoring.verdicts`)"""
    print("\nagainst the trivial baselines (paired per test model; supported / contradicted at "
          "2 standard errors):")
    for r in verdicts.to_dict("records"):
        print(f"  {r['claim']:<62s} {r['category']:<10s} {r['mean_difference']:+8.4f} "
              f"+- {r['sem']:.4f} ({r['n_models']} models): {r['verdict']}")


def print_summary(summary) -> None:
    import pandas as pd

    s = summary.copy()
    s["what"] = s.apply(lambda r: f"IoU@{r.threshold:g}" if r.metric == "iou" else
                        f"{r.metric.replace('psnr_', 'PSNR ')} {r.coloring}"
                        + (f" t={r.t:g}" if pd.notna(r.t) else ""), axis=1)
    if "method" in s:  # baseline rows: named; the mean shape's threshold differs per category
        base = s.method != "model"
        s.loc[base, "what"] = s.loc[base].apply(
            lambda r: f"{r.method}: " + ("IoU" if r.metric == "iou" else
                                         r.metric.replace("psnr_", "PSNR ")), axis=1)
    table = s.pivot_table(index="what", columns="category", values="value", sort=False)
    with pd.option_context("display.float_format", "{:.4f}".format, "display.width", 120):
        print(table.to_string())
    empty = s[s.metric != "iou"]
    if len(empty) and empty.n_empty.max() > 0:
        print(f"views with an empty prediction (no PSNR, left out of its mean): "
              f"{int(empty[empty.category != 'mean'].groupby('category').n_empty.max().sum())}")


def check_brute_force(predictor, root, args, categories, image_size, resolution) -> None:
    """Score the first N models twice: k-d tree vs the released cdist search."""
    import numpy as np

    from .. import evaluation
    from ..metrics import BruteForceNearest

    fast_s = slow_s = 0.0
    worst = 0.0
    models = evaluation.iter_test_models(root, args.split, categories, image_size, resolution,
                                         max_models=args.check_brute_force)
    n = 0
    for tm in models:
        pred = predictor(tm.entry, tm.inputs)
        slow_gt = evaluation.GroundTruth(tm.gt.occupancy, tm.gt.points, tm.gt.colors,
                                         BruteForceNearest(tm.gt.points))
        t0 = time.perf_counter()
        fast = evaluation.score_model(tm.gt, pred, tm.inputs, blend_ts=args.blend_t)
        t1 = time.perf_counter()
        slow = evaluation.score_model(slow_gt, pred, tm.inputs, blend_ts=args.blend_t)
        t2 = time.perf_counter()
        fast_s, slow_s, n = fast_s + t1 - t0, slow_s + t2 - t1, n + 1
        a = np.array([r["value"] for r in fast], float)
        b = np.array([r["value"] for r in slow], float)
        if not np.array_equal(np.isfinite(a), np.isfinite(b)):
            raise AssertionError(f"{tm.entry.key}: the two searches disagree on empty views")
        both = np.isfinite(a)
        worst = max(worst, float(np.abs(a[both] - b[both]).max(initial=0.0)))
    print(f"brute-force check on {n} models: largest difference {worst:.2e}; scoring "
          f"{fast_s:.2f} s with the k-d tree vs {slow_s:.2f} s brute force "
          f"(x{slow_s / max(fast_s, 1e-9):.1f})")
