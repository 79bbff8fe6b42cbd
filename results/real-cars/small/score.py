"""Run from the checkout: PYTHONPATH=. python results/real-cars/small/score.py (after the
claims command of README.md here has trained seed 1). Issue 34: the zoo's small car (classic family) and the new wide-family car networks (seed 1)
on the same test sets, beside the same baselines (fitted on the wide family + Sweet Home 3D +
TORCS training splits, as the claims run fits them); paired per test car."""
from pathlib import Path

import pandas as pd

from im2avatar_tf import claims, methods, scoring
from im2avatar_tf.inference import Im2Avatar
from im2avatar_tf.models import load_network

RUN = Path("runs/small/procedural-small-wide+sweethome3d-small+torcs-small-split-14dce1/car")
zoo = Im2Avatar.from_pretrained("car")
models = {
    "zoo car (classic family, published)": (zoo.shape, zoo.color),
    "wide family + TORCS training cars, seed 1": (load_network(RUN / "shape-msfcel-987d0c/shape.keras"),
                                                  load_network(RUN / "color-987d0c/color.keras")),
}
fit = tuple(Path(p) for p in ("data/procedural-small-wide", "data/sweethome3d-small",
                               "data/torcs-small-split"))
rows, per_model = [], {}
for root in ("data/procedural-small-wide", "data/sweethome3d-small", "data/torcs-small-split"):
    for label, (shape, color) in models.items():
        predictor = methods.get("shape").predictor(shape, color)
        scored = scoring.beside_baselines(
            predictor, Path(root), "test", ["car"], image_size=64, resolution=32, shape=predictor,
            fit_root=fit, selections=[scoring.Selection("IoU@0.8", "iou", (("threshold", 0.8),)),
                                      scoring.Selection("blend t = 1", "psnr_rgb",
                                                        (("coloring", "blend"), ("t", 1.0)))],
            iou_thresholds=(0.8,), blend_ts=(1.0,), progress=False)
        for _, v in scored.verdicts.iterrows():
            rows.append({"test set": root, "network": label, "score": v["model"],
                         **v[["selection", "baseline", "mean_difference", "sem", "n_models",
                              "verdict"]].to_dict()})
        r = scored.result.records
        per_model[(root, label, "iou")] = claims.model_means(r[r.threshold == 0.8], metric="iou")
        c = r[(r.metric == "psnr_rgb") & (r.coloring == "blend") & (r.t == 1.0)]
        per_model[(root, label, "psnr_rgb")] = claims.model_means(c, metric="psnr_rgb")
df = pd.DataFrame(rows)
print(df.to_string(index=False))
print("\nnew minus zoo, paired per test car:")
labels = list(models)
for root in ("data/procedural-small-wide", "data/sweethome3d-small", "data/torcs-small-split"):
    for metric in ("iou", "psnr_rgb"):
        a, b = per_model[(root, labels[1], metric)], per_model[(root, labels[0], metric)]
        for row in claims.compare({"car": a}, {"car": b}, f"new beats zoo ({metric}, {root})"):
            print(f"  {row['claim']}: {row['mean_difference']:+.3f} ± {row['sem']:.3f} "
                  f"(n={row['n_models']}): {row['verdict']}")
df.to_csv("results/real-cars/small/results.csv", index=False, float_format="%.6g")
