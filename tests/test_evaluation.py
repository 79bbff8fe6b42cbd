"""Evaluation metrics against independent brute-force implementations written here."""
from __future__ import annotations

import math

import h5py
import numpy as np
import pytest

from im2avatar_tf import evaluation as ev
from im2avatar_tf.data import layout
from im2avatar_tf.metrics import NearestSurface, brute_force_nearest, rgb_to_ycbcr, voxel_iou
from tests._toy_data import write_toy_dataset

R = 16


# ------------------------------------------------------------- independent reference code

def ref_nearest(points, gt_points):
    """First GT point (in order) at the minimal squared distance: the full integer distance
    matrix (exact) and argmin (first on ties)."""
    d2 = ((np.asarray(points, np.int64)[:, None, :] - np.asarray(gt_points, np.int64)[None]) ** 2)
    return np.argmin(d2.sum(-1), axis=1)


def ref_repair(image):
    """Every background pixel (== top-left within 1e-3) -> nearest foreground pixel, brute force.
    (Ties between differently colored pixels would make any choice valid; the test images are
    two uniform blobs and the fixed cases sample no pixel equidistant to both.)"""
    bg = image[0, 0]
    fg = [(r, c) for r in range(image.shape[0]) for c in range(image.shape[1])
          if np.any(np.abs(image[r, c] - bg) >= 1e-3)]
    out = image.copy()
    for r in range(image.shape[0]):
        for c in range(image.shape[1]):
            if (r, c) not in fg:
                d = [(r - a) ** 2 + (c - b) ** 2 for a, b in fg]
                a, b = fg[int(np.argmin(d))]
                out[r, c] = image[a, b]
    return out


def ref_view_psnr(probs, color9, gt_color, image, t, coloring):
    """The released eval_surface_psnr.py algorithm, rewritten from the reference text."""
    pts = np.argwhere(probs >= 0.8)
    if len(pts) == 0:
        return math.nan, math.nan
    gt_pts = np.argwhere(gt_color[..., 0] > -0.5)
    gt = np.array([gt_color[tuple(gt_pts[i])] for i in ref_nearest(pts, gt_pts)])
    d = np.array([color9[tuple(p)] for p in pts])
    reg, w, flow = d[:, :3], d[:, 3], d[:, 4:6]
    H, W = image.shape[:2]
    rep = ref_repair(image)
    sampled = np.array([rep[min(int(y * H), H - 1), min(int(x * W), W - 1)] for x, y in flow])
    if coloring == "regression":
        pred = reg
    elif coloring == "flow":
        pred = sampled
    else:
        c = 1 - w
        c = np.where(c > t, 1.0, c / t)[:, None]
        pred = reg * (1 - c) + sampled * c
    p, g = pred * 255.0, gt * 255.0

    def ycc(x):
        r, gg, b = x[:, 0], x[:, 1], x[:, 2]
        return np.stack([0.299 * r + 0.587 * gg + 0.114 * b,
                         128 - 0.168736 * r - 0.331264 * gg + 0.5 * b,
                         128 + 0.5 * r - 0.418688 * gg - 0.081312 * b], 1)

    def to_psnr(a, b):
        return 20 * math.log10(255) - 10 * math.log10(np.sum((a - b) ** 2) / len(a) / 3)

    return to_psnr(p, g), to_psnr(ycc(p), ycc(g))


# --------------------------------------------------------------------------------- tests

def test_nearest_surface_equals_brute_force_including_ties():
    rng = np.random.default_rng(0)
    gt = np.argwhere(rng.random((12, 12, 12)) < 0.05)
    # Queries on the lattice and at the centre of symmetric shells (> 8 equidistant points).
    queries = np.concatenate([np.argwhere(rng.random((12, 12, 12)) < 0.2), [[6, 6, 6]]])
    shell = np.array([[6 + a, 6 + b, 6 + c] for a in (-2, 0, 2) for b in (-2, 0, 2)
                      for c in (-2, 0, 2) if (a, b, c) != (0, 0, 0) and abs(a) + abs(b) + abs(c) == 4])
    for g in (gt, shell):
        expected = ref_nearest(queries, g)
        np.testing.assert_array_equal(NearestSurface(g).query(queries), expected)
        np.testing.assert_array_equal(brute_force_nearest(queries, g), expected)
    assert len(shell) == 12  # twelve points tie for the centre query


