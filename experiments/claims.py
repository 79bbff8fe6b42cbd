"""The claims study: which of the paper's claims hold on our data, under which condition,
judged over training seeds, with the trivial baselines beside every arm.

Shape: MSFCEL vs cross-entropy x BatchNorm on the output logits on (released) / off (a
departure, `decoder.output_batchnorm=False`) x the threshold fixed at 0.8 (released) / chosen
per network on the validation split. Color: the color network's blend vs regression only vs
flow only, at t = 0.2 (released) and t = 1 (the training blend), on the voxels of the faithful
shape network (MSFCEL, output BN on) of the same seed.

Every network trains once per seed (run dirs keyed by the seed, so an interrupted study resumes
and a finished network is reused). A verdict uses the per-seed differences: their mean and
standard error over seeds against Student's t (`claims.over_seeds`: 4.30 SE with 3 seeds).
"""
from __future__ import annotations

import json
import math

import numpy as np

from im2avatar_tf import claims, methods
from im2avatar_tf.commands.options import nonnegative_int
from im2avatar_tf.evaluation import (GROUND_TRUTH_FLOW, MEAN_COLOR, MEAN_SHAPE,
                                     ground_truth_flow_predictor, has_split)
from im2avatar_tf.registry import register

from . import _common as common
from . import _report as report
from .table2 import COLORINGS, FLOW, REGRESSION, RELEASED, TRAINING_BLEND

LOSS_NAMES = {"msfcel": "MSFCEL", "bce": "cross-entropy"}
OUTPUT_BN = {True: "output BN on (released)", False: "output BN off"}
# (shape loss, output BatchNorm), faithful first
SHAPE_ARMS = (("msfcel", True), ("bce", True), ("msfcel", False), ("bce", False))
ARM_SETS = {"all": SHAPE_ARMS, "faithful": SHAPE_ARMS[:1]}
FIXED, CHOSEN = "0.8 (released)", "chosen on validation"
VAL_THRESHOLDS = tuple(round(float(t), 2) for t in np.arange(0.05, 0.951, 0.05))
IOU_MARGIN, PSNR_MARGIN = 0.05, 1.0  # the targets: mean shape + 0.05 IoU, mean color + 1 dB
COLOR_METRICS = ("psnr_rgb", "psnr_ycbcr")
# --precise-bn: the color network again, its BatchNorm statistics recomputed (not released)
PRECISE_BN = "precise BN (not released)"


def precise(coloring: str) -> str:
    return f"{coloring}, {PRECISE_BN}"


def arm_label(loss: str, output_bn: bool) -> str:
    return f"CVN + {LOSS_NAMES[loss]}, {OUTPUT_BN[output_bn]}"


def add_arguments(parser) -> None:
    common.add_arguments(parser, seed=False)  # --seeds instead
    common.add_real_test_argument(parser)
    parser.add_argument("--seeds", type=nonnegative_int, nargs="+", default=None,
                        metavar="SEED",
                        help="training seeds (default 1 2 3); a verdict needs the mean per-seed "
                             "difference beyond t(0.975, n-1) standard errors (4.30 with 3 "
                             "seeds, 12.7 with 2)")
    parser.add_argument("--arms", choices=sorted(ARM_SETS), default="all",
                        help="shape networks to train per seed: all four (default), or only "
                             "the faithful one (MSFCEL, output BN on), for the verdicts "
                             "against the baselines alone (5x cheaper per seed)")
    parser.add_argument("--precise-bn", action="store_true",
                        help="also score every color network with its BatchNorm statistics "
                             "recomputed on one epoch of its training batches with its final "
                             "weights (PreciseBN; the release keeps the moving averages): "
                             "rows '..., precise BN (not released)', the two blends judged "
                             "against the moving averages and the mean color; the trained "
                             "networks are not changed")


def best_threshold(records) -> float:
    """The threshold with the highest mean IoU over models (each the mean over its views)."""
    iou = records[records.metric == "iou"]
    per_model = iou.groupby(["threshold", "model_id"])["value"].mean()
    return float(per_model.groupby(level="threshold").mean().idxmax())


