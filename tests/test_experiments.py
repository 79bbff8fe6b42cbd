"""Every experiment end to end at the tiny preset, 1 epoch, one category of a toy dataset.
The experiments share one runs dir, as users' do: later ones reuse earlier networks. Each
reports the trivial baselines (fitted on the training split) as rows and verdicts."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from im2avatar_tf import registry
from im2avatar_tf.cli import build_parser, main
from im2avatar_tf.evaluation import GROUND_TRUTH_FLOW, MEAN_COLOR, MEAN_SHAPE
from experiments import _common as common
from experiments import claims as study
from experiments import resolution
from tests._toy_data import write_toy_dataset, write_toy_human

pytestmark = pytest.mark.slow  # end to end: deselected by -m "not slow"

CONTEXT = ["threshold", "volume_resolution", "image_size", "split", "data_source", "n_models",
           "n_views", "n_empty", "preset", "git_revision", "date", "command"]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    root = tmp_path_factory.mktemp("exp")
    # tiny preset: 64 px, 32^3, batch 16 -> 16 training models make one batch per epoch.
    write_toy_dataset(root / "toy", categories=("car",),
                      split_sizes={"train": 16, "val": 2, "test": 2}, resolution=32)
    return root


def run_experiment(work, monkeypatch, name, *extra, data="toy", categories=("car",),
                   out_suffix="", results="results"):
    monkeypatch.chdir(work)  # runs/, results/ and cache/ go here
    args = build_parser().parse_args([name, "--preset", "tiny", "--data", str(work / data),
                                      "--categories", *categories, "--epochs", "1", "--quiet",
                                      "--results-dir", results, *extra])
    assert registry.find(name).run(args) == 0
    out = work / results / name / ("tiny-1epochs" + out_suffix)  # --epochs: kept apart
    return pd.read_csv(out / "results.csv"), (out / "README.md").read_text(), out


def baseline_claims(out):
    """The "beats the trivial baseline" verdicts of claims.json."""
    return [c for c in json.loads((out / "claims.json").read_text()) if c.get("baseline")]


def train_occupancies(root, split="train", category="car", resolution=32):
    """The split's ground-truth occupancies and surface colors, read by hand."""
    from im2avatar_tf.data.layout import read_split
    from im2avatar_tf.data.samples import load_color

    occ, colors = [], []
    for m in read_split(root, split, category, resolution):
        c = load_color(m, resolution)
        occ.append(c[..., 0] > -0.5)
        colors.append(c[occ[-1]])
    return np.array(occ), np.concatenate(colors)


def shape_network_file(work):
    found = list((work / "runs").glob("tiny/*/car/shape-msfcel-*/shape.keras"))
    assert len(found) == 1
    return found[0]


def test_table1(work, monkeypatch):
    df, md, out = run_experiment(work, monkeypatch, "table1")
    assert set(CONTEXT) <= set(df.columns)
    iou = df[(df.metric == "iou") & (df.method != MEAN_SHAPE)]
    assert set(df.method) == {"adapted 3D-R2N2", "CVN + cross-entropy", "CVN + MSFCEL",
                              MEAN_SHAPE}
    assert set(iou.threshold) == {0.8, 0.3, 0.4, 0.5}
    base = df[df.method == MEAN_SHAPE]
    assert len(base) == 1 and (base.metric == "iou").all() and base.threshold.isna().all()
    assert (base.n_models == 2).all() and (base.n_views == 24).all()
    assert f"| {MEAN_SHAPE} |" in md
    assert (iou.volume_resolution == 32).all() and (iou.image_size == 64).all()
    assert (iou.n_models == 2).all() and (iou.n_views == 24).all()
    assert iou.value.between(0, 1).all()
    assert "*paper, ShapeNet: CVN + MSFCEL* | 0.395" in md
    assert (out / "plot.png").stat().st_size > 1000
    claims = json.loads((out / "claims.json").read_text())
    assert {c["claim"] for c in claims} == {
        "MSFCEL beats cross-entropy (IoU)", "CVN beats adapted 3D-R2N2 (IoU)",
        "adapted 3D-R2N2 beats the mean training shape (iou)",
        "CVN + cross-entropy beats the mean training shape (iou)",
        "CVN + MSFCEL beats the mean training shape (iou)"}
    assert all(c["n_models"] == 2 and c["category"] == "car" for c in baseline_claims(out))
    assert "CVN + MSFCEL beats the mean training shape (iou) | car |" in md


