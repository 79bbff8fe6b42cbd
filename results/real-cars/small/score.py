"""Run from the checkout: PYTHONPATH=. python results/real-cars/small/score.py (after the claims
command of README.md here has trained seeds 1-3). Issue 34: the previous zoo car (classic
family, no TORCS; read from git at PREVIOUS) and the new wide-family car networks of each seed
on the same test sets, beside the same baselines (fitted on the wide family + Sweet Home 3D +
TORCS training splits, as the claims run fits them). Per seed: paired per test car; over
seeds: the per-seed test-set means against Student's t (claims.over_seeds)."""
import json
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

from im2avatar_tf import claims, methods, pretrained, scoring
from im2avatar_tf.config import Preset
from im2avatar_tf.forward import NETWORKS
from im2avatar_tf.models import load_network

OUT = Path("results/real-cars/small")
PREVIOUS = "a11d096"  # the last commit whose pretrained/car is the classic-family car
RUN = Path("runs/small/procedural-small-wide+sweethome3d-small+torcs-small-split-14dce1/car")
SEEDS = {1: "987d0c", 2: "451280", 3: "0d5374"}  # run-dir hash of each seed
TEST_SETS = ("data/procedural-small-wide", "data/sweethome3d-small", "data/torcs-small-split")
FIT = tuple(Path(p) for p in TEST_SETS)  # the training splits of the same three datasets
T = 1.0  # the training blend: what validation chose for both zoo cars
SELECTIONS = [scoring.Selection("IoU@0.8", "iou", (("threshold", 0.8),)),
              scoring.Selection(f"blend t = {T:g}", "psnr_rgb",
                                (("coloring", "blend"), ("t", T)))]


def previous_zoo_car():
    """The classic-family zoo car's float16 networks, as published before issue 34."""
    folder = Path(tempfile.mkdtemp())
    for name in ("config.json", "shape.weights.npz", "color.weights.npz"):
        blob = subprocess.run(["git", "show", f"{PREVIOUS}:pretrained/car/{name}"],
                              capture_output=True, check=True).stdout
        (folder / name).write_bytes(blob)
    preset = Preset.from_dict(json.loads((folder / "config.json").read_text()))
    return [pretrained.load_weights(pretrained.build_network(n, preset),
                                    folder / f"{n}.weights.npz") for n in NETWORKS]


PREV = "previous zoo car (classic family)"
networks = {PREV: previous_zoo_car()}
for seed, key in SEEDS.items():
    networks[f"wide family + TORCS, seed {seed}"] = [
        load_network(RUN / f"shape-msfcel-{key}/shape.keras"),
        load_network(RUN / f"color-{key}/color.keras")]

rows, per_model = [], {}
for root in TEST_SETS:
    for label, (shape, color) in networks.items():
        predictor = methods.get("shape").predictor(shape, color)
        scored = scoring.beside_baselines(
            predictor, Path(root), "test", ["car"], image_size=64, resolution=32,
            shape=predictor, fit_root=FIT, selections=SELECTIONS, iou_thresholds=(0.8,),
            blend_ts=(T,), progress=False)
        for _, v in scored.verdicts.iterrows():
            rows.append({"test set": root, "network": label, "score": v["model"],
                         **v[["selection", "baseline", "mean_difference", "sem", "n_models",
                              "verdict"]].to_dict()})
        r = scored.result.records
        for sel in SELECTIONS:
            per_model[root, label, sel.metric] = claims.model_means(r, metric=sel.metric,
                                                                    **dict(sel.where))
df = pd.DataFrame(rows)
print(df.to_string(index=False))
df.to_csv(OUT / "results.csv", index=False, float_format="%.6g")

# New minus previous: paired per test car for each seed, then over seeds (the per-seed means
# against the previous car's one mean, Student's t), and each against the targets.
lines, seeds = [], [k for k in networks if k != PREV]
for root in TEST_SETS:
    for sel in SELECTIONS:
        m = sel.metric
        for label in seeds:
            [row] = claims.compare({"car": per_model[root, label, m]},
                                   {"car": per_model[root, PREV, m]}, "")
            lines.append({"test set": root, "metric": m, "comparison": f"{label} - previous",
                          "mean_difference": row["mean_difference"], "sem": row["sem"],
                          "n": row["n_models"], "verdict": row["verdict"]})
        mine = {i: float(per_model[root, label, m].mean()) for i, label in enumerate(seeds)}
        prev = {i: float(per_model[root, PREV, m].mean()) for i in mine}
        v = claims.over_seeds(mine, prev, "")
        lines.append({"test set": root, "metric": m, "comparison": "over seeds - previous",
                      "mean_difference": v["mean_difference"], "sem": v["sem"],
                      "n": v["n_seeds"], "verdict": v["verdict"]})
        base = df[(df["test set"] == root) & (df.selection == sel.label)
                  & (df.network != PREV)]
        margin = 0.05 if m == "iou" else 1.0  # the targets over the baselines
        new = {i: float(s) for i, s in enumerate(base.score)}
        baseline = {i: float(b) for i, b in enumerate(base.baseline)}
        for name, mg in (("over seeds - baseline", 0.0), ("over seeds - baseline - target", margin)):
            v = claims.over_seeds(new, baseline, "", margin=mg)
            lines.append({"test set": root, "metric": m, "comparison": name,
                          "mean_difference": v["mean_difference"], "sem": v["sem"],
                          "n": v["n_seeds"], "verdict": v["verdict"]})
comparisons = pd.DataFrame(lines)
print()
print(comparisons.to_string(index=False))
comparisons.to_csv(OUT / "comparisons.csv", index=False, float_format="%.6g")
