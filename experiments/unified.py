"""One encoder-decoder for shape and color against the paper's two separate networks."""
from __future__ import annotations

from im2avatar_tf import claims, methods
from im2avatar_tf.registry import register

from . import _common as common

DESIGNS = ("two networks", "unified")
# metric -> the records selection its claim compares (PSNR: the released blend, t = 0.2)
METRICS = {"iou": {}, "psnr_rgb": {"coloring": "blend"}, "psnr_ycbcr": {"coloring": "blend"}}


@register("unified")
class Unified:
    """One unified encoder-decoder against the paper's two separate networks.

    Two networks (MSFCEL shape + color) vs one network with the shape output and the color
    heads: IoU at 0.8 and surface PSNR (blend, t = 0.2) per category. Trains what is missing."""

    add_arguments = staticmethod(common.add_arguments)

    @staticmethod
    def run(args) -> int:
        s = common.setup("unified", args)
        res = common.Results(s)
        per_model = {(d, metric): {} for d in DESIGNS for metric in METRICS}
        params = {}
        for cat in s.categories:
            shape = common.train_or_reuse(s, "shape", cat)
            color = common.train_or_reuse(s, "color", cat)
            unified = common.train_or_reuse(s, "unified", cat)
            params["two networks"] = shape.count_params() + color.count_params()
            params["unified"] = unified.count_params()
            for label, predictor in (("two networks", methods.get("shape").predictor(shape, color)),
                                     ("unified", methods.get("unified").predictor(unified))):
                result = common.evaluate(s, cat, predictor, iou_thresholds=(0.8,))
                res.add(label, result)
                for metric, sel in METRICS.items():
                    per_model[label, metric][cat] = claims.model_means(result.records,
                                                                       metric=metric, **sel)
        for metric in METRICS:
            res.claims += claims.compare(per_model["two networks", metric],
                                         per_model["unified", metric],
                                         f"two networks beat one ({metric})")
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
