"""Shape-space coverage (im2avatar_tf.shape_coverage and the `coverage` experiment): the voxels
are the builder's, nearest-neighbour IoU is exact, descriptors read what they claim."""
import numpy as np
import pytest

from im2avatar_tf.shape_coverage import (descriptors, iou_matrix, mean_shape, nearest_iou,
                                         profile_distance, shell, shortfalls)


def _box(r=16, x=(4, 12), y=(2, 8), z=(1, 15)):
    v = np.zeros((r, r, r), bool)
    v[x[0]:x[1], y[0]:y[1], z[0]:z[1]] = True
    return v


def test_shell_is_what_build_dataset_writes(tmp_path):
    from im2avatar_tf.building.builder import BuildOptions, build_dataset
    from im2avatar_tf.building.sources.procedural import generate
    from im2avatar_tf.building.sources.procedural.jobs import procedural_jobs
    from im2avatar_tf.data.layout import shapenet_model
    from im2avatar_tf.io import read_h5

    build_dataset(procedural_jobs(["car"], 1), tmp_path, BuildOptions(resolution=16, image_size=32,
                                                                     views=1), progress=False)
    color = read_h5(shapenet_model(tmp_path, "car", "proc0_00000", 16).color)
    assert np.array_equal(shell(generate("car", 0), 16), color[..., 0] >= 0)


def test_nearest_iou_is_the_best_pairwise_iou():
    rng = np.random.default_rng(0)
    train = rng.random((7, 8, 8, 8)) < 0.3
    tests = np.stack([train[3], rng.random((8, 8, 8)) < 0.3])
    m = iou_matrix(tests, train, chunk=3)  # chunks agree with one pass
    for a in range(2):
        for b in range(7):
            inter, union = (tests[a] & train[b]).sum(), (tests[a] | train[b]).sum()
            assert m[a, b] == pytest.approx(inter / union)
    best, which = nearest_iou(tests, train)
    assert best[0] == 1.0 and which[0] == 3 and best[1] == pytest.approx(m[1].max())
    volume, t = mean_shape(np.stack([_box(), _box(), _box(z=(3, 13))]))
    assert 0 < t < 1 and volume[6, 4, 8] and not volume[0, 0, 0]


def test_descriptors_read_ratios_roundness_roof_and_wheels():
    box = descriptors(_box())
    assert box["width_over_length"] == pytest.approx(8 / 14)
    assert box["height_over_length"] == pytest.approx(6 / 14)
    assert box["front_fill"] == 1.0 and box["side_fill"] == 1.0
    assert box["top_0"] == box["top_7"] == pytest.approx(6 / 14)
    r = 32
    c = (np.indices((r, r, r)) + 0.5 - r / 2) / (r / 2)
    ball = descriptors((c ** 2).sum(0) <= 1)
    assert 0.7 < ball["front_fill"] < 0.85 and ball["top_0"] < ball["top_4"]  # rounder, domed
    # a slab on four posts: two contact runs along z, the posts' span across x
    car = np.zeros((16, 16, 16), bool)
    car[2:14, 3:6, 1:15] = True
    for x in (2, 13):
        for z in (3, 11):
            car[x, 0:3, z] = True
    d = descriptors(car)
    assert d["contacts"] == 2 and d["wheelbase"] == pytest.approx(8 / 14)
    assert d["front_overhang"] == pytest.approx(3 / 14) and d["track"] == 1.0
    assert profile_distance(d, d) == 0 and profile_distance(d, ball) > 0.05
    family = [descriptors(_box(z=(1, 15 - k))) for k in range(6)]
    assert shortfalls(descriptors(_box(y=(2, 15))), family, keys=("height_over_length",))[0].startswith(
        "height_over_length 0.93 > p97.5")


def test_coverage_experiment_writes_its_tables(tmp_path, monkeypatch, capsys):
    """The experiment end to end on a few generated cars and tables, with toy 'real' sets in
    place of the Sweet Home 3D and TORCS ones (which need the Debian packages)."""
    from experiments import coverage
    from im2avatar_tf.cli import main

    boxes = {f"real_{k}": _box(r=32, y=(2, 8 + k), z=(1, 31 - k)) for k in range(5)}

    def real_sets(vox, category, seed, torcs_split):
        split = {"real_0": "train", "real_1": "test", "real_2": "test", "real_3": "val",
                 "real_4": "test"}
        out = {"sweethome3d": (boxes, split)}
        if category == "car":
            out["torcs"] = (boxes, {"real_0": "train", "real_1": "test", "real_4": "test"})
            out["torcs-all"] = (boxes, {i: "test" for i in boxes})
        return out

    monkeypatch.setattr(coverage, "real_sets", real_sets)
    argv = ["coverage", "--preset", "small", "--count", "8", "--categories", "car", "table",
            "--cache", str(tmp_path / "cache"), "--results-dir", str(tmp_path / "results"), "--quiet"]
    monkeypatch.setattr("sys.argv", ["run.py"] + argv)  # what the README records
    rc = main(argv)
    assert rc == 0
    out = tmp_path / "results" / "coverage" / "small-8models"  # --count: its own folder
    import pandas as pd

    df = pd.read_csv(out / "results.csv")
    cars = df[df.category == "car"]
    assert set(cars.family) == {"classic", "wide"} and set(df[df.category == "table"].family) == {"-"}
    held = cars[(cars.set == "torcs") & (cars.family == "wide")]
    assert sorted(held.model) == ["real_1", "real_4"]
    assert (held.nn_all_iou >= held.nn_plus_sweethome3d_iou - 1e-9).all()  # a bigger pool
    assert held.n_train_all.iloc[0] == held.n_train_plus_sweethome3d.iloc[0] + 1 == 5 + 1 + 1
    assert cars[cars.set == "torcs-all"].nn_all_iou.isna().all()
    md = (out / "README.md").read_text()
    assert "| car | torcs | wide | 2 |" in md and "## Where the nearest procedural model falls short" in md
    assert "## Cars before and after" in md and "| torcs | 2 |" in md
    assert "python run.py coverage --preset small" in md
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 6  # train and test: classic, wide, table
    own = df[df.set == "procedural-test"]
    assert set(own.category) == {"car", "table"} and (own.nn_procedural_iou > 0).all()
    assert not any(line.startswith("| proc0_") for line in md.splitlines())  # means only
