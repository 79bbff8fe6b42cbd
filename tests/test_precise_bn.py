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
