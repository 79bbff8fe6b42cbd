"""PreciseBN (`models.precise_bn`, the claims study's --precise-bn): BatchNorm statistics
recomputed from training batches with the final weights, the weights untouched."""
import keras
import numpy as np
import pytest

from im2avatar_tf import methods
from im2avatar_tf.config import get_preset
from im2avatar_tf.models.layers import ScheduledBatchNorm
from im2avatar_tf.models.precise_bn import (batchnorm_layers, recalibrate_batchnorm,
                                            recalibrated_copy)


@pytest.mark.parametrize("layer", [ScheduledBatchNorm, keras.layers.BatchNormalization])
def test_moving_statistics_become_the_mean_of_the_batch_statistics(layer):
    rng = np.random.default_rng(0)
    inputs = keras.Input((4, 4, 3))
    conv = keras.layers.Conv2D(5, 3, padding="same", name="conv")(inputs)
    outputs = layer(momentum=0.99, epsilon=1e-3, name="bn")(conv)
    net = keras.Model(inputs, outputs)
    pre_bn = keras.Model(inputs, conv)
    batches = [rng.normal(k, 1.0 + k, (8, 4, 4, 3)).astype("float32") for k in range(3)]
    weights = [w.copy() for w in net.get_weights()]

    assert recalibrate_batchnorm(net, batches) == 3

    bn = net.get_layer("bn")
    acts = [pre_bn(b).numpy().reshape(-1, 5) for b in batches]
    np.testing.assert_allclose(bn.moving_mean.numpy(), np.mean([a.mean(0) for a in acts], 0),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), np.mean([a.var(0) for a in acts], 0),
                               rtol=1e-3, atol=1e-5)
    assert float(bn.momentum) == pytest.approx(0.99)  # the released decay is put back
    changed = [i for i, (a, b) in enumerate(zip(weights, net.get_weights())) if not np.array_equal(a, b)]
    names = [w.path for w in net.weights]
    assert {names[i].split("/")[-1] for i in changed} == {"moving_mean", "moving_variance"}


def test_no_batches_is_an_error_that_says_why():
    net = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization()])
    with pytest.raises(ValueError, match="fewer models than one batch"):
        recalibrate_batchnorm(net, [])