@register("claims")
class Claims:
    """The claims study: MSFCEL vs cross-entropy x output BN on/off x threshold 0.8 / chosen
    on validation; blend vs regression vs flow at t = 0.2 and t = 1; verdicts over seeds
    (mean and standard error of the per-seed differences), with the mean training shape and
    color beside every arm. Trains 4 shape networks and 1 color network per category and
    seed where missing, reusing run dirs."""

    add_arguments = staticmethod(add_arguments)

    @staticmethod
    def run(args) -> int:
        import pandas as pd

        s = common.setup("claims", args)
        # Studies of different categories or arms are separate runs: each keeps its own
        # folder, results/claims/<preset>[-<S>steps][-plus-<extra data>]-<categories>[-<arms>].
        parts = ["-".join(s.categories)] + ([args.arms] if args.arms != "all" else [])
        s.out_dir = s.out_dir.with_name(s.out_dir.name + "-" + "-".join(parts))
        seeds = list(dict.fromkeys(args.seeds or (1, 2, 3)))
        rows = []  # tidy: dataset, category, seed, method, metric, threshold_mode, threshold,
        # value
        logs = []  # (label, seed, log_<network>.csv) of every network, for the curves

        def record(dataset, cat, seed, method, metric, value, mode="", threshold=math.nan,
                   n_models=None):
            rows.append(dict(dataset=dataset, category=cat, seed=seed, method=method,
                             metric=metric, threshold_mode=mode, threshold=threshold,
                             value=float(value), n_models=n_models))

        # Every network first, then the scores: a study interrupted while training (hours
        # at `paper`) resumes training at once, without scoring anything again.
        nets = {(cat, seed): train_seed(s, cat, seed, args.arms, logs)
                for cat in s.categories for seed in seeds}
        for cat in s.categories:
            with_val = has_split(s.root, "val", [cat])
            if not with_val:
                print(f"[claims] {cat}: no validation split in {s.root}; the threshold stays "
                      f"at 0.8 (no '{CHOSEN}' rows)")
            test_sets = s.test_sets_of(cat)
            mean_shape = {}  # dataset -> (IoU, threshold): the same for every seed
            fitted = common.fit_baselines(s, cat)  # once: they do not depend on the seed
            # The flow branch's ceiling (no network, the same for every seed): the image
            # sampled at the ground-truth flow, on the ground-truth surface.
            ceiling = {dataset: common.evaluate(
                s, cat, ground_truth_flow_predictor(s.preset.model.volume_size), root=root,
                iou_thresholds=(), blend_ts=()).records for dataset, root in test_sets}
            for seed in seeds:
                shapes, color = nets[cat, seed]
                for (loss, bn), net in shapes.items():
                    label = arm_label(loss, bn)
                    predict = methods.get("shape").predictor(net)
                    modes = {FIXED: 0.8}
                    if with_val:
                        val = common.evaluate(s, cat, predict, split="val",
                                              iou_thresholds=VAL_THRESHOLDS)
                        modes[CHOSEN] = best_threshold(val.records)
                    for dataset, root in test_sets:
                        test = common.evaluate(s, cat, predict, root=root, iou_thresholds=tuple(
                            sorted(set(modes.values()))))
                        for mode, thr in modes.items():
                            iou = claims.model_means(test.records, metric="iou", threshold=thr)
                            record(dataset, cat, seed, label, "iou", iou.mean(), mode, thr,
                                   n_models=test.n_models)
                faithful = shapes["msfcel", True]
                variants = {"": color}
                if args.precise_bn:
                    variants[PRECISE_BN] = common.precise_bn(s, color, cat, train={"seed": seed})
                for dataset, root in test_sets:
                    for variant, network in variants.items():
                        result = common.evaluate(s, cat, methods.get("color").predictor(
                            network, shape=faithful), root=root, iou_thresholds=(),
                            blend_ts=(0.2, 1.0))
                        for name, select in COLORINGS.items():
                            for metric in COLOR_METRICS:
                                value = claims.model_means(result.records, metric=metric,
                                                           **select)
                                record(dataset, cat, seed, precise(name) if variant else name,
                                       metric, value.mean())
                    # The mean training shape is the same for every seed; the mean color is
                    # painted on this seed's faithful shape network's voxels.
                    base = common.baselines(s, cat, shape=faithful, root=root, fitted=fitted,
                                            iou=dataset not in mean_shape)
                    if dataset not in mean_shape:
                        mean_shape[dataset] = (base.model_means("iou").mean(),
                                               base.baselines.shape_threshold)
                    record(dataset, cat, seed, MEAN_SHAPE, "iou", mean_shape[dataset][0],
                           "fitted on training", mean_shape[dataset][1])
                    for metric in COLOR_METRICS:
                        record(dataset, cat, seed, MEAN_COLOR, metric,
                               base.model_means(metric).mean())
                        record(dataset, cat, seed, GROUND_TRUTH_FLOW, metric, claims.model_means(
                            ceiling[dataset], metric=metric, coloring="flow").mean())

        df = pd.DataFrame(rows)
        verdicts = study_claims(df)
        for k, v in report.context(s).items():
            df[k] = v
        res = report.Results(s)
        paths = res.write(markdown(df, verdicts, seeds), table=df, plot=lambda p: (
            report.loss_curves(logs, p, s.preset.train.batch_size,
                               f"claims: training loss ({s.preset.name}, "
                               f"{report.schedule_text(s.preset)}, seeds {seeds})")))
        from im2avatar_tf.io import atomic_write_text

        atomic_write_text(s.out_dir / "claims.json", json.dumps(verdicts, indent=1))
        print(open(paths["markdown"]).read())
        return 0