def test_table1_baseline_is_the_mean_of_the_training_shapes(work, monkeypatch):
    """The baseline row equals the mean shape computed by hand over the *training* models,
    read at its fitted threshold and scored on the test models."""
    from im2avatar_tf.evaluation import fit_baselines
    from im2avatar_tf.metrics import voxel_iou

    csv = work / "results" / "table1" / "tiny-1epochs" / "results.csv"  # test_table1's
    df = pd.read_csv(csv) if csv.exists() else run_experiment(work, monkeypatch, "table1")[0]
    train, _ = train_occupancies(work / "toy", "train")
    test, _ = train_occupancies(work / "toy", "test")
    fitted = fit_baselines(work / "toy", ["car"], 32)
    np.testing.assert_allclose(fitted.mean_shape, train.mean(0), atol=1e-6)
    assert len(fitted.fitted_on) == 16 and all("_train_" in k for k in fitted.fitted_on)
    row = df[df.method == MEAN_SHAPE].iloc[0]
    assert row.fitted_threshold == pytest.approx(fitted.shape_threshold, abs=1e-5)
    by_hand = np.mean([voxel_iou(train.mean(0) > fitted.shape_threshold, o) for o in test])
    assert row.value == pytest.approx(by_hand, abs=1e-6)


def test_table1_numbers_equal_a_direct_evaluation_of_the_saved_network(work, monkeypatch):
    from im2avatar_tf import evaluation
    from im2avatar_tf.models import load_network

    df, _, _ = run_experiment(work, monkeypatch, "table1")  # everything reused now
    net = load_network(shape_network_file(work))
    res = evaluation.evaluate(evaluation.network_predictor(net), work / "toy", "test", ["car"],
                              image_size=64, resolution=32, progress=False)
    direct = res.records[(res.records.metric == "iou") & (res.records.threshold == 0.8)]
    ours = df[(df.method == "CVN + MSFCEL") & (df.metric == "iou") & (df.threshold == 0.8)]
    assert ours.value.iloc[0] == pytest.approx(direct.value.mean(), abs=1e-6)


def test_table2_reuses_the_msfcel_shape_network(work, monkeypatch):
    before = shape_network_file(work).stat().st_mtime_ns if list(
        (work / "runs").glob("tiny/*/car/shape-msfcel-*/shape.keras")) else None
    df, md, out = run_experiment(work, monkeypatch, "table2")
    if before is not None:
        assert shape_network_file(work).stat().st_mtime_ns == before
    assert {"adapted 3D-R2N2", "regression only (w = 1)", "flow only (w = 0)",
            "blended, t = 0.2 (released)", "blended, t = 1 (training blend)"} <= set(df.method)
    assert set(df.metric) == {"psnr_rgb", "psnr_ycbcr"}
    # Every (method, view) pair is either scored or counted as empty.
    assert ((df.n_views + df.n_empty) == 24).all()
    assert "## Surface PSNR, YCbCr (dB)" in md and "color space not stated" in md
    base = df[df.method == MEAN_COLOR]
    assert set(base.metric) == {"psnr_rgb", "psnr_ycbcr"} and (base.coloring == "direct").all()
    assert md.count(f"| {MEAN_COLOR} |") == 2  # RGB and YCbCr tables
    verdicts = baseline_claims(out)
    assert {c["claim"] for c in verdicts} == {
        f"{c} beats the mean training color ({m})" for m in ("psnr_rgb", "psnr_ycbcr")
        for c in ("regression only (w = 1)", "flow only (w = 0)", "blended, t = 0.2 (released)",
                  "blended, t = 1 (training blend)")}