def test_ycbcr_is_the_jpeg_conversion():
    rgb = np.array([[255.0, 255, 255], [0, 0, 0], [255, 0, 0]])
    expected = np.array([[255, 128, 128], [0, 128, 128],
                         [0.299 * 255, 128 - 0.168736 * 255, 128 + 0.5 * 255]])
    np.testing.assert_allclose(rgb_to_ycbcr(rgb), expected, atol=1e-9)


def test_iou_matches_set_arithmetic_and_both_empty_is_nan():
    rng = np.random.default_rng(1)
    a, b = rng.random((8, 8, 8)) < 0.3, rng.random((8, 8, 8)) < 0.3
    sa, sb = set(map(tuple, np.argwhere(a))), set(map(tuple, np.argwhere(b)))
    assert voxel_iou(a, b) == pytest.approx(len(sa & sb) / len(sa | sb), abs=1e-12)
    assert math.isnan(voxel_iou(np.zeros_like(a), np.zeros_like(a)))


def random_case(rng, views=3):
    """A ground truth, a noisy prediction and view images with a background (ties in the image
    repair are avoided by isolated foreground blobs)."""
    gt = np.full((R, R, R, 3), -1.0)
    occ = rng.random((R, R, R)) < 0.08
    gt[occ] = rng.random((occ.sum(), 3))
    probs = np.clip(occ * 0.9 + rng.normal(0, 0.25, (views, R, R, R)), 0, 1)
    color9 = rng.random((views, R, R, R, 9))
    images = []
    for _ in range(views):
        img = np.full((12, 12, 3), 245 / 255.0)
        img[2:4, 2:4] = rng.random(3)
        img[8:11, 7:9] = rng.random(3)
        images.append(img)
    return gt, ev.Prediction(probs, color9), images


@pytest.mark.parametrize("seed", [0, 1])
def test_score_model_equals_brute_force_to_1e6(seed):
    rng = np.random.default_rng(seed)
    gt, pred, images = random_case(rng)
    names = layout.VIEW_NAMES[:3]
    rows = ev.score_model(ev.GroundTruth.from_color(gt), pred, images, names,
                          iou_thresholds=(0.8, 0.5), blend_ts=(0.2, 0.5))
    psnr_rows = [r for r in rows if r["metric"].startswith("psnr")]
    assert len(psnr_rows) == 3 * 4 * 2  # views x (regression, flow, blend 0.2, blend 0.5) x 2
    for r in psnr_rows:
        v = names.index(r["view"])
        rgb, ycc = ref_view_psnr(pred.probs[v], pred.color9[v], gt, images[v], r["t"],
                                 r["coloring"])
        assert r["value"] == pytest.approx(rgb if r["metric"] == "psnr_rgb" else ycc, abs=1e-6)
    for r in (r for r in rows if r["metric"] == "iou"):
        v = names.index(r["view"])
        p, g = pred.probs[v] > r["threshold"], gt[..., 0] > -0.5
        assert r["value"] == pytest.approx((p & g).sum() / (p | g).sum(), abs=1e-12)


