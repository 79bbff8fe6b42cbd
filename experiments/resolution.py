"""Resolution side by side: the faithful networks (MSFCEL shape network, color network) of the
same categories at a coarse preset (`small`: 64 px -> 32^3) and a fine one (`paper`: 128 px ->
64^3), scored on the same test models.

Each network is scored at its own resolution on its own dataset (the same objects and splits,
built at each preset), and the fine network again at the coarse resolution with its occupancy
max-pooled (`evaluation.pooled_predictor`), so the two are compared on equal footing: a coarse
voxel is occupied iff one of its fine voxels is, as the coarse ground truth pooled from the
fine file is. Surface PSNR stays at each network's own resolution. Each network is judged
against the trivial baselines of its own resolution, and the fine one against the coarse one,
paired per test model (the model ids both test splits hold).

    python run.py resolution --preset paper --data data/procedural-paper \\
        --extra-train-data data/sweethome3d-paper --real-test data/sweethome3d-paper \\
        --coarse-data data/procedural-small --coarse-extra-train-data data/sweethome3d-small \\
        --coarse-real-test data/sweethome3d-small --categories chair --steps 540 --seed 1 \\
        --coarse-steps 1000 --validate-every 2 --color-batch-size 40

The networks are the ones `claims`, `table1` and `table2` train with the same options (shared
run dirs): this experiment trains only what is missing.
"""
from __future__ import annotations

import argparse
from typing import List

from im2avatar_tf import methods
from im2avatar_tf.commands.options import positive_int
from im2avatar_tf.config import PRESETS
from im2avatar_tf.evaluation import MEAN_COLOR, MEAN_SHAPE, pooled_predictor
from im2avatar_tf.registry import register

from . import _common as common
from . import _report as report
from ._scores import TestSetScores

IOU_THRESHOLD, PSNR_T = 0.8, 1.0  # the released threshold; the training blend (claims' target)
BLEND_TS = (0.2, 1.0)  # the released re-weighting threshold and the training blend


def network_label(s) -> str:
    """'64^3 (paper)': a setup's network, by its resolution and preset."""
    return f"{s.preset.model.volume_size}^3 ({s.preset.name})"


def pooled_label(fine, coarse) -> str:
    return f"{network_label(fine)} pooled to {coarse.preset.model.volume_size}^3"


def coarse_args(args) -> argparse.Namespace:
    """The coarse side's arguments: the fine side's, with --coarse-* in their place (its
    preset's own schedule unless --coarse-steps / --coarse-epochs; its preset's color batch)."""
    out = argparse.Namespace(**vars(args))
    out.preset, out.data = args.coarse_preset, args.coarse_data
    out.extra_train_data, out.real_test = args.coarse_extra_train_data, args.coarse_real_test
    out.steps, out.epochs = args.coarse_steps, args.coarse_epochs
    out.color_batch_size = None
    return out


def paired_test_sets(fine, coarse) -> List[tuple]:
    """((fine label, fine root), (coarse label, coarse root)) of the same test models: --data's
    with --coarse-data's, then each --real-test with the --coarse-real-test at its place."""
    if len(fine.test_sets()) != len(coarse.test_sets()):
        raise ValueError(f"--real-test and --coarse-real-test pair up in order: give as many "
                         f"of each ({len(fine.real_roots)} and {len(coarse.real_roots)})")
    return list(zip(fine.test_sets(), coarse.test_sets()))