def test_evaluate_command_reports_the_baselines(work, monkeypatch, capsys):
    """`evaluate` on the experiments' networks: the model's rows, the baselines' rows (fitted
    on the training split) and the verdicts."""
    monkeypatch.chdir(work)
    shape_dir = shape_network_file(work).parent
    color_dir = next((work / "runs").glob("tiny/*/car/color-*"))
    assert main(["evaluate", "--model", str(shape_dir), "--color-model", str(color_dir),
                 "--data", str(work / "toy"), "--categories", "car", "--thresholds", "0.8",
                 "--out", str(work / "eval.csv")]) == 0
    rows = pd.read_csv(work / "eval.csv")
    assert set(rows.method) == {"model", MEAN_SHAPE, MEAN_COLOR}
    assert (rows[rows.method == MEAN_COLOR].coloring == "direct").all()
    out = capsys.readouterr().out
    assert "against the trivial baselines" in out
    assert "the model beats the mean training color (psnr_rgb, blend t = 0.2)" in out
    assert f"{MEAN_SHAPE}: IoU" in out


def test_views(work, monkeypatch):
    df, md, out = run_experiment(work, monkeypatch, "views")
    for method in ("CVN + MSFCEL", MEAN_SHAPE):
        sub = df[df.method == method]
        assert len(sub) == 12 and sorted(sub.azimuth_deg) == list(range(0, 360, 30))
    assert len(df) == 24
    assert (df.n_views == 2).all()  # one view of each of the 2 test models per row
    assert (out / "plot.png").exists()
    assert f"| {MEAN_SHAPE} |" in md
    assert [c["claim"] for c in baseline_claims(out)] == [
        "CVN + MSFCEL beats the mean training shape (iou)"]


def test_color_complexity(work, monkeypatch):
    df, md, out = run_experiment(work, monkeypatch, "color-complexity")
    assert df.clusters.between(1, 8).all()
    assert set(df.method) == {"CVN + MSFCEL", MEAN_SHAPE}
    assert (df.groupby("method").n_models.sum() == 2).all()
    assert "Spearman" in md and MEAN_SHAPE in md
    assert len(baseline_claims(out)) == 1


def test_unified(work, monkeypatch):
    df, md, out = run_experiment(work, monkeypatch, "unified")
    assert set(df.method) == {"two networks", "unified", MEAN_SHAPE,
                              f"{MEAN_COLOR} on the shape network's voxels",
                              f"{MEAN_COLOR} on the unified network's voxels"}
    assert np.isfinite(df[df.metric == "iou"].value).all()
    assert "two networks beat one (iou)" in md
    assert f"| {MEAN_SHAPE} |" in md
    assert {(c["claim"].split(" beats ")[0], c["baseline"]) for c in baseline_claims(out)} == {
        (d, b) for d in ("two networks", "unified")
        for b in ("mean training shape", "mean training color")}


@pytest.fixture(scope="module")
def real_toy(work):
    """A "real" held-out set: other models (another seed), 2 test models, and a training split
    of its own that nothing may fit on."""
    return write_toy_dataset(work / "real", categories=("car",),
                             split_sizes={"train": 3, "test": 2}, resolution=32, seed=7)


@pytest.mark.parametrize("name, baseline", [("table1", MEAN_SHAPE), ("table2", MEAN_COLOR),
                                            ("unified", MEAN_SHAPE)])
def test_real_held_out_test_set(work, real_toy, monkeypatch, name, baseline):
    """--real-test: the networks the tests above trained (reused) and the baselines (fitted on
    --data's training split) scored on both test sets; the in-distribution rows as without it."""
    from im2avatar_tf.evaluation import fit_baselines

    df, md, out = run_experiment(work, monkeypatch, name, "--real-test", str(real_toy),
                                 results="results-real")
    real = "real (real)"
    assert list(dict.fromkeys(df.dataset)) == ["in distribution", real]
    ours, theirs = (df[df.dataset == d] for d in ("in distribution", real))
    assert set(ours.method) == set(theirs.method) and baseline in set(theirs.method)
    assert (theirs.n_models == 2).all() and (theirs.category == "car").all()
    before = work / "results" / name / "tiny-1epochs" / "results.csv"  # the tests above
    if before.exists():
        cols = ["method", "category", "metric", "threshold", "coloring", "t", "value", "n_views"]
        pd.testing.assert_frame_equal(ours[cols].reset_index(drop=True),
                                      pd.read_csv(before)[cols])
    if baseline == MEAN_SHAPE:  # one fit, on --data's training split, scored on both sets
        fitted = fit_baselines(work / "toy", ["car"], 32).shape_threshold
        thr = df[df.method == MEAN_SHAPE].groupby("dataset").fitted_threshold.first()
        assert len(thr) == 2 and np.allclose(thr, fitted)
    assert "## Real held-out test set (real, 2 models)" in md
    section = md.split("## Real held-out test set")[1]
    assert "Test models: car 2." in section and f"| {baseline} |" in section
    # the same claims judged on each set (on the real one over its 2 test models; a 1-epoch
    # network may predict no voxel, and then has no PSNR to compare)
    verdicts = json.loads((out / "claims.json").read_text())
    claims = {d: [c["claim"] for c in verdicts if c["dataset"] == d]
              for d in ("in distribution", real)}
    assert claims[real] and claims[real] == claims["in distribution"]
    assert {c["n_models"] for c in verdicts if c["dataset"] == real} <= {0, 2}
    assert {c["dataset"] for c in verdicts if c.get("baseline")} == {"in distribution", real}
    assert "| car, real (real) |" in md  # the claims on the real set