def test_empty_prediction_counts_as_empty_and_iou_zero():
    rng = np.random.default_rng(2)
    gt, pred, images = random_case(rng, views=2)
    pred.probs[1] = 0.5  # nothing reaches 0.8
    rows = ev.score_model(ev.GroundTruth.from_color(gt), pred, images, layout.VIEW_NAMES[:2],
                          iou_thresholds=(0.8,))
    import pandas as pd
    df = pd.DataFrame(rows).assign(category="car", model_id="m")
    s = ev.summarize(df)
    iou = s[s.metric == "iou"].iloc[0]
    assert iou.n_views == 2 and iou.n_empty == 0
    v0 = [r["value"] for r in rows if r["metric"] == "iou" and r["view"] == layout.VIEW_NAMES[0]][0]
    assert iou.value == pytest.approx((v0 + 0.0) / 2)
    p = s[(s.metric == "psnr_rgb") & (s.coloring == "regression")].iloc[0]
    assert p.n_views == 1 and p.n_empty == 1
    v0 = [r["value"] for r in rows if r["metric"] == "psnr_rgb" and r["coloring"] == "regression"
          and r["view"] == layout.VIEW_NAMES[0]][0]
    assert p.value == pytest.approx(v0)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return write_toy_dataset(tmp_path_factory.mktemp("toy"), resolution=R,
                             split_sizes={"test": 2})


def oracle(err):
    """A predictor with the true shape and regressed colors off by `err` (w = 1)."""
    def predict(entry, inputs):
        from im2avatar_tf.data.samples import load_color
        color = load_color(entry.paths, R)
        occ = (color[..., 0] > -0.5).astype(np.float32)
        reg = np.where(occ[..., None] > 0, color + err, 0.0)
        c9 = np.concatenate([reg, np.ones_like(reg[..., :1]), np.zeros_like(reg[..., :2]), reg], -1)
        V = len(inputs)
        return ev.Prediction(np.repeat(occ[None], V, 0), np.repeat(c9[None], V, 0))
    return predict


def test_evaluate_end_to_end_with_an_oracle_and_saved_predictions_round_trip(toy, tmp_path):
    kw = dict(image_size=32, resolution=R, progress=False)
    res = ev.evaluate(oracle(0.1), toy, "test", ["car", "chair"], save_predictions=tmp_path, **kw)
    s = ev.summarize(res.records)
    assert res.n_models == 4
    iou = s[(s.metric == "iou") & (s.threshold == 0.8)].set_index("category")["value"]
    assert set(iou.index) == {"car", "chair", "mean"} and np.allclose(iou, 1.0)
    reg = s[(s.metric == "psnr_rgb") & (s.coloring == "regression")].set_index("category")
    np.testing.assert_allclose(reg["value"], 20 * np.log10(1 / 0.1), atol=1e-4)  # MSE = 25.5^2
    assert (reg["n_views"] == [24, 24, 48]).all()
    # Released file layout: output_shape/<category id>/<model>/<view>.h5, "data" (R, R, R, 1).
    f = tmp_path / "output_shape" / "02958343" / "car_test_000" / "0.523.h5"
    with h5py.File(f, "r") as h:
        assert h["data"].shape == (R, R, R, 1)
    with h5py.File(tmp_path / "output_color" / "02958343" / "car_test_000" / "0.523.h5", "r") as h:
        assert h["data"].shape == (R, R, R, 9)
    back = ev.evaluate(ev.PredictionFiles(tmp_path), toy, "test", ["car", "chair"], **kw)
    a = res.records.sort_values(list(res.records.columns[:7])).reset_index(drop=True)
    b = back.records.sort_values(list(back.records.columns[:7])).reset_index(drop=True)
    np.testing.assert_allclose(a["value"], b["value"], atol=1e-6)


def test_evaluate_command_scores_saved_predictions(toy, tmp_path, capsys):
    from im2avatar_tf.cli import main

    ev.evaluate(oracle(0.1), toy, "test", ["car"], image_size=32, resolution=R, progress=False,
                save_predictions=tmp_path / "preds")
    code = main(["evaluate", "--predictions", str(tmp_path / "preds"), "--data", str(toy),
                 "--categories", "car", "--resolution", str(R), "--out", str(tmp_path / "r.csv"),
                 "--check-brute-force", "1"])
    assert code == 0
    import pandas as pd
    rows = pd.read_csv(tmp_path / "r.csv")
    assert rows.model_id.nunique() == 2 and rows.view.nunique() == 12
    iou = rows[(rows.metric == "iou") & (rows.threshold == 0.8)]
    assert np.allclose(iou.value, 1.0)
    out = capsys.readouterr().out
    assert "largest difference 0.00e+00" in out and "IoU@0.8" in out