def train_seed(s, cat: str, seed: int, arms: str, logs: list) -> tuple:
    """Train (or reuse) one seed's networks of one category: the shape arms ((loss, output
    BN) -> network) and the color network; each training curve's log goes in `logs`."""
    shapes = {}
    for loss, bn in ARM_SETS[arms]:
        variant = dict(shape_loss=loss, train={"seed": seed},
                       model={"decoder": {"output_batchnorm": bn}})
        shapes[loss, bn] = common.train_or_reuse(s, "shape", cat, **variant)
        logs.append((f"{cat}: {arm_label(loss, bn)}", seed,
                     common.run_dir(s, "shape", cat, **variant) / "log_shape.csv"))
    seeded = dict(train={"seed": seed})
    color = common.train_or_reuse(s, "color", cat, **seeded)
    logs.append((f"{cat}: color network", seed,
                 common.run_dir(s, "color", cat, **seeded) / "log_color.csv"))
    return shapes, color


def scores(df, cat, method, metric, mode=""):
    """seed -> value of one arm (df: one test set's rows)."""
    sel = df[(df.category == cat) & (df.method == method) & (df.metric == metric)]
    if mode:
        sel = sel[sel.threshold_mode == mode]
    return dict(zip(sel.seed, sel.value))


def study_claims(rows) -> list:
    """The verdicts (claims.over_seeds rows, with test set, category and condition)."""
    return [verdict for dataset in dict.fromkeys(rows.dataset)
            for verdict in _claims_of(rows[rows.dataset == dataset], dataset)]


def _claims_of(df, dataset) -> list:
    out = []

    def add(cat, condition, row):
        if row["n_seeds"]:  # an arm this run did not train (--arms) has no verdict
            out.append({**row, "dataset": dataset, "category": cat, "condition": condition})

    for cat in dict.fromkeys(df.category):
        modes = [m for m in (FIXED, CHOSEN) if m in set(df.threshold_mode)]
        for bn in (True, False):
            for mode in modes:
                condition = f"{OUTPUT_BN[bn]}, threshold {mode}"
                add(cat, condition, claims.over_seeds(
                    scores(df, cat, arm_label("msfcel", bn), "iou", mode),
                    scores(df, cat, arm_label("bce", bn), "iou", mode),
                    "MSFCEL beats cross-entropy (IoU)"))
        for loss in LOSS_NAMES:
            for mode in modes:
                add(cat, f"{LOSS_NAMES[loss]}, threshold {mode}", claims.over_seeds(
                    scores(df, cat, arm_label(loss, False), "iou", mode),
                    scores(df, cat, arm_label(loss, True), "iou", mode),
                    "output BN off beats on (IoU; not a claim of the paper)"))
        base = scores(df, cat, MEAN_SHAPE, "iou")
        for loss, bn in SHAPE_ARMS:
            for mode in modes:
                add(cat, f"threshold {mode}", claims.over_seeds(
                    scores(df, cat, arm_label(loss, bn), "iou", mode), base,
                    f"{arm_label(loss, bn)} beats the mean training shape by {IOU_MARGIN} "
                    f"(IoU)", margin=IOU_MARGIN))
        for blend, short in ((RELEASED, "t = 0.2"), (TRAINING_BLEND, "t = 1")):
            for other in (REGRESSION, FLOW):
                add(cat, "voxels of the faithful shape network", claims.over_seeds(
                    scores(df, cat, blend, "psnr_rgb"), scores(df, cat, other, "psnr_rgb"),
                    f"blend ({short}) beats {other.split(' (')[0]} (PSNR RGB)"))
        base = scores(df, cat, MEAN_COLOR, "psnr_rgb")
        for name in COLORINGS:
            add(cat, "voxels of the faithful shape network", claims.over_seeds(
                scores(df, cat, name, "psnr_rgb"), base,
                f"{name} beats the mean training color by {PSNR_MARGIN:g} dB (PSNR RGB)",
                margin=PSNR_MARGIN))
        for name in (RELEASED, TRAINING_BLEND):  # with --precise-bn only
            add(cat, "voxels of the faithful shape network", claims.over_seeds(
                scores(df, cat, precise(name), "psnr_rgb"), scores(df, cat, name, "psnr_rgb"),
                f"{precise(name)} beats the moving averages (PSNR RGB; not a claim of the "
                f"paper)"))
            add(cat, "voxels of the faithful shape network", claims.over_seeds(
                scores(df, cat, precise(name), "psnr_rgb"), base,
                f"{precise(name)} beats the mean training color by {PSNR_MARGIN:g} dB "
                f"(PSNR RGB)", margin=PSNR_MARGIN))
    return out