def test_real_test_set_without_the_category(work):
    """A real set lacking a category is not scored on it, and its section says so."""
    from experiments import _common as common
    from experiments import _report as report
    from im2avatar_tf.config import get_preset

    chairs = write_toy_dataset(work / "chairs", categories=("chair",), split_sizes={"test": 1},
                               resolution=32)
    s = common.Setup(name="t", preset=get_preset("tiny"), root=work / "toy", data_source="toy",
                     categories=("car",), runs_dir=work / "runs", out_dir=work / "t",
                     real_roots=(chairs,))
    assert s.test_sets_of("car") == [("in distribution", work / "toy")]
    rows = pd.DataFrame({"dataset": ["in distribution"], "category": ["car"], "n_models": [2]})
    md = report.sections_per_test_set(s, rows, lambda df: ["table of " + ", ".join(df.category)])
    assert md[0] == "table of car"
    assert "## Real held-out test set (chairs, 0 models)" in md
    assert any("Test models: none; no test split for car." in line for line in md)
    assert not any("table of" in line for line in md[1:])


def test_several_real_test_sets(work, real_toy):
    """--real-test DIR DIR: each set is scored where it has the category, under its own label
    and README section."""
    from experiments import _common as common
    from experiments import _report as report
    from im2avatar_tf.config import get_preset

    chairs = write_toy_dataset(work / "chairs2", categories=("chair",), split_sizes={"test": 1},
                               resolution=32)
    s = common.Setup(name="t", preset=get_preset("tiny"), root=work / "toy", data_source="toy",
                     categories=("car",), runs_dir=work / "runs", out_dir=work / "t",
                     real_roots=(real_toy, chairs))
    assert [label for label, _ in s.test_sets()] == ["in distribution", "real (real)",
                                                     "real (chairs2)"]
    assert s.test_sets_of("car") == [("in distribution", work / "toy"), ("real (real)", real_toy)]
    rows = pd.DataFrame({"dataset": ["in distribution", "real (real)"], "category": ["car"] * 2,
                         "n_models": [2, 2]})
    md = report.sections_per_test_set(s, rows, lambda df: ["table of " + ", ".join(df.dataset)])
    assert "## Real held-out test set (real, 2 models)" in md
    assert "## Real held-out test set (chairs2, 0 models)" in md
    assert "table of real (real)" in md


def test_human(work, monkeypatch):
    """The human experiment on a toy human set (and a toy 'real' set): baseline rows on both
    sets, fitted on the synthetic training pairs only."""
    from im2avatar_tf.evaluation import fit_baselines

    pairs = [(f"clothes{c}", f"mesh{m}_new") for c in range(4) for m in range(4)]  # 16: 1 batch
    write_toy_human(work / "human", pairs=pairs, resolution=32, seed=1)
    write_toy_human(work / "human-real", pairs=pairs[:2], resolution=32, seed=2)
    df, md, out = run_experiment(work, monkeypatch, "human", "--real", str(work / "human-real"),
                                 "--gallery-models", "1", data="human", categories=("human",))
    assert set(df.dataset) == {"synthetic test", "human-real"}
    for dataset in ("synthetic test", "human-real"):
        sub = df[df.dataset == dataset]
        assert {MEAN_SHAPE, MEAN_COLOR} <= set(sub.method)
        assert (sub[sub.method == MEAN_COLOR].coloring == "direct").all()
    assert f"| {MEAN_SHAPE} |" in md and f"| {MEAN_COLOR} |" in md
    claims = baseline_claims(out)
    assert {c["category"] for c in claims} == {"synthetic test", "human-real"}
    # PSNR at the released t = 0.2 and at the plain blend t = 1, each under its own label
    t1 = df[df.method == "Im2Avatar (shape + color, t = 1)"]
    assert set(t1.metric) == {"psnr_rgb", "psnr_ycbcr"} and (t1.t == 1.0).all()
    assert "| Im2Avatar (shape + color, t = 1) |" in md
    for name in ("synthetic test", "human-real"):
        color_claims = {c["claim"] for c in claims
                        if c["category"] == name and "psnr_rgb" in c["claim"]}
        assert any("t = 0.2" in c for c in color_claims), color_claims
        assert any("t = 1)" in c for c in color_claims), color_claims
    # Fitted on the synthetic training split: its threshold is in every baseline row.
    fitted = fit_baselines(work / "human", ["human"], 32)
    assert len(fitted.fitted_on) == 16
    thr = df[df.method == MEAN_SHAPE].fitted_threshold
    assert np.allclose(thr, fitted.shape_threshold)
    assert (out / "gallery.png").exists()