@register("resolution")
class Resolution:
    """Resolution side by side: the same categories and test models at a coarse preset
    (default `small`, 32^3) and a fine one (--preset, default `paper`, 64^3).

    IoU@0.8 at each network's own resolution and both at the coarse resolution (the fine
    occupancy max-pooled), surface PSNR (t = 1 and the released t = 0.2) at each network's own
    resolution, each beside its own resolution's trivial baselines; the paired verdict "the
    fine network beats the coarse one" per test model. Trains what is missing, reusing the
    run dirs of claims / table1 / table2 run with the same options."""

    @staticmethod
    def add_arguments(parser) -> None:
        common.add_arguments(parser, default_preset="paper")
        common.add_real_test_argument(parser)
        parser.add_argument("--coarse-preset", choices=sorted(PRESETS), default="small",
                            help="the coarse side's preset (default small: 64 px -> 32^3)")
        parser.add_argument("--coarse-data", required=True, metavar="DIR",
                            help="the same objects and splits as --data, built at the coarse "
                                 "preset (e.g. data/procedural-small)")
        parser.add_argument("--coarse-extra-train-data", nargs="+", default=None,
                            metavar="DIR", help="the coarse side's --extra-train-data")
        parser.add_argument("--coarse-real-test", nargs="+", default=None, metavar="DIR",
                            help="the coarse side's --real-test, in the same order (the same "
                                 "held-out models, built at the coarse preset)")
        schedule = parser.add_mutually_exclusive_group()
        schedule.add_argument("--coarse-steps", type=positive_int, default=None,
                              help="the coarse networks' optimizer steps (default: the coarse "
                                   "preset's schedule)")
        schedule.add_argument("--coarse-epochs", type=positive_int, default=None,
                              help="the coarse networks' epochs instead")
        parser.add_argument("--shape-only", action="store_true",
                            help="the shape networks alone (IoU): no color network is trained "
                                 "or scored")

    @staticmethod
    def run(args) -> int:
        fine, coarse = common.setup("resolution", args), common.setup("resolution",
                                                                      coarse_args(args))
        fr, cr = fine.preset.model.volume_size, coarse.preset.model.volume_size
        if fr <= cr or fr % cr:
            raise ValueError(f"--preset {fine.preset.name} ({fr}^3) must be finer than "
                             f"--coarse-preset {coarse.preset.name} ({cr}^3), by a whole factor")
        if args.shape_only:
            fine.out_dir = fine.out_dir.with_name(fine.out_dir.name + "-shape-only")
        fine.out_dir = fine.out_dir.with_name(f"{fine.out_dir.name}-vs-{coarse.out_dir.name}")
        paths = compare(fine, coarse, colors=not args.shape_only)
        print(open(paths["markdown"]).read())
        return 0


def compare(fine, coarse, colors: bool = True) -> dict:
    """Train or reuse both sides' networks, score them on every paired test set, write the
    results (the fine setup's folder and context; the coarse rows carry their own)."""
    res = report.Results(fine)
    pairs = paired_test_sets(fine, coarse)
    scores = {f[0]: TestSetScores() for f, _ in pairs}
    fine_label, coarse_label = network_label(fine), network_label(coarse)
    pooled = pooled_label(fine, coarse)
    factor = fine.preset.model.volume_size // coarse.preset.model.volume_size
    for cat in fine.categories:
        nets = {}  # side's label -> shape network, color network, fitted baselines
        for s, label in ((fine, fine_label), (coarse, coarse_label)):
            shape = common.train_or_reuse(s, "shape", cat)
            color = common.train_or_reuse(s, "color", cat) if colors else None
            nets[label] = shape, color, common.fit_baselines(s, cat)
        for (dataset, f_root), (_, c_root) in pairs:
            if dataset not in dict(fine.test_sets_of(cat)):
                continue
            for s, root, label in ((fine, f_root, fine_label), (coarse, c_root, coarse_label)):
                shape, color, fitted = nets[label]
                predictor = (methods.get("color").predictor(color, shape=shape) if colors
                             else methods.get("shape").predictor(shape))
                result = common.evaluate(s, cat, predictor, root=root,
                                         iou_thresholds=(IOU_THRESHOLD,), blend_ts=BLEND_TS)
                res.add(label, result, dataset=dataset, **own_context(s))
                scores[dataset].add(label, cat, result.records)
                base = common.baselines(s, cat, shape=shape if colors else None,
                                        fitted=fitted, root=root)
                res.add_baselines(base, dataset=dataset, resolution_of=label,
                                  **own_context(s))
                scores[dataset].add_baselines(cat, base, label=label)
            shape = nets[fine_label][0]
            result = common.evaluate(
                fine, cat, pooled_predictor(methods.get("shape").predictor(shape), factor),
                root=f_root, resolution=coarse.preset.model.volume_size,
                iou_thresholds=(IOU_THRESHOLD,), blend_ts=())
            res.add(pooled, result, dataset=dataset,
                    **own_context(fine, coarse.preset.model.volume_size))
            scores[dataset].add(pooled, cat, result.records)
    for dataset, sc in scores.items():
        res.add_claims(verdicts(sc, fine_label, coarse_label, pooled, colors), dataset)
    df = res.table()
    return res.write(report.sections_per_test_set(
        fine, df, lambda rows: tables(rows, fine_label, coarse_label, pooled, coarse), notes=(
            "", notes(fine, coarse))), table=df)


