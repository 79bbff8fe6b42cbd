"""IoU of the MSFCEL shape network against how many colors each test model has, beside the
mean training shape (the trivial baseline)."""
from __future__ import annotations

from im2avatar_tf.io import save_figure
from im2avatar_tf.registry import register

from . import _common as common
from . import _report as report

MAX_K = 8


@register("color-complexity")
class ColorComplexity:
    """IoU against the number of k-means color clusters of each test model.

    Mean IoU at 0.8 of the MSFCEL shape network grouped by the cluster count of each model's
    ground-truth surface colors (smallest k leaving a mean distance <= 0.05 to the centers;
    k <= 8): do many-colored models reconstruct worse? The mean training shape (fitted on the
    training split) is grouped the same way beside it."""

    add_arguments = staticmethod(common.add_arguments)

    @staticmethod
    def run(args) -> int:
        import pandas as pd

        from im2avatar_tf import methods
        from im2avatar_tf.claims import model_means
        from im2avatar_tf.data.pipeline import list_models
        from im2avatar_tf.data.samples import load_color
        from im2avatar_tf.evaluation import IOU_THRESHOLD, MEAN_SHAPE
        from im2avatar_tf.metrics import color_cluster_count
        from im2avatar_tf.voxels import occupancy_from_color

        s = common.setup("color-complexity", args)
        rows, records, bases, fitted = [], [], {}, {}
        for cat in s.categories:
            shape = common.train_or_reuse(s, "shape", cat)
            result = common.evaluate(s, cat, methods.get("shape").predictor(shape),
                                     iou_thresholds=(IOU_THRESHOLD,))
            iou = model_means(result.records, metric="iou", threshold=IOU_THRESHOLD)
            scores = common.baselines(s, cat)
            records.append(result.records)
            bases[cat] = scores
            base = scores.model_means("iou")
            fitted[cat] = scores.baselines.shape_threshold
            entries, _ = list_models(s.root, "test", [cat], s.preset.model.volume_size,
                                     skip_bad=True)
            for e in entries:
                if e.key in iou.index:
                    color = load_color(e.paths, s.preset.model.volume_size)
                    k = color_cluster_count(color[occupancy_from_color(color)], MAX_K)
                    rows.append({"category": cat, "model_id": e.key, "clusters": k,
                                 "iou": iou[e.key], "baseline_iou": base.get(e.key)})
        models = pd.DataFrame(rows)
        res = report.Results(s)
        for method, column in (("CVN + MSFCEL", "iou"), (MEAN_SHAPE, "baseline_iou")):
            g = models.groupby(["category", "clusters"])[column]
            df = g.mean().rename("value").reset_index()
            df["n_models"] = g.count().values
            df["n_views"] = df["n_models"] * 12
            df["n_empty"] = 0
            df.insert(0, "method", method)
            df["metric"] = "iou"
            if method == MEAN_SHAPE:  # fitted per category (see Results.add_baselines)
                df["threshold"] = float("nan")
                df["fitted_threshold"] = df["category"].map(fitted)
            else:
                df["threshold"] = IOU_THRESHOLD
            res.add_frame(df)
        res.claims += common.beats_baselines(records, bases, "CVN + MSFCEL",
                                             [("iou", {"threshold": IOU_THRESHOLD})])
        table = res.table()
        corr = {c: (m["clusters"].corr(m["iou"], method="spearman")
                    if m["clusters"].nunique() > 1 and m["iou"].nunique() > 1 else float("nan"))
                for c, m in models.groupby("category")}
        sections = [
            "Mean IoU at 0.8 over test models x 12 views, grouped by the number of color "
            "clusters of each model (n models in brackets).", "",
            counts_markdown(table[table.method != MEAN_SHAPE]), "",
            f"{MEAN_SHAPE} (fitted on the training split, at its best training threshold), "
            "grouped the same way:", "",
            counts_markdown(table[table.method == MEAN_SHAPE]), "",
            "Spearman correlation between cluster count and per-model IoU: " + ", ".join(
                f"{c} {v:+.2f}" for c, v in corr.items()) +
            " (NaN where a category's cluster counts or IoUs are all equal).",
        ]
        paths = res.write(sections, plot=lambda p: scatter_plot(models, p, s), table=table)
        print(open(paths["markdown"]).read())
        return 0


def counts_markdown(df) -> str:
    cats = [c for c in dict.fromkeys(df["category"])]
    ks = sorted(df["clusters"].unique())
    out = ["| clusters | " + " | ".join(cats) + " |", "|---" * (len(cats) + 1) + "|"]
    for k in ks:
        cells = []
        for c in cats:
            sub = df[(df.category == c) & (df.clusters == k)]
            cells.append(f"{sub.value.iloc[0]:.3f} ({int(sub.n_models.iloc[0])})" if len(sub) else "-")
        out.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def scatter_plot(models, path, s) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    rng = np.random.default_rng(0)
    for cat, sub in models.groupby("category", sort=False):
        ax.scatter(sub["clusters"] + rng.uniform(-0.15, 0.15, len(sub)), sub["iou"], s=12,
                   alpha=0.6, label=cat)
    ax.set_xlabel("k-means color clusters of the model")
    ax.set_ylabel("mean IoU at 0.8 (per model)")
    ax.set_title(f"IoU vs color complexity ({s.preset.name} preset, {s.data_source} data)",
                 fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
