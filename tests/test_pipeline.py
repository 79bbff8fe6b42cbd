"""The training input pipeline on a tiny dataset in the released layout, both through the raw
files and through the compact cache."""
from __future__ import annotations

import itertools
import logging

import numpy as np
import pytest

from im2avatar_tf.data import layout
from im2avatar_tf.data.pipeline import InputPipeline, epoch_plan
from im2avatar_tf.data.samples import load_color, pool_volume
from im2avatar_tf.images import preprocess, read_image
from tests._toy_data import write_toy_dataset, write_toy_human

S, R, B = 32, 16, 4


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return write_toy_dataset(tmp_path_factory.mktemp("toy"), resolution=R)


def open_pipe(root, tmp_path, cache, **kw):
    kw.setdefault("categories", ["car", "chair"])
    return InputPipeline.open(root, "train", image_size=S, resolution=kw.pop("resolution", R),
                              batch_size=B, seed=7, cache=cache, cache_root=tmp_path / "cache",
                              progress=False, **kw)


def batches(pipe, epoch):
    return [{k: v.numpy() for k, v in b.items()} for b in pipe(epoch)]


def expected_sample(root, key, view, resolution=R):
    """The sample read independently of the pipeline: h5 files and PNG."""
    folder, model = key.split("/")
    m = layout.ModelPaths(root / folder / model, "shapenet", R)
    color = load_color(m, resolution)
    from im2avatar_tf.io import read_h5
    flow = pool_volume(read_h5(m.flow(layout.VIEW_NAMES[view])), R // resolution)
    image = preprocess(read_image(m.view(layout.VIEW_NAMES[view])), S).numpy()
    return image, color, flow


@pytest.mark.parametrize("cache", [False, True], ids=["raw", "cache"])
def test_batches_have_the_contracted_shapes_dtypes_and_values(toy, tmp_path, cache):
    pipe = open_pipe(toy, tmp_path, cache)
    got = batches(pipe, epoch=0)
    assert len(got) == 12 // B == pipe.steps_per_epoch
    b = got[0]
    assert b["image"].shape == (B, S, S, 3) and b["image"].dtype == np.float32
    assert b["occupancy"].shape == (B, R, R, R, 1) and b["occupancy"].dtype == np.float32
    assert b["color"].shape == (B, R, R, R, 3) and b["color"].dtype == np.float32
    assert b["flow"].shape == (B, R, R, R, 2) and b["flow"].dtype == np.float32
    assert b["view"].shape == (B,) and b["view"].dtype == np.int32
    assert b["model_id"].shape == (B,) and b["model_id"].dtype == object
    assert set(np.unique(b["occupancy"])) == {0.0, 1.0}
    # Values equal an independent read of the same model and view (float16 in the cache;
    # uint8 images at the model size in the cache).
    vol_tol, img_tol = (5e-4, 0.5 / 255 + 1e-6) if cache else (0, 1e-6)
    for i in range(B):
        image, color, flow = expected_sample(toy, b["model_id"][i].decode(), b["view"][i])
        np.testing.assert_allclose(b["image"][i], image, atol=img_tol)
        np.testing.assert_allclose(b["color"][i], color, atol=vol_tol)
        np.testing.assert_allclose(b["flow"][i], flow, atol=vol_tol)
        np.testing.assert_array_equal(b["occupancy"][i, ..., 0], color[..., 0] > -0.5)


def test_one_random_view_per_model_per_epoch_deterministic_under_seed_and_epoch(toy, tmp_path):
    raw, cached = open_pipe(toy, tmp_path, False), open_pipe(toy, tmp_path, True)

    def plan(pipe, epoch):
        return [(m, v) for b in batches(pipe, epoch) for m, v in zip(b["model_id"], b["view"])]

    e3 = plan(cached, 3)
    assert plan(cached, 3) == e3 == plan(raw, 3)  # replayable, and the same with or without cache
    assert len({m for m, _ in e3}) == len(e3) == 12  # each model once (12 = 3 batches of 4)
    assert plan(cached, 4) != e3
    views = {v for e in range(6) for _, v in plan(cached, e)}
    assert len(views) > 6  # views are drawn across the 12, not fixed


@pytest.mark.parametrize("cache", [False, True], ids=["raw", "cache"])
def test_a_range_of_epochs_is_those_epochs_one_after_the_other(toy, tmp_path, cache):
    """`epochs(start, stop)` (one iterator for a training run) yields exactly the batches of
    `pipe(start)`, ..., `pipe(stop - 1)`, whatever `start` is, so resuming replays an epoch."""
    pipe = open_pipe(toy, tmp_path, cache)
    run = pipe.epochs(2, 5)
    assert int(run.cardinality()) == 3 * pipe.steps_per_epoch
    got = [{k: v.numpy() for k, v in b.items()} for b in run]
    one_by_one = [b for e in (2, 3, 4) for b in batches(pipe, e)]
    assert len(got) == len(one_by_one) == 9
    for a, b in zip(got, one_by_one):
        assert list(a["model_id"]) == list(b["model_id"])
        np.testing.assert_array_equal(a["view"], b["view"])
        np.testing.assert_array_equal(a["color"], b["color"])
        np.testing.assert_array_equal(a["image"], b["image"])


def test_epoch_plan_is_a_permutation_with_views_in_range():
    order, views = epoch_plan(50, epoch=2, seed=1)
    assert sorted(order) == list(range(50))
    assert views.min() >= 0 and views.max() < 12
    again = epoch_plan(50, epoch=2, seed=1)
    np.testing.assert_array_equal(order, again[0])
    assert not np.array_equal(order, epoch_plan(50, epoch=2, seed=2)[0])


def test_volumes_finer_than_the_model_are_pooled(toy, tmp_path):
    # The data is 16^3; a model at 8^3 gets occupancy = any of 2x2x2, color = mean of those.
    pipe = open_pipe(toy, tmp_path, True, resolution=8)
    b = batches(pipe, 0)[0]
    key, view = b["model_id"][0].decode(), int(b["view"][0])
    folder, model = key.split("/")
    m = layout.ModelPaths(toy / folder / model, "shapenet", R)
    from im2avatar_tf.io import read_h5
    fine = read_h5(m.color)
    expected = np.full((8, 8, 8, 3), -1.0)
    for x, y, z in itertools.product(range(8), repeat=3):
        block = fine[2 * x:2 * x + 2, 2 * y:2 * y + 2, 2 * z:2 * z + 2].reshape(-1, 3)
        occupied = block[block[:, 0] > -0.5]
        if len(occupied):
            expected[x, y, z] = occupied.mean(axis=0)
    np.testing.assert_allclose(b["color"][0], expected, atol=5e-4)
    assert b["flow"].shape == (B, 8, 8, 8, 2) and view in range(12)


def test_one_resolution_detection_for_the_loaders_and_check_dataset(toy, tmp_path):
    """The loaders (`source_resolution`) and check-dataset / the contact sheet
    (`detect_resolution`) find the volumes' R alike, in both layouts (a human color file
    names no R)."""
    from im2avatar_tf.data.samples import source_resolution

    human = write_toy_human(tmp_path / "human", resolution=R)
    for models in (layout.read_split(toy, "train", "car"),
                   layout.read_split(human, "train", "human")):
        assert layout.detect_resolution(models) == R
        assert source_resolution(models[0], R) == R
        assert source_resolution(models[0], R // 2) == R  # pooled from the finer files
        with pytest.raises(FileNotFoundError, match="missing volume file"):
            source_resolution(models[0], 2 * R)
    assert layout.detect_resolution([layout.ModelPaths(tmp_path / "none", "shapenet")]) is None


def corrupt_copy(toy, tmp_path):
    """A copy of the toy set with one flow h5 overwritten by junk and one PNG deleted."""
    import shutil
    root = tmp_path / "bad"
    shutil.copytree(toy, root)
    car = layout.read_split(root, "train", "car", R)
    for name in layout.VIEW_NAMES:
        car[0].flow(name).write_bytes(b"not an h5 file")
    car[1].view(layout.VIEW_NAMES[5]).unlink()
    return root, car[0], car[1]


@pytest.mark.parametrize("cache", [False, True], ids=["raw", "cache"])
def test_bad_files_raise_naming_the_file_or_are_skipped(toy, tmp_path, cache, caplog):
    root, junk, missing = corrupt_copy(toy, tmp_path)
    # A missing file is found when the split is listed, before anything is read.
    with pytest.raises(ValueError, match=str(missing.view(layout.VIEW_NAMES[5]))):
        open_pipe(root, tmp_path, cache)
    with caplog.at_level(logging.WARNING):
        pipe = open_pipe(root, tmp_path, cache, skip_bad=True)
        got = batches(pipe, 0)
    seen = {m.decode() for b in got for m in b["model_id"]}
    assert f"02958343/{missing.model_id}" not in seen
    assert f"02958343/{junk.model_id}" not in seen
    assert missing.model_id in caplog.text and junk.model_id in caplog.text
    if cache:  # dropped once, at build time, and recorded
        assert {s["model"] for s in pipe.skipped} == {f"02958343/{junk.model_id}",
                                                     f"02958343/{missing.model_id}"}
        assert len(got) == 10 // B
    else:  # a bad sample is replaced by the next good model's view: epochs keep their batches
        assert len(got) == len(pipe) // B == 11 // B
        run = [b["model_id"] for b in pipe.epochs(0, 3)]
        assert len(run) == 3 * pipe.steps_per_epoch
    assert all(b["image"].shape[0] == B for b in got)


def test_corrupt_file_without_skip_bad_names_the_file(toy, tmp_path):
    root, junk, _ = corrupt_copy(toy, tmp_path)
    layout.write_split(root, "train", "car", [junk.model_id])
    with pytest.raises(ValueError, match=junk.model_id + ".*coor.h5"):
        open_pipe(root, tmp_path, True, categories=["car"])


def test_human_layout_keys_are_unique_across_clothes(tmp_path):
    root = write_toy_human(tmp_path / "human", resolution=R)
    pipe = InputPipeline.open(root, "train", None, S, R, batch_size=3, cache=True,
                              cache_root=tmp_path / "cache", progress=False)
    b = batches(pipe, 0)[0]
    assert sorted(m.decode() for m in b["model_id"]) == [
        "clothes1/mesh1_new", "clothes2/mesh1_new", "clothes2/mesh2_new"]
    assert b["flow"].shape == (3, R, R, R, 2)


def test_two_commands_opening_one_cache_at_once_build_it_once(toy, tmp_path, monkeypatch):
    # Two trainings on the same data (or two workers of one run) start together: the second
    # waits for the first's cache instead of racing it to the same folder.
    import threading
    import time

    from im2avatar_tf.data import cache as cache_module

    builds, real_build = [], cache_module._build

    def slow_build(*args, **kwargs):
        builds.append(threading.get_ident())
        time.sleep(0.5)  # long enough for the other opener to arrive mid-build
        return real_build(*args, **kwargs)

    monkeypatch.setattr(cache_module, "_build", slow_build)
    got, errors = [], []

    def open_one():
        try:
            got.append(batches(open_pipe(toy, tmp_path, True), 0))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=open_one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(builds) == 2  # car and chair, each built once
    for a, b in zip(*got):
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])