def test_human_shape_only(work, monkeypatch):
    """--shape-only (after test_human: its shape network is reused, no color network trains):
    IoU rows and verdicts against the mean shape on both sets, no colors, its own folder."""
    runs_before = sorted(p.name for p in (work / "runs").glob("tiny/*/human/*"))
    df, md, out = run_experiment(work, monkeypatch, "human", "--real", str(work / "human-real"),
                                 "--shape-only", data="human", categories=("human",),
                                 out_suffix="-shape-only")
    assert sorted(p.name for p in (work / "runs").glob("tiny/*/human/*")) == runs_before
    assert set(df.metric) == {"iou"} and set(df.dataset) == {"synthetic test", "human-real"}
    assert set(df.method) == {"Im2Avatar shape network (MSFCEL)", MEAN_SHAPE}
    claims = baseline_claims(out)
    assert [(c["category"], c["baseline"]) for c in claims] == [
        ("synthetic test", "mean training shape"), ("human-real", "mean training shape")]
    assert "PSNR" not in md and not (out / "gallery.png").exists()


def test_human_over_seeds(work, monkeypatch, capsys):
    """--seeds (after test_human_shape_only: seed 0's folder is read back, seed 1's network
    trains and is scored): one folder per seed, then the summary with each seed's paired
    difference and the verdicts over seeds, plain and by the target margin. Run again, it
    reads both seeds back and writes the same summary; with other test sets (or data, budget,
    numbers of test models) it scores them again."""
    seed0 = work / "results/human/tiny-1epochs-shape-only"
    df, md, out = run_experiment(work, monkeypatch, "human", "--real", str(work / "human-real"),
                                 "--shape-only", "--seeds", "0", "1", data="human",
                                 categories=("human",), out_suffix="-seeds0-1-shape-only")
    assert (work / "results/human/tiny-1epochs-seed1-shape-only/results.csv").exists()
    assert sorted(set(df.seed)) == [0, 1] and set(df.dataset) == {"synthetic test", "human-real"}
    verdicts = json.loads((out / "claims.json").read_text())
    per_seed = json.loads((work / "results/human/tiny-1epochs-seed1-shape-only/claims.json")
                          .read_text())
    for dataset in ("synthetic test", "human-real"):
        plain, by_margin = [v for v in verdicts if v["category"] == dataset]
        assert plain["n_seeds"] == by_margin["n_seeds"] == 2 and by_margin["margin"] == 0.05
        seed1 = next(c for c in per_seed if c["category"] == dataset)
        assert plain["per_seed"]["1"] == pytest.approx(seed1["mean_difference"])
        assert plain["mean_difference"] == pytest.approx(
            (plain["per_seed"]["0"] + plain["per_seed"]["1"]) / 2)
        assert plain["verdict"] in ("supported", "contradicted", "not resolved")
    assert "| human-real | iou |" in md and "beats it by the target margin" in md
    assert ("seed 0: scored before, read back from results/human/tiny-1epochs-shape-only"
            in capsys.readouterr().out)
    first = json.loads((out / "claims.json").read_text())
    run_experiment(work, monkeypatch, "human", "--real", str(work / "human-real"),
                   "--shape-only", "--seeds", "0", "1", data="human", categories=("human",),
                   out_suffix="-seeds0-1-shape-only")
    assert "seed 1: scored before" in capsys.readouterr().out
    assert json.loads((out / "claims.json").read_text()) == first
    # Other test sets than the folders were scored on (no real people): both seeds are
    # scored again.
    run_experiment(work, monkeypatch, "human", "--real", str(work / "no-real-people"),
                   "--shape-only", "--seeds", "0", "1", data="human", categories=("human",),
                   out_suffix="-seeds0-1-shape-only")
    assert "scored before" not in capsys.readouterr().out
    assert {c["category"] for c in json.loads((seed0 / "claims.json").read_text())} == {
        "synthetic test"}
    assert all(v["n_seeds"] == 2 and v["category"] == "synthetic test"
               for v in json.loads((out / "claims.json").read_text()))