def test_evaluate_names_a_wrong_shaped_or_all_nan_prediction_file(toy, tmp_path, capsys):
    """An (R/2)^3 file among R^3 predictions, then an all-NaN one: one line naming the file, its
    shape and the expected one (before: "all input arrays must have the same shape"; an
    all-NaN volume counted silently as an empty prediction)."""
    from im2avatar_tf.cli import main
    from im2avatar_tf.io import write_h5

    preds = tmp_path / "preds"
    ev.evaluate(oracle(0.1), toy, "test", ["car"], image_size=32, resolution=R, progress=False,
                save_predictions=preds)
    bad = preds / "output_shape" / "02958343" / "car_test_001" / "0.523.h5"
    args = ["evaluate", "--predictions", str(preds), "--data", str(toy), "--categories", "car",
            "--resolution", str(R), "--no-baselines"]
    half = R // 2
    write_h5(bad, np.zeros((half, half, half, 1), np.float32))
    assert main(args) == 1
    err = capsys.readouterr().err
    assert (f"{bad} holds a prediction of shape ({half}, {half}, {half}, 1), expected "
            f"({R}, {R}, {R}, 1)" in err), err
    write_h5(bad, np.full((R, R, R, 1), np.nan, np.float32))
    assert main(args) == 1
    assert f"{bad} is all NaN" in capsys.readouterr().err


def test_baselines_are_fitted_on_the_training_split_only(tmp_path):
    """The mean shape and color equal means computed by hand over the train models, and
    rewriting the test split's ground truth does not move them (it moves their scores)."""
    from im2avatar_tf.data.layout import read_split
    from im2avatar_tf.data.samples import load_color
    from im2avatar_tf.io import write_h5

    root = write_toy_dataset(tmp_path / "toy", categories=("car",),
                             split_sizes={"train": 4, "test": 2}, resolution=R)
    colors = [load_color(m, R) for m in read_split(root, "train", "car", R)]
    occ = np.array([c[..., 0] > -0.5 for c in colors])
    surface = np.concatenate([c[o] for c, o in zip(colors, occ)])
    before = ev.fit_baselines(root, ["car"], R)
    np.testing.assert_allclose(before.mean_shape, occ.mean(0), atol=1e-6)
    np.testing.assert_allclose(before.mean_color, surface.astype(np.float64).mean(0), atol=1e-6)
    assert len(before.fitted_on) == 4 and all("_train_" in k for k in before.fitted_on)
    kw = dict(image_size=32, resolution=R, shape=oracle(0.0), progress=False)
    scores = ev.score_baselines(root, "test", ["car"], **kw)
    assert scores.shape.n_models == scores.color.n_models == 2
    for m in read_split(root, "test", "car", R):  # a different test ground truth
        c = np.full((R, R, R, 3), -1.0, np.float32)
        c[2:6, 2:6, 2:6] = [1.0, 0.0, 0.0]
        write_h5(m.color, c, compress=False)
    after = ev.fit_baselines(root, ["car"], R)
    np.testing.assert_array_equal(after.mean_shape, before.mean_shape)
    np.testing.assert_array_equal(after.mean_color, before.mean_color)
    assert after.shape_threshold == before.shape_threshold
    moved = ev.score_baselines(root, "test", ["car"], **kw)
    assert not np.allclose(moved.model_means("iou"), scores.model_means("iou"))
    # Fitting on the test split instead would move it: the split is what decides.
    assert not np.allclose(ev.fit_baselines(root, ["car"], R, split="test").mean_shape,
                           before.mean_shape)


