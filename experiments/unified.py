"""One encoder-decoder for shape and color against the paper's two separate networks."""
from __future__ import annotations

from im2avatar_tf.registry import register

from . import _common as common


@register("unified")
class Unified:
    """One unified encoder-decoder against the paper's two separate networks.

    Two networks (MSFCEL shape + color) vs one network with the shape output and the color
    heads: IoU at 0.8 and surface PSNR (blend, t = 0.2) per category. Trains what is missing."""

    add_arguments = staticmethod(common.add_arguments)

    @staticmethod
    def run(args) -> int:
        import pandas as pd

        from im2avatar_tf.evaluation import network_predictor, unified_predictor

        s = common.setup("unified", args)
        res = common.Results(s)
        per_model, params = {}, {}
        for cat in s.categories:
            shape = common.train_or_reuse(s, "shape", cat)
            color = common.train_or_reuse(s, "color", cat)
            unified = common.train_or_reuse(s, "unified", cat)
            params["two networks"] = shape.count_params() + color.count_params()
            params["unified"] = unified.count_params()
            for label, predictor in (("two networks", network_predictor(shape, color)),
                                     ("unified", unified_predictor(unified))):
                result = common.evaluate(s, cat, predictor, iou_thresholds=(0.8,))
                res.add(label, result)
                for metric, sel in (("iou", {}), ("psnr_rgb", {"coloring": "blend"}),
                                    ("psnr_ycbcr", {"coloring": "blend"})):
                    per_model[label, metric, cat] = common.model_means(result.records,
                                                                       metric=metric, **sel)
        for metric in ("iou", "psnr_rgb", "psnr_ycbcr"):
            for cat in s.categories:
                res.claims.append({**common.paired_claim(
                    per_model["two networks", metric, cat], per_model["unified", metric, cat],
                    f"two networks beat one ({metric})"), "category": cat})
            if len(s.categories) > 1:
                pooled = [pd.concat([per_model[m, metric, c] for c in s.categories])
                          for m in ("two networks", "unified")]
                res.claims.append({**common.paired_claim(
                    *pooled, f"two networks beat one ({metric})"), "category": "all"})
        df = res.table()
        keep = ((df.metric == "iou") | (df.coloring == "blend"))
        head = df[keep].copy()
        head["metric"] = head["metric"].map({"iou": "IoU@0.8", "psnr_rgb": "PSNR RGB (dB)",
                                             "psnr_ycbcr": "PSNR YCbCr (dB)"})
        sections = []
        for metric in ("IoU@0.8", "PSNR RGB (dB)", "PSNR YCbCr (dB)"):
            fmt = "{:.3f}" if metric.startswith("IoU") else "{:.2f}"
            sections += [f"## {metric}", "", common.pivot_markdown(
                head[head.metric == metric], "method", "category", fmt=fmt), ""]
        sections += ["Trainable + BN parameters: " + ", ".join(
            f"{k} {v:,}" for k, v in params.items()) + ". PSNR uses the released recipe "
            "(t = 0.2) on the voxels each design's own shape output predicts (>= 0.8)."]
        paths = res.write(sections, plot=lambda p: common.bar_plot(
            head[head.metric == "IoU@0.8"], p, "method", "category", "mean IoU at 0.8",
            f"Two networks vs one ({s.preset.name} preset)"))
        print(open(paths["markdown"]).read())
        return 0