def test_claims_study_end_to_end(work, monkeypatch):
    """Seed 0 alone (to keep the suite short; `tests/test_claims.py` checks the verdicts over
    several seeds): its faithful shape, cross-entropy shape and color networks are the ones
    table1 and table2 trained (same configuration, same run dirs), so only the two output-BN-off
    networks train here."""
    tmp_path = work
    seen = []  # (split, thresholds) of every evaluation
    calls = []  # "train" / "evaluate", in order
    real_evaluate, real_train = study.common.evaluate, study.common.train_or_reuse

    def spy(s, category, predictor, split="test", **kwargs):
        seen.append((split, tuple(kwargs.get("iou_thresholds", ()))))
        calls.append("evaluate")
        return real_evaluate(s, category, predictor, split=split, **kwargs)

    def train_spy(*args, **kwargs):
        calls.append("train")
        return real_train(*args, **kwargs)

    monkeypatch.setattr(study.common, "evaluate", spy)
    monkeypatch.setattr(study.common, "train_or_reuse", train_spy)
    df, md, out = run_experiment(work, monkeypatch, "claims", "--seeds", "0", "--precise-bn",
                                 out_suffix="-car")
    # 4 shape arms, each a separate network in its own run dir, and one color network
    assert len(list((tmp_path / "runs").glob("tiny/*/car/shape-*/shape.keras"))) == 4
    assert len(list((tmp_path / "runs").glob("tiny/*/car/color-*/color.keras"))) == 1
    iou = df[df.metric == "iou"]
    arms = {study.arm_label(*a) for a in study.SHAPE_ARMS}
    assert set(iou.method) == arms | {MEAN_SHAPE}
    for arm in arms:
        sel = iou[iou.method == arm]
        assert sorted(sel.seed) == [0, 0]
        assert set(sel.threshold_mode) == {study.FIXED, study.CHOSEN}
        assert (sel[sel.threshold_mode == study.FIXED].threshold == 0.8).all()
        assert sel.threshold.isin(study.VAL_THRESHOLDS).all()
    # every network first (a study stopped while training resumes it at once), then scores
    assert calls == ["train"] * 5 + ["evaluate"] * (len(calls) - 5)
    # the chosen threshold comes from the validation split: the grid is only ever scored there
    assert ("val", study.VAL_THRESHOLDS) in seen
    assert all(split == "val" for split, thr in seen if len(thr) > 2)
    # the output-BN-off networks have no BatchNorm on their logits; the released ones do
    configs = [json.loads(p.read_text())
               for p in (tmp_path / "runs").glob("tiny/*/car/shape-*/config.json")]
    assert sorted(c["model"]["decoder"]["output_batchnorm"] for c in configs) == [False] * 2 + [True] * 2
    psnr = df[df.metric == "psnr_rgb"]
    # --precise-bn: every coloring again, from the recalibrated copy of the color network
    precise = {study.precise(c) for c in study.COLORINGS}
    assert set(psnr.method) == set(study.COLORINGS) | precise | {MEAN_COLOR, GROUND_TRUTH_FLOW}
    # one row per coloring (NaN where a 1-epoch shape network predicts no voxel)
    assert sorted(psnr.seed) == [0] * 10
    assert f"| {study.precise(study.TRAINING_BLEND)} |" in md
    # the flow ceiling: no network, the test images sampled at the ground-truth flow
    from im2avatar_tf.evaluation import evaluate, ground_truth_flow_predictor

    oracle = evaluate(ground_truth_flow_predictor(32), work / "toy", "test", ["car"],
                      image_size=64, resolution=32, iou_thresholds=(), blend_ts=(),
                      progress=False).records
    flow = oracle[(oracle.coloring == "flow") & (oracle.metric == "psnr_rgb")]
    assert len(flow) == 2 * 12 and np.isfinite(flow.value).all()
    assert np.isclose(psnr[psnr.method == GROUND_TRUTH_FLOW].value.iloc[0],
                      flow.groupby("model_id").value.mean().mean())
    assert f"| {GROUND_TRUTH_FLOW} |" in md
    verdicts = json.loads((out / "claims.json").read_text())
    # one seed measures no training noise: never a verdict
    assert {v["n_seeds"] for v in verdicts if "IoU" in v["claim"]} == {1}
    assert {v["verdict"] for v in verdicts} == {"not resolved"}
    msfcel = [v for v in verdicts if v["claim"] == "MSFCEL beats cross-entropy (IoU)"]
    assert len(msfcel) == 4  # output BN on/off x threshold fixed/chosen
    # (the verdicts of the precise-BN rows: tests/test_claims.py; here 1 epoch leaves NaNs)
    assert set(df[df.method.isin(precise)].metric) == set(study.COLOR_METRICS)
    assert f"| {MEAN_SHAPE} |" in md and f"| {MEAN_COLOR} |" in md and "## Verdicts" in md
    assert (out / "plot.png").stat().st_size > 1000  # the training curves
    assert "Test models: car 2." in md


