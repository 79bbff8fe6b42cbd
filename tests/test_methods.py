"""The method registry and the layouts: every method through the one interface (build, one
objective, one prediction scored by the evaluation), the layouts' paths and discovery, and the
one function that applies a command's preset overrides."""
from __future__ import annotations

import argparse

import numpy as np
import pytest

from im2avatar_tf import methods
from im2avatar_tf.config import get_preset
from im2avatar_tf.data import layout
from tests._toy_data import write_toy_dataset, write_toy_human


def test_registry_lists_every_method_module():
    assert methods.names() == ["color", "r2n2", "shape", "unified"]
    assert all(methods.get(n).name == n for n in methods.names())
    with pytest.raises(ValueError, match="unknown network 'nope'"):
        methods.get("nope")


@pytest.mark.parametrize("name", methods.names())
def test_every_method_builds_trains_on_its_objective_and_predicts(name):
    """One batch through the network and its objective (the parts it names, finite), then its
    predictor gives the evaluation a Prediction of the test model's V views."""
    import keras

    from im2avatar_tf.evaluation import GroundTruth, Prediction, score_model

    preset = get_preset("tiny")
    method = methods.get(name)
    keras.utils.set_random_seed(0)
    net = method.build(preset.model)
    r, s = preset.model.volume_size, preset.model.image_size
    rng = np.random.default_rng(0)
    occ = (rng.random((2, r, r, r, 1)) < 0.05).astype(np.float32)
    batch = {"image": rng.random((2, s, s, 3)).astype(np.float32), "occupancy": occ,
             "color": np.where(occ > 0, rng.random((2, r, r, r, 3)), -1).astype(np.float32),
             "flow": np.where(occ > 0, rng.random((2, r, r, r, 2)), -1).astype(np.float32)}
    total, parts = method.objective(preset.loss)(batch, net(batch["image"], training=True))
    assert sorted(parts) == sorted(method.loss_parts(preset.loss))
    assert np.isfinite(float(total))

    partners = {p: methods.get(p).build(preset.model) for p in method.partners}
    pred = method.predictor(net, **partners)(None, batch["image"])
    assert isinstance(pred, Prediction) and pred.probs.shape == (2, r, r, r)
    gt = GroundTruth.from_color(batch["color"][0])
    rows = score_model(gt, pred, batch["image"], view_names=("a", "b"),
                       iou_thresholds=(method.threshold,), psnr_threshold=method.psnr_threshold)
    assert {row["metric"] for row in rows} >= {"iou"}


def test_run_dir_names_the_method_variant(tmp_path):
    from im2avatar_tf.runs import run_dir

    preset = get_preset("tiny")
    shape = run_dir(tmp_path / "runs", preset, tmp_path / "toy", "shape", "car", "bce")
    color = run_dir(tmp_path / "runs", preset, tmp_path / "toy", "color", "car")
    assert shape.name.startswith("shape-bce-") and color.name.startswith("color-")
    assert shape.parent == color.parent and shape.parent.name == "car"


def test_layouts_own_paths_splits_and_categories(tmp_path):
    shapenet = write_toy_dataset(tmp_path / "s", categories=("car", "chair"),
                                 split_sizes={"train": 1, "test": 1})
    human = write_toy_human(tmp_path / "h")
    assert layout.layout_of(shapenet) is layout.SHAPENET
    assert layout.layout_of(human) is layout.HUMAN
    assert layout.SHAPENET.categories(shapenet) == ["car", "chair"]
    assert layout.HUMAN.categories(human) == ["human"]
    assert layout.layout_for("human") is layout.HUMAN and layout.layout_for("car") is layout.SHAPENET
    m = layout.HUMAN.read_split(human, "train", "human", 16)[0]
    assert (m.root.parent.name, m.model_id) == ("clothes1", "mesh1_new")
    assert m.color == m.root / "mesh1_new.h5" and m.has_volumes
    assert layout.HUMAN.entry("mesh1_new", "clothes1") == "clothes1 mesh1_new"
    c = layout.SHAPENET.read_split(shapenet, "test", "car", 16)[0]
    assert c.color == c.root / "models" / "model_normalized_16.h5" and c.has_volumes
    assert layout.HUMAN.resolve_categories(["car"]) == ("human",)
    with pytest.raises(ValueError, match="no categories"):
        layout.SHAPENET.resolve_categories(None)


def test_preset_from_args_applies_every_override_and_the_old_category_spelling():
    from im2avatar_tf.commands import train
    from im2avatar_tf.commands.options import preset_from_args

    parser = argparse.ArgumentParser()
    train.add_arguments(parser)
    args = parser.parse_args(["--preset", "tiny", "--category", "car", "--category", "chair",
                              "--epochs", "3", "--batch-size", "4", "--shape-loss", "bce",
                              "--sampler", "bilinear"])
    preset = preset_from_args(args)
    assert preset.data.categories == ("car", "chair")
    assert (preset.train.epochs, preset.train.batch_size) == (3, 4)
    assert preset.loss.shape_loss == "bce" and preset.model.decoder.sampler == "bilinear"
    same = preset_from_args(parser.parse_args(["--preset", "tiny", "--categories", "car",
                                               "chair", "--epochs", "3", "--batch-size", "4",
                                               "--shape-loss", "bce", "--sampler", "bilinear"]))
    assert same == preset
    assert preset_from_args(parser.parse_args(["--preset", "tiny"])) == get_preset("tiny")
