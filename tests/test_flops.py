"""FLOP counts from layer shapes (models/flops.py), checked against hand-computed layers."""
import keras
import pytest

from im2avatar_tf import methods
from im2avatar_tf.config import get_preset
from im2avatar_tf.models.flops import forward_flops, layer_flops, training_flops


def test_layer_counts_by_hand():
    image = keras.Input((8, 8, 3))
    a = keras.layers.Conv2D(4, 3, strides=2, padding="same")(image)  # (4, 4, 4)
    b = keras.layers.Flatten()(a)
    c = keras.layers.Dense(32)(b)
    d = keras.layers.Reshape((2, 2, 2, 4))(c)
    e = keras.layers.Conv3DTranspose(5, 3, strides=2, padding="same")(d)  # (4, 4, 4, 5)
    f = keras.layers.Conv3D(1, 3, padding="same")(e)
    model = keras.Model(image, f)
    conv2d, dense, deconv, conv3d = (model.layers[i] for i in (1, 3, 5, 6))
    assert layer_flops(conv2d) == 2 * 16 * 9 * 3 * 4  # output positions x kernel x Cin x Cout
    assert layer_flops(dense) == 2 * 64 * 32
    assert layer_flops(deconv) == 2 * 8 * 27 * 4 * 5  # input positions for a transposed conv
    assert layer_flops(conv3d) == 2 * 64 * 27 * 5 * 1
    total = layer_flops(conv2d) + layer_flops(dense) + layer_flops(deconv) + layer_flops(conv3d)
    assert forward_flops(model) == total
    assert training_flops(model) == 3 * total - layer_flops(conv2d)  # no input gradient


@pytest.mark.parametrize("network", ["shape", "color"])
def test_paper_networks_training_is_about_three_forward_passes(network):
    model = methods.get(network).build(get_preset("paper").model)
    fwd = forward_flops(model)
    assert 2.0e9 < fwd < 4.0e9  # 2.44 (shape) and 3.58 (color) GFLOP per 128 px image
    assert 2.9 * fwd < training_flops(model) < 3 * fwd
