"""One encoder-decoder for shape and color against the paper's two separate networks, beside
the trivial baselines (mean training shape; mean training color on each design's voxels)."""
from __future__ import annotations

import dataclasses

from im2avatar_tf import methods
from im2avatar_tf.evaluation import MEAN_COLOR, MEAN_SHAPE
from im2avatar_tf.registry import register

from . import _common as common
from . import _report as report
from ._scores import per_test_set

DESIGNS = ("two networks", "unified")
VOXELS_OF = {"two networks": "the shape network's voxels", "unified": "the unified network's voxels"}
# metric -> the records selection its claim compares (PSNR: the released blend, t = 0.2)
METRICS = {"iou": {}, "psnr_rgb": {"coloring": "blend"}, "psnr_ycbcr": {"coloring": "blend"}}


@register("unified")
class Unified(report.TableExperiment):
    """One unified encoder-decoder against the paper's two separate networks.

    Two networks (MSFCEL shape + color) vs one network with the shape output and the color
    heads: IoU at 0.8 and surface PSNR (blend, t = 0.2) per category, beside the mean training
    shape and the mean training color painted on each design's voxels (fitted on the training
    split), and whether each design beats them. Trains what is missing."""

    NAME = "unified"

    @staticmethod
    def compare(s, res) -> dict:
        # test set -> each design's records, and its baselines: the mean shape (scored once,
        # with the first design) and the mean color on the design's own voxels
        scores = per_test_set(s)
        params = {}
        for cat in s.categories:
            shape = common.train_or_reuse(s, "shape", cat)
            color = common.train_or_reuse(s, "color", cat)
            unified = common.train_or_reuse(s, "unified", cat)
            params["two networks"] = shape.count_params() + color.count_params()
            params["unified"] = unified.count_params()
            fitted = common.fit_baselines(s, cat)
            for label, predictor in (("two networks", methods.get("shape").predictor(shape, color)),
                                     ("unified", methods.get("unified").predictor(unified))):
                results = common.evaluate_test_sets(s, cat, predictor, iou_thresholds=(0.8,))
                # The mean color on this design's own voxels; the mean shape once.
                scored = common.baselines_test_sets(s, cat, shape=predictor, fitted=fitted,
                                                    iou=label == DESIGNS[0])
                for dataset, result in results.items():
                    base = scored[dataset]
                    res.add(label, result, dataset=dataset)
                    res.add_baselines(base, color_label=f"{MEAN_COLOR} on {VOXELS_OF[label]}",
                                      dataset=dataset)
                    sc = scores[dataset]
                    sc.add(label, cat, result.records)
                    mean_shape = sc.baselines.get(DESIGNS[0], {}).get(cat, base).shape
                    sc.add_baselines(cat, dataclasses.replace(base, shape=mean_shape), label)
        for dataset, sc in scores.items():
            res.add_claims(verdicts(sc), dataset)
        df = res.table()
        keep = ((df.metric == "iou") | (df.coloring == "blend") | (df.coloring == "direct"))
        head = df[keep].copy()
        head["metric"] = head["metric"].map({"iou": "IoU@0.8", "psnr_rgb": "PSNR RGB (dB)",
                                             "psnr_ycbcr": "PSNR YCbCr (dB)"})
        notes = ["Trainable + BN parameters: " + ", ".join(
            f"{k} {v:,}" for k, v in params.items()) + ". PSNR uses the released recipe "
            "(t = 0.2) on the voxels each design's own shape output predicts (>= 0.8). "
            f"Baselines, fitted on the training split only: {MEAN_SHAPE} at its best "
            "training threshold; the mean training color painted on each design's voxels."]
        head["column"] = [report.column_label(d, c) for d, c in zip(head.dataset, head.category)]
        return res.write(report.sections_per_test_set(s, head, tables, notes),
                         plot=lambda p: report.bar_plot(
                             head[head.metric == "IoU@0.8"], p, "method", "column",
                             "mean IoU at 0.8", f"Two networks vs one ({s.preset.name} preset)"))


def verdicts(scores) -> list:
    """The claims on one test set (`_scores.TestSetScores`, one label per design, each with
    its own baselines)."""
    out = []
    for metric, sel in METRICS.items():
        out += scores.compare("two networks", "unified", metric,
                              f"two networks beat one ({metric})", **sel)
    for d in DESIGNS:
        for metric, sel in METRICS.items():
            out += scores.beats_baselines(d, [(metric, sel)], "t = 0.2" if sel else "")
    return out


def tables(head) -> list:
    """The README's tables of one test set's rows (`head`: IoU@0.8 and PSNR at t = 0.2)."""
    sections = []
    for metric in ("IoU@0.8", "PSNR RGB (dB)", "PSNR YCbCr (dB)"):
        fmt = "{:.3f}" if metric.startswith("IoU") else "{:.2f}"
        sections += [f"## {metric}", "", report.pivot_markdown(
            head[head.metric == metric], "method", "category", fmt=fmt), ""]
    return sections