def test_seed_option_shares_the_claims_studys_run_dirs(work, monkeypatch):
    """`table1 --seed 1` trains (or reuses) exactly the network the claims study's seed 1 does,
    and keeps its results apart from seed 0's."""
    from experiments import _common as common

    monkeypatch.chdir(work)
    base = ["--preset", "tiny", "--data", str(work / "toy"), "--categories", "car",
            "--epochs", "1"]
    table1 = common.setup("table1", build_parser().parse_args(["table1", *base, "--seed", "1"]))
    claims = common.setup("claims", build_parser().parse_args(["claims", *base]))
    assert table1.preset.train.seed == 1 and table1.out_dir.name == "tiny-1epochs-seed1"
    for network in ("shape", "color", "r2n2"):
        assert (common.run_dir(table1, network, "car")
                == common.run_dir(claims, network, "car", train={"seed": 1}))
    assert common.run_dir(table1, "shape", "car") != common.run_dir(claims, "shape", "car")


def test_practical(work, monkeypatch):
    """Photos, fused views and STL with the zoo car (32^3, like the toy data) on the toy cars:
    every condition scored beside the baselines, the paired claims, the STL count."""
    df, md, out = run_experiment(work, monkeypatch, "practical", "--model", "car",
                                 "--fuse-views", "2", "12")
    conditions = ["clean render", "on a photo, as it is", "on a photo, --remove-background",
                  "2 views fused", "12 views fused"]
    iou = df[(df.metric == "iou") & (df.category == "car")]
    assert set(conditions + [MEAN_SHAPE]) <= set(iou.method)
    psnr = df[(df.metric == "psnr_rgb") & (df.category == "car")]
    assert (psnr[psnr.method.isin(conditions)].coloring == "direct").all()
    assert any(m.startswith(MEAN_COLOR) for m in psnr.method)
    claims = [c["claim"] for c in json.loads((out / "claims.json").read_text())]
    assert "removal beats no removal on photos (iou)" in claims
    assert "12 fused views beat 1 view (psnr_rgb)" in claims
    assert "| car | " in md.split("watertight when reloaded")[1]
    good, written = md.split("watertight when reloaded")[1].split("| car | ")[1].split("|")[:2]
    assert 1 <= int(written) <= 24 and 0 <= int(good) <= int(written)  # 2 models x 12 views


