"""The claims study end to end at the tiny preset, 1 epoch, two seeds, on a toy dataset with a
validation split: every arm trains per seed, thresholds are chosen on validation (never on the
test split), the baselines sit beside every arm and the verdicts come from the seeds."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from im2avatar_tf import claims, registry
from im2avatar_tf.cli import build_parser
from im2avatar_tf.evaluation import MEAN_COLOR, MEAN_SHAPE
from experiments import claims as study
from tests._toy_data import write_toy_dataset


def test_claims_study_end_to_end(tmp_path, monkeypatch):
    write_toy_dataset(tmp_path / "toy", categories=("car",),
                      split_sizes={"train": 16, "val": 2, "test": 2}, resolution=32)
    monkeypatch.chdir(tmp_path)
    seen = []  # (split, thresholds) of every evaluation
    real_evaluate = study.common.evaluate

    def spy(s, category, predictor, split="test", **kwargs):
        seen.append((split, tuple(kwargs.get("iou_thresholds", ()))))
        return real_evaluate(s, category, predictor, split=split, **kwargs)

    monkeypatch.setattr(study.common, "evaluate", spy)
    args = build_parser().parse_args(["claims", "--preset", "tiny", "--data", "toy",
                                      "--categories", "car", "--epochs", "1", "--seeds", "4", "5",
                                      "--quiet"])
    assert registry.find("claims").run(args) == 0
    out = tmp_path / "results" / "claims" / "tiny-1epochs"
    df = pd.read_csv(out / "results.csv")
    # 4 shape arms x 2 seeds, each a separate network in its own run dir, plus a color network
    # per seed
    assert len(list((tmp_path / "runs").glob("tiny/*/car/shape-*/shape.keras"))) == 8
    assert len(list((tmp_path / "runs").glob("tiny/*/car/color-*/color.keras"))) == 2
    iou = df[df.metric == "iou"]
    arms = {study.arm_label(*a) for a in study.SHAPE_ARMS}
    assert set(iou.method) == arms | {MEAN_SHAPE}
    for arm in arms:
        sel = iou[iou.method == arm]
        assert sorted(sel.seed) == [4, 4, 5, 5]
        assert set(sel.threshold_mode) == {study.FIXED, study.CHOSEN}
        assert (sel[sel.threshold_mode == study.FIXED].threshold == 0.8).all()
        assert sel.threshold.isin(study.VAL_THRESHOLDS).all()
    # the chosen threshold comes from the validation split: the grid is only ever scored there
    assert ("val", study.VAL_THRESHOLDS) in seen
    assert all(split == "val" for split, thr in seen if len(thr) > 2)
    # the output-BN-off networks have no BatchNorm on their logits; the released ones do
    configs = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("tiny/*/car/shape-*/config.json")]
    assert sorted(c["model"]["decoder"]["output_batchnorm"] for c in configs) == [False] * 4 + [True] * 4
    psnr = df[df.metric == "psnr_rgb"]
    assert set(psnr.method) == set(study.COLORINGS) | {MEAN_COLOR}
    # one row per coloring and seed (NaN where a 1-epoch shape network predicts no voxel)
    assert sorted(psnr.seed) == [4] * 5 + [5] * 5
    verdicts = json.loads((out / "claims.json").read_text())
    # (the color verdicts have no seed where a 1-epoch shape network predicts no voxel)
    assert {v["n_seeds"] for v in verdicts if "IoU" in v["claim"]} == {2}
    assert {v["verdict"] for v in verdicts} <= {"supported", "contradicted", "not resolved"}
    msfcel = [v for v in verdicts if v["claim"] == "MSFCEL beats cross-entropy (IoU)"]
    assert len(msfcel) == 4  # output BN on/off x threshold fixed/chosen
    md = (out / "README.md").read_text()
    assert f"| {MEAN_SHAPE} |" in md and f"| {MEAN_COLOR} |" in md and "## Verdicts" in md


def test_verdicts_over_seeds_use_the_spread_between_seeds():
    # differences 0.10, 0.12, 0.11: mean 0.11, SE 0.00577 -> supported, and by the 0.05 margin
    a, b = {1: 0.60, 2: 0.62, 3: 0.61}, {1: 0.5, 2: 0.5, 3: 0.5}
    row = claims.over_seeds(a, b, "A beats B")
    assert row["verdict"] == "supported" and row["n_seeds"] == 3
    assert np.isclose(row["mean_difference"], 0.11)
    assert np.isclose(row["sem"], np.std([0.10, 0.12, 0.11], ddof=1) / np.sqrt(3))
    assert claims.over_seeds(a, b, "", margin=0.05)["verdict"] == "supported"
    assert claims.over_seeds(a, b, "", margin=0.2)["verdict"] == "contradicted"
    # noisy seeds: not resolved; one seed: never a verdict
    assert claims.over_seeds({1: 0.9, 2: 0.3, 3: 0.6}, b, "")["verdict"] == "not resolved"
    assert claims.over_seeds({1: 0.9}, {1: 0.1}, "")["verdict"] == "not resolved"