def own_context(s, resolution: int = None) -> dict:
    """The context columns of one side's rows (`Results.table` fills the fine side's where a
    row has none): its preset, sizes, training data and budget."""
    ctx = report.context(s)
    return {k: ctx[k] for k in ("image_size", "preset", "data_source", "train_data", "epochs",
                                "steps")} | {"volume_resolution": resolution
                                             or ctx["volume_resolution"]}


def verdicts(sc: TestSetScores, fine: str, coarse: str, pooled: str, colors: bool) -> list:
    """The claims on one test set: the fine network beats the coarse one (IoU at the coarse
    resolution; PSNR each at its own), each beats its own resolution's baselines."""
    iou = ("iou", {"threshold": IOU_THRESHOLD})
    psnr = ("psnr_rgb", {"coloring": "blend", "t": PSNR_T})
    out = sc.compare(pooled, coarse, "iou", f"{fine} beats {coarse}: IoU@{IOU_THRESHOLD:g} at "
                                            f"{coarse.split(' ')[0]}", threshold=IOU_THRESHOLD)
    if colors:
        out += sc.compare(fine, coarse, "psnr_rgb", f"{fine} beats {coarse}: surface PSNR "
                          f"(t = {PSNR_T:g}), each at its own resolution", coloring="blend",
                          t=PSNR_T)
    for label in (fine, coarse):
        out += sc.beats_baselines(label, [iou, psnr] if colors else [iou])
    return out


def tables(df, fine: str, coarse: str, pooled: str, coarse_setup) -> list:
    """One test set's table: a row per network (and the baselines of its resolution)."""
    import math

    rows = df[df.category != "mean"] if (df.category != "mean").any() else df
    out = []
    for cat in dict.fromkeys(rows.category):
        sub = rows[rows.category == cat]

        def value(method, metric, resolution_of=None, **where):
            r = sub[(sub.method == method) & (sub.metric == metric)]
            if resolution_of is not None:
                r = r[r.resolution_of == resolution_of]
            for k, v in where.items():
                r = r[r[k] == v]
            return float(r.value.iloc[0]) if len(r) else math.nan

        def cell(v, fmt):
            return fmt.format(v) if math.isfinite(v) else "-"

        out += [f"### {cat}", "",
                f"| network | models | IoU@{IOU_THRESHOLD:g} (own resolution) | "
                f"IoU@{IOU_THRESHOLD:g} at {coarse_setup.preset.model.volume_size}^3 | "
                f"{MEAN_SHAPE} (own) | surface PSNR t = 1 | t = 0.2 (released) | "
                f"{MEAN_COLOR} |", "|---|---|---|---|---|---|---|---|"]
        for label, at_coarse in ((fine, pooled), (coarse, coarse)):
            n = sub[(sub.method == label) & (sub.metric == "iou")].n_models
            out.append("| " + " | ".join([
                label, str(int(n.iloc[0])) if len(n) else "-",
                cell(value(label, "iou", threshold=IOU_THRESHOLD), "{:.3f}"),
                cell(value(at_coarse, "iou", threshold=IOU_THRESHOLD), "{:.3f}"),
                cell(value(MEAN_SHAPE, "iou", resolution_of=label), "{:.3f}"),
                cell(value(label, "psnr_rgb", coloring="blend", t=1.0), "{:.2f}"),
                cell(value(label, "psnr_rgb", coloring="blend", t=0.2), "{:.2f}"),
                cell(value(MEAN_COLOR, "psnr_rgb", resolution_of=label), "{:.2f}")]) + " |")
        out.append("")
    return out


def notes(fine, coarse) -> str:
    fr, cr = fine.preset.model.volume_size, coarse.preset.model.volume_size
    return (f"Each network on its own dataset (the same objects and test splits, built at its "
            f"preset: `{fine.root}` and `{coarse.root}`), at its own resolution; the "
            f"{fr}^3 network again at {cr}^3, its occupancy max-pooled by {fr // cr} against "
            f"the {fr}^3 ground truth pooled the same way (a coarse voxel is a surface voxel "
            f"iff one of its fine voxels is). Surface PSNR: the color network's blend on the "
            f"shape network's voxels (probability >= {IOU_THRESHOLD:g}) at each network's own "
            f"resolution. {MEAN_SHAPE} / {MEAN_COLOR}: the trivial baselines of each "
            f"resolution, fitted on its training split. Budgets: {report.schedule_text(fine.preset)} "
            f"of batch {fine.preset.train.batch_size} ({fr}^3), "
            f"{report.schedule_text(coarse.preset)} of batch "
            f"{coarse.preset.train.batch_size} ({cr}^3).")