def test_recalibrated_copy_of_the_color_network_leaves_the_original_alone():
    preset = get_preset("tiny")
    net = methods.get("color").build(preset.model)
    images = np.random.default_rng(1).uniform(0, 1, (2, 4, 64, 64, 3)).astype("float32")
    before = [bn.moving_mean.numpy().copy() for bn in batchnorm_layers(net)]
    copy = recalibrated_copy(net, list(images))
    assert len(batchnorm_layers(copy)) == len(before) > 10
    for bn, mean in zip(batchnorm_layers(net), before):
        np.testing.assert_array_equal(bn.moving_mean.numpy(), mean)
    moved = [not np.allclose(a.moving_mean.numpy(), b) for a, b in
             zip(batchnorm_layers(copy), before)]
    assert all(moved)
    # same weights: the copy's batch-statistics forward pass equals the original's
    out = net(images[0], training=True)["regressed"].numpy()
    np.testing.assert_allclose(copy(images[0], training=True)["regressed"].numpy(), out,
                               rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_precise_bn_command_copies_a_model_dir_with_recomputed_color_statistics(tmp_path,
                                                                               capsys):
    """`run.py precise-bn`: a new model dir whose color network has the mean batch statistics
    of one epoch of the training split's batches (at the model's batch size), the shape network
    and every weight as they were, the original dir untouched; refusals say why."""
    import json

    from im2avatar_tf import cli
    from im2avatar_tf.data.pipeline import InputPipeline
    from im2avatar_tf.inference import Reconstructor
    from im2avatar_tf.models import build_color_model, build_shape_model, load_network
    from tests._toy_data import write_toy_dataset

    keras.utils.set_random_seed(0)
    preset = get_preset("tiny").replace(data={"categories": ("car",)}, train={"batch_size": 4})
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(preset.to_json())
    build_shape_model(preset.model).save(model / "shape.keras")
    build_color_model(preset.model).save(model / "color.keras")
    (model / "checkpoints").mkdir()  # training's leftovers are not copied
    data = write_toy_dataset(tmp_path / "toy", categories=("car",),
                             split_sizes={"train": 8, "test": 1}, resolution=32)
    original = {f.name: f.read_bytes() for f in model.iterdir() if f.is_file()}
    out = tmp_path / "pbn"

    assert cli.main(["precise-bn", "--model", str(model), "--data", str(data),
                     "--out", str(out)]) == 0

    assert {f.name: f.read_bytes() for f in model.iterdir() if f.is_file()} == original
    assert sorted(p.name for p in out.iterdir()) == ["color.keras", "config.json",
                                                     "precise_bn.json", "shape.keras"]
    assert (out / "config.json").read_bytes() == original["config.json"]
    old_shape, new_shape = load_network(model / "shape.keras"), load_network(out / "shape.keras")
    for a, b in zip(old_shape.get_weights(), new_shape.get_weights()):
        np.testing.assert_array_equal(a, b)  # not asked for: as trained
    old, new = load_network(model / "color.keras"), load_network(out / "color.keras")
    names = [w.path.split("/")[-1] for w in old.weights]
    for name, a, b in zip(names, old.get_weights(), new.get_weights()):
        if name in ("moving_mean", "moving_variance"):
            assert not np.allclose(a, b), name
        else:
            np.testing.assert_array_equal(a, b)
    # exactly the statistics of the training split's epoch-0 batches of 4 (2 batches)
    pipe = InputPipeline.for_preset(preset, data, split="train", progress=False)
    batches = [batch["image"] for batch in pipe(0)]
    assert len(batches) == 2
    recalibrate_batchnorm(old, batches)
    for a, b in zip(old.get_weights(), new.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    sidecar = json.loads((out / "precise_bn.json").read_text())
    assert sidecar["networks"] == ["color"] and sidecar["batch_size"] == 4
    assert sidecar["source"] == str(model.resolve())
    assert sidecar["training_data"] == [str(data.resolve())]
    # a model dir like any other
    photo = np.full((40, 40, 3), 245, np.uint8)
    photo[10:30, 12:28] = (200, 40, 40)
    assert Reconstructor.from_dir(out).predict(photo).occupancy.shape == (32, 32, 32)

    # --networks shape: the shape network's statistics instead, the color network as it was
    assert cli.main(["precise-bn", "--model", str(model), "--data", str(data), "--networks",
                     "shape", "--out", str(tmp_path / "shape-pbn")]) == 0
    assert (tmp_path / "shape-pbn" / "color.keras").read_bytes() == original["color.keras"]
    shape_pbn = load_network(tmp_path / "shape-pbn" / "shape.keras")
    names = [w.path.split("/")[-1] for w in old_shape.weights]
    for name, a, b in zip(names, old_shape.get_weights(), shape_pbn.get_weights()):
        assert np.allclose(a, b) == (name not in ("moving_mean", "moving_variance")), name

    # refusals: each says why, and nothing is written or removed
    def refused(*extra, out=out):
        capsys.readouterr()
        assert cli.main(["precise-bn", "--model", str(model), "--data", str(data),
                         "--out", str(out), *extra]) == 1
        return capsys.readouterr().err

    before = sorted(p.name for p in tmp_path.iterdir())
    err = refused()
    assert "exists" in err and "--overwrite" in err
    for where in (model, tmp_path, model / "pbn"):  # --model itself, above it, inside it
        assert "lies inside it" in refused("--overwrite", out=where)
    (tmp_path / "notes").mkdir()
    assert "not an output of precise-bn" in refused("--overwrite", out=tmp_path / "notes")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before + ["notes"])
    assert {f.name: f.read_bytes() for f in model.iterdir() if f.is_file()} == original

    # --networks shape color on a color-only run dir (as the experiments keep them), copying a
    # copy: the shape is left out, the copy's record kept; --overwrite replaces an earlier output
    color_only = tmp_path / "color-run"
    color_only.mkdir()
    for name in ("config.json", "color.keras"):
        (color_only / name).write_bytes((out / name).read_bytes())
    (color_only / "precise_bn.json").write_text((out / "precise_bn.json").read_text())
    capsys.readouterr()
    assert cli.main(["precise-bn", "--model", str(color_only), "--data", str(data),
                     "--out", str(out), "--overwrite", "--networks", "shape", "color"]) == 0
    assert "shape network: not in" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["color.keras", "config.json",
                                                     "precise_bn.json"]
    again = json.loads((out / "precise_bn.json").read_text())
    assert again["networks"] == ["color"] and again["source_precise_bn"] == sidecar
    (color_only / "color.keras").unlink()
    assert cli.main(["precise-bn", "--model", str(color_only), "--data", str(data),
                     "--out", str(tmp_path / "none")]) == 1
    assert "nothing to recompute" in capsys.readouterr().err
    assert not list(tmp_path.glob(".*.tmp")) and not (tmp_path / "none").exists()


@pytest.mark.slow
def test_bn_probe_scores_the_validation_split_with_three_batchnorm_statistics(tmp_path):
    """`run.py bn-probe` on a color network trained 2 epochs with validation losses: three rows;
    the moving averages' row is the validation loss the training log recorded at the end."""
    import pandas as pd

    from im2avatar_tf import cli
    from tests._toy_data import write_toy_dataset

    data = write_toy_dataset(tmp_path / "toy", categories=("car",),
                             split_sizes={"train": 8, "val": 4, "test": 1}, resolution=32)
    run = tmp_path / "run"
    assert cli.main(["train", "--preset", "tiny", "--data", str(data), "--category", "car",
                     "--network", "color", "--epochs", "2", "--batch-size", "4",
                     "--validate-every", "1", "--no-cache", "--out", str(run)]) == 0
    out = tmp_path / "val_loss.csv"
    assert cli.main(["bn-probe", str(run), "--data", str(data), "--no-cache",
                     "--out", str(out)]) == 0
    rows = pd.read_csv(out)
    assert rows.statistics.tolist() == ["moving averages (released)", "precise BN (not released)",
                                        "each validation batch's own"]
    assert np.isfinite(rows[["val_reg", "val_flow", "val_blend"]].to_numpy()).all()
    logged = pd.read_csv(run / "log_color.csv").iloc[-1]
    for part in ("reg", "flow", "blend"):
        assert rows[f"val_{part}"][0] == pytest.approx(logged[f"val_{part}"], rel=1e-4)
    with pytest.raises(ValueError, match="without validation losses"):
        from im2avatar_tf.runs import bn_statistics_losses

        no_val = write_toy_dataset(tmp_path / "toy2", categories=("car",),
                                   split_sizes={"train": 8, "test": 1}, resolution=32)
        bn_statistics_losses(run, no_val)