def test_a_pooled_prediction_of_the_fine_truth_scores_one_at_the_coarse_resolution(toy):
    """The fine ground truth thinned to one voxel per coarse block and max-pooled is the
    coarse ground truth (pooled from the file by `pool_volume`): IoU 1 in every view. A mean
    pool would lose most blocks at the 0.8 threshold."""
    from im2avatar_tf.data.samples import load_color

    def thinned(entry, inputs):
        occ = load_color(entry.paths, R)[..., 0] > -0.5
        keep = np.zeros_like(occ)
        blocks = np.argwhere(occ) // 2
        _, first = np.unique(blocks, axis=0, return_index=True)
        keep[tuple(np.argwhere(occ)[first].T)] = True  # one fine voxel per occupied block
        assert keep.sum() < occ.sum()
        return ev.Prediction(np.repeat(keep[None].astype(np.float32), len(inputs), 0))

    res = ev.evaluate(ev.pooled_predictor(thinned, 2), toy, "test", ["car"], image_size=32,
                      resolution=R // 2, iou_thresholds=(0.8,), progress=False)
    assert res.n_models == 2 and len(res.records) == 2 * 12
    assert np.allclose(res.records.value, 1.0)
    assert set(res.records.metric) == {"iou"}  # no colors at the pooled resolution
    with pytest.raises(ValueError, match="cannot pool a 16"):
        ev.pooled_predictor(thinned, 3)(next(iter(layout_entries(toy))), np.zeros((12, 32, 32, 3)))


def layout_entries(root):
    from im2avatar_tf.data.pipeline import list_models

    return list_models(root, "test", ["car"], R)[0]


def test_evaluate_command_scores_a_model_at_a_coarser_resolution(model_dir, toy, tmp_path,
                                                                  capsys):
    """--model with --resolution R/2: the network's R^3 occupancy max-pooled (by hand here,
    with skimage's block_reduce) against the R/2 ground truth, in every view; the threshold is
    the pooled probabilities' median, so half the coarse voxels are in and an axis mix-up
    would show. A non-divisor is refused."""
    import keras
    import pandas as pd
    from skimage.measure import block_reduce

    from im2avatar_tf.cli import main
    from im2avatar_tf.data.samples import load_color, occupancy_from_color
    from im2avatar_tf.evaluation import read_test_model
    from im2avatar_tf.forward import keras_forward

    entry = layout_entries(toy)[0]
    tm = read_test_model(entry, 64, 16)
    probs = keras_forward(keras.models.load_model(model_dir / "shape.keras"))(
        tm.inputs)["occupancy"][..., 0]  # (12, 32, 32, 32)
    pooled = block_reduce(probs, (1, 2, 2, 2), np.max)  # (12, 16, 16, 16)
    threshold = float(np.round(np.median(pooled), 4))
    truth = occupancy_from_color(load_color(entry.paths, 16))
    expected = [voxel_iou(p > threshold, truth) for p in pooled]
    assert len(set(np.round(expected, 6))) > 1  # the views differ

    assert main(["evaluate", "--model", str(model_dir), "--data", str(toy), "--categories",
                 "car", "--resolution", "16", "--no-baselines", "--thresholds", str(threshold),
                 "--out", str(tmp_path / "r.csv")]) == 0
    assert "model's 32^3 occupancy max-pooled by 2 (IoU only)" in capsys.readouterr().out
    rows = pd.read_csv(tmp_path / "r.csv", dtype={"view": str})
    assert set(rows.metric) == {"iou"} and rows.model_id.nunique() == 2
    got = rows[rows.model_id == entry.key].set_index("view").loc[list(layout.VIEW_NAMES), "value"]
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert main(["evaluate", "--model", str(model_dir), "--data", str(toy), "--resolution",
                 "12", "--no-baselines"]) == 1
    assert "give a divisor of 32 (e.g. 16)" in capsys.readouterr().err


def test_evaluate_command_scores_the_weights_as_the_zoo_would_store_them(model_dir, tmp_path,
                                                                         capsys):
    """--weights int8: the scores of the networks with their weights encoded as the zoo's
    int8 files hold them, equal to those of a model dir saved with those weights; refused
    with --predictions."""
    import shutil

    import pandas as pd

    from im2avatar_tf import pretrained
    from im2avatar_tf.cli import main
    from im2avatar_tf.models import load_network, load_preset

    toy = write_toy_dataset(tmp_path / "toy", categories=("car",), resolution=32,
                            split_sizes={"train": 2, "test": 2})
    preset = load_preset(model_dir)
    stored = tmp_path / "stored"
    shutil.copytree(model_dir, stored)
    for network in ("shape", "color"):
        net = load_network(model_dir / f"{network}.keras")
        pretrained.as_stored(net, network, preset, "int8").save(stored / f"{network}.keras")
    args = ["--data", str(toy), "--categories", "car", "--no-baselines", "--thresholds", "0.5"]
    assert main(["evaluate", "--model", str(model_dir), "--weights", "int8", *args,
                 "--out", str(tmp_path / "int8.csv")]) == 0
    assert "weights as the zoo stores them: int8" in capsys.readouterr().out
    assert main(["evaluate", "--model", str(stored), *args,
                 "--out", str(tmp_path / "stored.csv")]) == 0
    a, b = pd.read_csv(tmp_path / "int8.csv"), pd.read_csv(tmp_path / "stored.csv")
    assert len(a) and {"iou", "psnr_rgb"} <= set(a.metric)
    pd.testing.assert_frame_equal(a, b)
    assert main(["evaluate", "--predictions", str(tmp_path), "--data", str(toy),
                 "--weights", "int8"]) == 1
    assert "--weights applies to --model" in capsys.readouterr().err


def test_a_shape_network_runs_once_per_test_model_across_scorings(model_dir, tmp_path,
                                                                  monkeypatch):
    """IoU, the color network's PSNR and the mean color's all score the shape network's voxels:
    with the occupancy memo the network runs once per test model, and every record equals
    the memo-less run's; new weights (the network trained further) are not answered from the
    memo, and the memo goes with its network."""
    import gc

    import pandas as pd

    from im2avatar_tf import forward
    from im2avatar_tf.models import load_network, load_preset

    preset = load_preset(model_dir)
    toy = write_toy_dataset(tmp_path / "toy", categories=("car",),
                            resolution=preset.model.volume_size,
                            split_sizes={"train": 2, "test": 3})
    shape_runs = []
    keras_forward = forward.keras_forward

    def counting(shape_model, color_model=None, fold=False):
        run = keras_forward(shape_model, color_model, fold)
        if color_model is None:
            return lambda batch: shape_runs.append(len(batch)) or run(batch)
        return run
    monkeypatch.setattr(forward, "keras_forward", counting)

    def scorings(shape, color):
        kw = dict(image_size=preset.model.image_size, resolution=preset.model.volume_size,
                  progress=False)
        iou = ev.evaluate(ev.network_predictor(shape), toy, "test", ["car"], **kw)
        psnr = ev.evaluate(ev.network_predictor(shape, color), toy, "test", ["car"], **kw)
        base = ev.score_baselines(toy, "test", ["car"], shape=shape, **kw)
        return pd.concat([iou.records, psnr.records, base.color.records], ignore_index=True)

    shape, color = (load_network(model_dir / f"{n}.keras") for n in ("shape", "color"))
    remembered = scorings(shape, color)
    assert shape_runs == [12, 12, 12]  # three test models of 12 views, each run once
    monkeypatch.setattr(ev.OccupancyMemo, "MAX_BYTES", 0)  # nothing kept: the old behaviour
    shape_runs.clear()
    pd.testing.assert_frame_equal(remembered, scorings(load_network(model_dir / "shape.keras"),
                                                       color))
    assert len(shape_runs) == 9
    monkeypatch.undo()
    monkeypatch.setattr(forward, "keras_forward", counting)
    shape_runs.clear()
    shape.set_weights([w * 1.5 for w in shape.get_weights()])
    iou = ev.evaluate(ev.network_predictor(shape), toy, "test", ["car"], progress=False,
                      image_size=preset.model.image_size, resolution=preset.model.volume_size)
    assert shape_runs == [12, 12, 12] and iou.n_models == 3
    del shape
    gc.collect()
    assert not any(m.nbytes for m in ev.OccupancyMemo._memos.values())
