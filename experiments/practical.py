"""The practitioners' conditions, measured on a test split with a trained model: photos with a
background (with and without `--remove-background`), several views fused (`--fuse`), and
whether every STL written is watertight, beside the clean renders and the trivial baselines."""
from __future__ import annotations

from im2avatar_tf.registry import register

from . import _common as common
from . import _report as report
from ._scores import per_test_set
from ._common import IN_DISTRIBUTION

CLEAN = "clean render"
PHOTO = "on a photo, as it is"
REMOVED = "on a photo, --remove-background"
METRICS = ("iou", "psnr_rgb")


def fused(k: int) -> str:
    return f"{k} views fused"


@register("practical")
class Practical:
    """Photos with a background, several views, STL, for a zoo model (or --model).

    Per category: the test views as rendered (clean); each view composited onto a crop of a
    scikit-image sample photograph, reconstructed as it is and with the background removed
    (GrabCut, framed as in training); 1, 2, 4 and 12 views of each object fused; the STL of
    every clean test view reloaded by trimesh. Colors as a user's file gets them (the model's
    own blend t, sampled from the image the network saw: "direct"); IoU at 0.8 and surface PSNR
    RGB. Paired claims per test model; the mean training shape and color beside them. Trains
    nothing."""

    @staticmethod
    def add_arguments(parser) -> None:
        common.add_arguments(parser, seed=False)
        common.add_real_test_argument(parser)
        parser.add_argument("--model", default=None,
                            help="a model (zoo name or folder) for every category; default: "
                                 "the zoo model named after each category")
        parser.add_argument("--fuse-views", type=int, nargs="+", default=[2, 4, 12],
                            metavar="K", help="numbers of views to fuse (default 2 4 12)")

    @staticmethod
    def run(args) -> int:
        from im2avatar_tf import practical
        from im2avatar_tf.evaluation import MEAN_COLOR, MEAN_SHAPE
        from im2avatar_tf.inference import Reconstructor

        s = common.setup("practical", args)
        res = report.Results(s)
        scores = per_test_set(s)  # test set -> each condition's records, the baselines
        watertight = {}  # (test set, category) -> (watertight, written)
        for cat in s.categories:
            model = Reconstructor.load(args.model or cat)
            if model.volume_size != s.preset.model.volume_size:
                raise ValueError(f"model {args.model or cat} predicts {model.volume_size}^3 but "
                                 f"--preset {s.preset.name} scores at "
                                 f"{s.preset.model.volume_size}^3: give the matching --preset")
            conditions = {CLEAN: practical.clean_predictor(model),
                          PHOTO: practical.photo_predictor(model, remove=False),
                          REMOVED: practical.photo_predictor(model, remove=True),
                          **{fused(k): practical.fused_predictor(model, k)
                             for k in args.fuse_views}}
            fitted = common.fit_baselines(s, cat)  # once, on what the networks train on
            for dataset, root in s.test_sets_of(cat):
                for label, predictor in conditions.items():
                    result = common.evaluate(s, cat, predictor, root=root,
                                             iou_thresholds=(0.8,))
                    res.add(label, result, dataset=dataset)
                    scores[dataset].add(label, cat, result.records)
                base = common.baselines(s, cat, shape=conditions[CLEAN], fitted=fitted,
                                        root=root)
                res.add_baselines(base, color_label=f"{MEAN_COLOR} (on the clean voxels)",
                                  dataset=dataset)
                scores[dataset].add_baselines(cat, base)
                watertight[dataset, cat] = watertight_count(s, cat, model, root)

        for dataset, sc in scores.items():
            for metric in METRICS if sc.records else ():
                claimed = [
                    sc.compare(REMOVED, PHOTO, metric,
                               f"removal beats no removal on photos ({metric})"),
                    sc.compare(REMOVED, CLEAN, metric,
                               f"removal on photos vs the clean render ({metric})"),
                    *[sc.compare(fused(k), CLEAN, metric, f"{k} fused views beat 1 view ({metric})")
                      for k in args.fuse_views],
                    *[sc.beats_baselines(label, [(metric, {})]) for label in (CLEAN, REMOVED)]]
                for rows in claimed:
                    res.add_claims(rows, dataset)
        df = res.table()
        head = df[((df.metric == "iou") & ((df.threshold == 0.8) | (df.method == MEAN_SHAPE)))
                  | ((df.metric == "psnr_rgb") & ((df.coloring == "direct")
                                                  | df.method.str.startswith(MEAN_COLOR)))]

        def tables(rows):
            dataset = rows.dataset.iloc[0] if len(rows) else IN_DISTRIBUTION
            return [
                "### IoU at 0.8", "",
                report.pivot_markdown(rows[rows.metric == "iou"], "method", "category"), "",
                "### Surface PSNR, RGB (dB)", "",
                report.pivot_markdown(rows[rows.metric == "psnr_rgb"], "method", "category",
                                      fmt="{:.2f}"), "",
                "### STL files: watertight when reloaded by trimesh (one per clean test view)",
                "", "| category | watertight | written |", "|---|---|---|",
                *[f"| {c} | {good} | {n} |" for (d, c), (good, n) in watertight.items()
                  if d == dataset]]

        notes = [
            "", "Colors are what a user's file holds (the model's own blend t, sampled from the "
            "image the network saw). Photos: each test view composited onto a crop of a "
            "scikit-image sample photograph (fixed per model and view; "
            "`im2avatar_tf/practical.py`)."]
        paths = res.write(report.sections_per_test_set(s, head, tables, notes), table=df)
        print(open(paths["markdown"]).read())
        return 0


def watertight_count(s, category: str, model, root) -> tuple:
    """(watertight, written) over the STL of every test view of `category` in the dataset at
    `root` (--max-test-models)."""
    from im2avatar_tf.evaluation import iter_test_models
    from im2avatar_tf.practical import watertight_share

    good = written = 0
    for tm in iter_test_models(root, "test", [category], s.preset.model.image_size,
                               s.preset.model.volume_size, s.max_test_models, s.skip_bad):
        g, n = watertight_share(model, tm.inputs)
        good, written = good + g, written + n
    return good, written
