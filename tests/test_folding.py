"""`models.folding`: the BN-folded inference copies of the networks give the networks'
inference outputs to float rounding (BN statistics and gamma/beta set to random, non-trivial
values, else folding would be trivially exact), at the tiny and the paper sizes; so do the
faster equal layers alone, and the exported SavedModel and `.keras` file of folded networks."""
import numpy as np
import pytest

from im2avatar_tf.config import get_preset

RTOL = 1e-4  # max |folded - original| <= RTOL * max(|original|, 1): float32 rounding (paper: 3e-6)


def randomize_batchnorm(model, seed: int) -> None:
    """Moving statistics and gamma/beta of every BN set to random values (in place)."""
    from keras import layers

    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.gamma.assign(rng.uniform(0.5, 1.5, n))
            layer.beta.assign(rng.normal(0.0, 0.3, n))
            layer.moving_mean.assign(rng.normal(0.0, 0.5, n))
            layer.moving_variance.assign(rng.uniform(0.3, 2.0, n))


def networks(preset_name: str, seed: int = 0):
    import keras

    from im2avatar_tf.models import build_color_model, build_shape_model

    keras.utils.set_random_seed(seed)
    cfg = get_preset(preset_name).model
    shape, color = build_shape_model(cfg), build_color_model(cfg)
    randomize_batchnorm(shape, seed + 1)
    randomize_batchnorm(color, seed + 2)
    return cfg, shape, color


def assert_close(actual, expected, what: str) -> float:
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, what
    scale = float(np.abs(expected).max())
    diff = float(np.abs(actual - expected).max())
    assert diff <= RTOL * max(scale, 1.0), f"{what}: max |diff| {diff:.2e} at scale {scale:.2e}"
    return diff


def on_pixel_edge(flow_a, flow_b, image_size: int) -> np.ndarray:
    """(..., ) voxels whose two flows, at a pixel edge, differ: the nearest sampler may take
    neighbouring pixels there (see test_export.assert_outputs_match)."""
    scaled = np.asarray(flow_b) * image_size
    near = np.abs(scaled - np.round(scaled)) < 1e-4
    return (near & (np.asarray(flow_a) != np.asarray(flow_b))).any(axis=-1)


def assert_color_outputs_close(actual: dict, expected: dict, image_size: int) -> None:
    assert set(actual) == set(expected)
    edge = on_pixel_edge(actual["flow"], expected["flow"], image_size)
    assert edge.mean() < 1e-3
    for key in expected:
        a, e = np.asarray(actual[key]), np.asarray(expected[key])
        if key in ("sampled", "blended"):
            a, e = a[~edge], e[~edge]
        assert_close(a, e, key)


@pytest.mark.parametrize("preset_name", ["tiny", "paper"])
def test_folded_networks_give_the_inference_outputs(preset_name):
    from keras import layers

    from im2avatar_tf.models.folding import FewChannelConv3D, fold_batchnorm

    cfg, shape, color = networks(preset_name)
    images = np.random.default_rng(3).uniform(0, 1, (2, cfg.image_size, cfg.image_size, 3))
    images = images.astype(np.float32)
    folded_shape, folded_color = fold_batchnorm(shape), fold_batchnorm(color)
    for folded in (folded_shape, folded_color):
        kinds = [type(layer) for layer in folded.layers]
        assert not any(issubclass(k, layers.BatchNormalization) for k in kinds)
        assert FewChannelConv3D in kinds
    # The originals are untouched (they still train with their BN).
    assert sum(isinstance(layer, layers.BatchNormalization) for layer in shape.layers) > 10

    logits = shape(images, training=False)
    assert np.abs(np.asarray(logits)).max() > 1.0  # non-trivial scale
    assert_close(folded_shape(images, training=False), logits, "shape logits")
    assert_color_outputs_close(folded_color(images, training=False),
                               color(images, training=False), cfg.image_size)


def test_folding_without_the_fast_layers_is_plain_keras_layers():
    from keras import layers

    from im2avatar_tf.models.folding import fold_batchnorm

    cfg, shape, color = networks("tiny", seed=5)
    images = np.random.default_rng(6).uniform(0, 1, (1, cfg.image_size, cfg.image_size, 3))
    plain = fold_batchnorm(color, fast_layers=False)
    kinds = {type(layer).__module__.split(".")[0] for layer in plain.layers
             if not isinstance(layer, layers.Activation)}
    assert kinds <= {"keras", "im2avatar_tf"}
    assert {type(layer).__name__ for layer in plain.layers} >= {"Conv3D", "ImageSampler"}
    assert_color_outputs_close(plain(images, training=False), color(images, training=False),
                               cfg.image_size)