def _mean_se(values) -> str:
    v = np.asarray([x for x in values if math.isfinite(x)], dtype=float)
    if len(v) == 0:
        return "-"
    if len(v) == 1:
        return f"{v[0]:.3f}"
    return f"{v.mean():.3f} ± {v.std(ddof=1) / math.sqrt(len(v)):.3f}"


def markdown(df, verdicts, seeds) -> list:
    df = df.assign(column=[report.column_label(d, c) for d, c in zip(df.dataset, df.category)])
    cols = list(dict.fromkeys(df.column))
    iou = ["| method | threshold | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    for method in [arm_label(*a) for a in SHAPE_ARMS] + [MEAN_SHAPE]:
        for mode in dict.fromkeys(df[(df.method == method) & (df.metric == "iou")].threshold_mode):
            sel = df[(df.method == method) & (df.metric == "iou") & (df.threshold_mode == mode)]
            cells = [_mean_se(sel[sel.column == c].value) for c in cols]
            if mode == CHOSEN:
                mode += " (" + ", ".join(f"{sel[sel.column == c].threshold.mean():.2f}"
                                         for c in cols) + ")"
            iou.append(f"| {method} | {mode} | " + " | ".join(cells) + " |")
    psnr = ["| coloring | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    colorings = list(COLORINGS) + [precise(c) for c in COLORINGS]
    for method in colorings + [MEAN_COLOR, GROUND_TRUTH_FLOW]:
        sel = df[(df.method == method) & (df.metric == "psnr_rgb")]
        if sel.empty and method not in COLORINGS:  # no --precise-bn
            continue
        psnr.append(f"| {method} | " + " | ".join(_mean_se(sel[sel.column == c].value)
                                                   for c in cols) + " |")
    table = ["| claim | condition | test set | mean difference | SE over seeds | seeds | "
             "verdict |", "|---|---|---|---|---|---|---|"]
    for v in verdicts:
        table.append(f"| {v['claim']} | {v['condition']} | "
                     f"{report.column_label(v['dataset'], v['category'])} | "
                     f"{v['mean_difference']:+.3f} | {v['sem']:.3f} | {v['n_seeds']} | "
                     f"{v['verdict']} |")
    counts = df[df.n_models.notna()].groupby("column", sort=False)["n_models"].max()
    return [
        "Test models: " + ", ".join(f"{c} {int(n)}" for c, n in counts.items()) + ".", "",
        f"Seeds {', '.join(map(str, seeds))}: every network trained once per seed; each cell "
        "is the mean over seeds ± its standard error, of the test-split mean over models "
        "(each model the mean over its 12 views). Columns: the category's test split of the "
        "training data's distribution, and of each real held-out set given.", "",
        "## Shape: mean IoU", "", *iou, "",
        f"'{CHOSEN}': per network, the threshold (grid 0.05 to 0.95) with the highest mean "
        "IoU on the validation split, then applied to the test split; in brackets its mean "
        "over seeds. The mean training shape is read at the threshold maximizing its IoU on "
        "the training models.", "",
        "## Color: mean surface PSNR, RGB (dB)", "", *psnr, "",
        "On the voxels (probability >= 0.8) of the faithful shape network (MSFCEL, output BN "
        "on) of the same seed; the mean training color painted on the same voxels. The last "
        f"row, '{GROUND_TRUTH_FLOW}', is no method: the input image sampled at the dataset's "
        "ground-truth flow, on the ground-truth surface voxels, the best any predicted flow "
        "can do on this data (the views are shaded, the surface colors are not). YCbCr in "
        "results.csv.", "",
        *([f"'{PRECISE_BN}' (--precise-bn): the same color network with its BatchNorm "
           "statistics recomputed on one epoch of its training batches with its final weights "
           "(PreciseBN); the release keeps the moving averages.", ""]
          if (df.method == precise(TRAINING_BLEND)).any() else []),
        "Training curves (loss per epoch against optimizer steps, every network and seed): "
        "`plot.png`.", "",
        "## Verdicts", "",
        "From the per-seed differences (A - B, or A - baseline - margin for the targets): "
        "supported if their mean is above t(0.975, n - 1) standard errors over the n seeds "
        "(4.30 SE for 3 seeds: with so few seeds a 2-SE rule passes by chance too often), "
        "contradicted if below minus that, else not resolved. 'mean difference' is A - B "
        "(without the margin).",
        "", *table,
    ]