def test_resolution_side_by_side(work, monkeypatch):
    """A 64^3 network beside a 32^3 one on the same test models (the toy cars written at both
    resolutions): each at its own resolution beside its own baselines, the 64^3 one again at
    32^3 (max-pooled), the paired verdicts; the 32^3 side's numbers are table1's / table2's."""
    from im2avatar_tf import config

    monkeypatch.setitem(config.PRESETS, "tiny64", lambda: config.get_preset("tiny").replace(
        name="tiny64", model={"decoder": {"volume_size": 64}}))
    if not (work / "toy64").exists():
        write_toy_dataset(work / "toy64", categories=("car",),
                          split_sizes={"train": 16, "val": 2, "test": 2}, resolution=64)
    monkeypatch.chdir(work)
    args = build_parser().parse_args([
        "resolution", "--preset", "tiny64", "--data", str(work / "toy64"), "--coarse-preset",
        "tiny", "--coarse-data", str(work / "toy"), "--categories", "car", "--epochs", "1",
        "--coarse-epochs", "1", "--quiet"])
    assert registry.find("resolution").run(args) == 0
    out = work / "results" / "resolution" / "tiny64-1epochs-vs-tiny-1epochs"
    df, md = pd.read_csv(out / "results.csv"), (out / "README.md").read_text()
    iou = df[(df.metric == "iou") & (df.category == "car")]
    fine, coarse, pooled = "64^3 (tiny64)", "32^3 (tiny)", "64^3 (tiny64) pooled to 32^3"
    assert set(iou.method) == {fine, coarse, pooled, MEAN_SHAPE}
    resolution = dict(zip(iou.method + "|" + iou.resolution_of.fillna(""),
                          iou.volume_resolution))
    assert resolution == {f"{fine}|": 64, f"{coarse}|": 32, f"{pooled}|": 32,
                          f"{MEAN_SHAPE}|{fine}": 64, f"{MEAN_SHAPE}|{coarse}": 32}
    assert set(df[df.method == coarse].preset) == {"tiny"}
    assert set(df[df.method == coarse].data_source) == {"toy"}
    assert set(df[df.method == pooled].data_source) == {"toy64"}
    assert set(df[df.method == fine].preset) == {"tiny64"}
    assert (iou.n_models == 2).all() and iou.value.between(0, 1).all()
    # the 32^3 network is table1's / table2's (shared run dir), scored the same way
    t1 = run_experiment(work, monkeypatch, "table1")[0]
    ours = iou[iou.method == coarse].value.iloc[0]
    assert ours == pytest.approx(t1[(t1.method == "CVN + MSFCEL") & (t1.metric == "iou")
                                    & (t1.threshold == 0.8)].value.iloc[0], abs=1e-6)
    assert iou[(iou.method == MEAN_SHAPE) & (iou.resolution_of == coarse)].value.iloc[0] == \
        pytest.approx(t1[t1.method == MEAN_SHAPE].value.iloc[0], abs=1e-6)
    t2 = run_experiment(work, monkeypatch, "table2")[0]
    psnr = df[(df.metric == "psnr_rgb") & (df.method == coarse) & (df.t == 1.0)].iloc[0]
    same = t2[(t2.method == "blended, t = 1 (training blend)") & (t2.metric == "psnr_rgb")
              & (t2.category == "car")].iloc[0]  # NaN where a 1-epoch network predicts nothing
    assert psnr.value == pytest.approx(same.value, abs=1e-6, nan_ok=True)
    assert (psnr.n_views, psnr.n_empty) == (same.n_views, same.n_empty)
    claims = {c["claim"]: c for c in json.loads((out / "claims.json").read_text())}
    assert claims[f"{fine} beats {coarse}: IoU@0.8 at 32^3"]["n_models"] == 2
    assert f"{fine} beats {coarse}: surface PSNR (t = 1), each at its own resolution" in claims
    for label in (fine, coarse):
        assert f"{label} beats the mean training shape (iou)" in claims
    assert f"| {fine} | 2 |" in md and f"| {coarse} | 2 |" in md


def test_resolution_pairs_the_real_test_sets_in_order(work, monkeypatch):
    monkeypatch.chdir(work)
    args = build_parser().parse_args([
        "resolution", "--preset", "tiny", "--data", str(work / "toy"), "--coarse-data",
        str(work / "toy"), "--real-test", str(work / "toy"), "--categories", "car"])
    with pytest.raises(ValueError, match="pair up in order"):
        resolution.paired_test_sets(common.setup("resolution", args),
                                    common.setup("resolution", resolution.coarse_args(args)))
    with pytest.raises(ValueError, match="must be finer"):
        registry.find("resolution").run(args)