@pytest.mark.parametrize("padding,kernel,filters", [("same", 3, 1), ("same", (3, 1, 5), 3),
                                                     ("valid", 3, 2), ("same", 5, 4)])
def test_few_channel_conv3d_equals_conv3d(padding, kernel, filters):
    import keras

    from im2avatar_tf.models.folding import FewChannelConv3D

    x = np.random.default_rng(0).normal(size=(2, 9, 8, 7, 5)).astype(np.float32)
    reference = keras.layers.Conv3D(filters, kernel, padding=padding,
                                    bias_initializer="glorot_uniform")
    expected = reference(x)
    fast = FewChannelConv3D.from_config(reference.get_config())
    fast.build(x.shape)
    fast.set_weights(reference.get_weights())
    assert FewChannelConv3D.supports(reference)
    assert_close(fast(x), expected, f"{padding} {kernel} {filters}")


def test_batchnorm_that_cannot_fold_is_kept():
    """A conv whose output is read by its BN and by another layer keeps its BN."""
    import keras
    from keras import layers

    from im2avatar_tf.models.folding import fold_batchnorm

    image = keras.Input((8, 8, 3))
    conv = layers.Conv2D(4, 3, padding="same", use_bias=False)(image)
    normed = layers.BatchNormalization()(conv)
    dense = layers.Dense(5, use_bias=False)(layers.Flatten()(layers.Add()([conv, normed])))
    model = keras.Model(image, {"out": layers.BatchNormalization()(dense)})
    randomize_batchnorm(model, 0)
    folded = fold_batchnorm(model)
    assert sum(isinstance(layer, layers.BatchNormalization) for layer in folded.layers) == 1
    x = np.random.default_rng(1).uniform(0, 1, (3, 8, 8, 3)).astype(np.float32)
    out = folded(x, training=False)
    assert set(out) == {"out"}
    assert_close(out["out"], model(x, training=False)["out"], "out")


@pytest.mark.slow
def test_export_and_keras_forward_of_folded_networks_match(tmp_path):
    """The SavedModel and the `.keras` file are written from the folded copies by default;
    both, and `keras_forward(fold=True)`, match the networks' own forward pass."""
    import keras
    import tensorflow as tf

    from im2avatar_tf.export import combined_model, write_saved_model
    from im2avatar_tf.forward import keras_forward

    cfg, shape, color = networks("tiny", seed=7)
    preset = get_preset("tiny")
    images = np.random.default_rng(8).uniform(0, 1, (2, cfg.image_size, cfg.image_size, 3))
    images = images.astype(np.float32)
    expected = keras_forward(shape, color, fold=False)(images)

    write_saved_model(preset, shape, color, tmp_path / "saved_model")
    loaded = tf.saved_model.load(str(tmp_path / "saved_model"))
    served = {k: v.numpy() for k, v in
              loaded.signatures["from_preprocessed"](images=tf.constant(images)).items()}
    served.pop("image")
    combined = combined_model(preset, shape, color)
    assert not any(isinstance(layer, keras.layers.BatchNormalization)
                   for model in combined.layers if isinstance(model, keras.Model)
                   for layer in model.layers)
    combined.save(tmp_path / "combined.keras")
    reloaded = keras.saving.load_model(tmp_path / "combined.keras", compile=False)
    for actual in (served, {k: np.asarray(v) for k, v in reloaded(images).items()},
                   keras_forward(shape, color, fold=True)(images)):
        assert_color_outputs_close(actual, expected, cfg.image_size)


def test_reconstructor_folds_by_default_and_fold_false_runs_the_networks_as_they_are():
    from im2avatar_tf.forward import keras_forward
    from im2avatar_tf.inference import Reconstructor

    cfg, shape, color = networks("tiny", seed=9)
    preset = get_preset("tiny")
    images = np.random.default_rng(10).uniform(0, 1, (1, cfg.image_size, cfg.image_size, 3))
    images = images.astype(np.float32)
    as_trained = keras_forward(shape, color, fold=False)(images)
    unfolded = Reconstructor.from_models(preset, shape, color, fold=False).forward(images)
    for key, value in as_trained.items():
        np.testing.assert_array_equal(unfolded[key], value, err_msg=key)
    folded = Reconstructor.from_models(preset, shape, color).forward(images)
    assert any(not np.array_equal(folded[key], value) for key, value in as_trained.items())
    assert_color_outputs_close({k: v for k, v in folded.items() if k != "occupancy"},
                               {k: v for k, v in as_trained.items() if k != "occupancy"},
                               cfg.image_size)
    assert_close(folded["occupancy"], as_trained["occupancy"], "occupancy")
