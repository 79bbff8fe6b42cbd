"""Every experiment end to end at the tiny preset, 1 epoch, one category of a toy dataset.
The experiments share one runs dir, as users' do: later ones reuse earlier networks."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from im2avatar_tf import registry
from im2avatar_tf.cli import build_parser
from tests._toy_data import write_toy_dataset

CONTEXT = ["threshold", "volume_resolution", "image_size", "split", "data_source", "n_models",
           "n_views", "n_empty", "preset", "git_revision", "date", "command"]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    root = tmp_path_factory.mktemp("exp")
    # tiny preset: 64 px, 32^3, batch 16 -> 16 training models make one batch per epoch.
    write_toy_dataset(root / "toy", categories=("car",),
                      split_sizes={"train": 16, "test": 2}, resolution=32)
    return root


def run_experiment(work, monkeypatch, name):
    monkeypatch.chdir(work)  # runs/, results/ and cache/ go here
    args = build_parser().parse_args([name, "--preset", "tiny", "--data", str(work / "toy"),
                                      "--categories", "car", "--epochs", "1", "--quiet"])
    assert registry.find(name).run(args) == 0
    out = work / "results" / name / "tiny-1epochs"  # --epochs keeps its results apart
    return pd.read_csv(out / "results.csv"), (out / "README.md").read_text(), out


def shape_network_file(work):
    found = list((work / "runs").glob("tiny/*/car/shape-msfcel-*/shape.keras"))
    assert len(found) == 1
    return found[0]


def test_table1(work, monkeypatch):
    df, md, out = run_experiment(work, monkeypatch, "table1")
    assert set(CONTEXT) <= set(df.columns)
    iou = df[df.metric == "iou"]
    assert set(iou.method) == {"adapted 3D-R2N2", "CVN + cross-entropy", "CVN + MSFCEL"}
    assert set(iou.threshold) == {0.8, 0.3, 0.4, 0.5}
    assert (iou.volume_resolution == 32).all() and (iou.image_size == 64).all()
    assert (iou.n_models == 2).all() and (iou.n_views == 24).all()
    assert iou.value.between(0, 1).all()
    assert "*paper, ShapeNet: CVN + MSFCEL* | 0.395" in md
    assert (out / "plot.png").stat().st_size > 1000
    claims = json.loads((out / "claims.json").read_text())
    assert {c["claim"] for c in claims} == {"MSFCEL beats cross-entropy (IoU)",
                                            "CVN beats adapted 3D-R2N2 (IoU)"}


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
    df, md, _ = run_experiment(work, monkeypatch, "table2")
    if before is not None:
        assert shape_network_file(work).stat().st_mtime_ns == before
    assert {"adapted 3D-R2N2", "regression only (w = 1)", "flow only (w = 0)",
            "blended, t = 0.2 (released)", "blended, t = 1 (training blend)"} <= set(df.method)
    assert set(df.metric) == {"psnr_rgb", "psnr_ycbcr"}
    # Every (method, view) pair is either scored or counted as empty.
    assert ((df.n_views + df.n_empty) == 24).all()
    assert "## Surface PSNR, YCbCr (dB)" in md and "color space not stated" in md


def test_views(work, monkeypatch):
    df, md, out = run_experiment(work, monkeypatch, "views")
    assert len(df) == 12 and sorted(df.azimuth_deg) == list(range(0, 360, 30))
    assert (df.n_views == 2).all()  # one view of each of the 2 test models per row
    assert (out / "plot.png").exists()


def test_color_complexity(work, monkeypatch):
    df, md, _ = run_experiment(work, monkeypatch, "color-complexity")
    assert df.n_models.sum() == 2 and df.clusters.between(1, 8).all()
    assert "Spearman" in md


def test_unified(work, monkeypatch):
    df, md, _ = run_experiment(work, monkeypatch, "unified")
    assert set(df.method) == {"two networks", "unified"}
    assert np.isfinite(df[df.metric == "iou"].value).all()
    assert "two networks beat one (iou)" in md