def test_two_roots_train_together_and_keep_their_own_test_splits(tmp_path):
    # Procedural + real training models: the training splits of both roots in one pipeline,
    # with keys naming the root; each root's cache is the one it has when read alone.
    from im2avatar_tf.data.pipeline import list_models
    from im2avatar_tf.evaluation import fit_baselines

    a = write_toy_dataset(tmp_path / "procedural", categories=("car",), resolution=R,
                          split_sizes={"train": 5, "test": 2})
    b = write_toy_dataset(tmp_path / "real", categories=("car",), resolution=R, seed=3,
                          split_sizes={"train": 3, "test": 2})
    both = InputPipeline.open([a, b], "train", ["car"], S, R, batch_size=B, seed=7, cache=True,
                              cache_root=tmp_path / "cache", progress=False)
    assert len(both) == 8 and both.steps_per_epoch == 2
    assert sorted(e.key for e in both.entries) == sorted(
        [f"procedural/{e.key}" for e in list_models(a, "train", ["car"], R)[0]]
        + [f"real/{e.key}" for e in list_models(b, "train", ["car"], R)[0]])
    seen = set()
    for batch in batches(both, 0) + batches(both, 1):
        for key, image, view in zip(batch["model_id"], batch["image"], batch["view"]):
            root, folder, model = key.decode().split("/")
            paths = layout.ModelPaths(tmp_path / root / folder / model, "shapenet", R)
            expected = preprocess(read_image(paths.view(layout.VIEW_NAMES[view])), S).numpy()
            np.testing.assert_allclose(image, expected, atol=1 / 255 + 1e-6)
            seen.add(root)
    assert seen == {"procedural", "real"}
    # each root alone reuses its cache (built above) and keys without a prefix
    alone = InputPipeline.open(b, "train", ["car"], S, R, batch_size=3, cache=True,
                               cache_root=tmp_path / "cache", progress=False)
    assert all(not e.key.startswith("real/") for e in alone.entries)
    assert len([p for p in (tmp_path / "cache").glob("*/car-train-*") if p.is_dir()]) == 2
    # the baselines are fitted on what the networks train on: all 8 training models
    assert len(fit_baselines([a, b], ["car"], R).fitted_on) == 8
    with pytest.raises(ValueError, match="different folder names"):
        InputPipeline.open([a, a], "train", ["car"], S, R, batch_size=B, cache=False)
