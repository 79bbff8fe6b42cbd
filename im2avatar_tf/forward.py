"""THE forward pass of the two-network design, shared by inference, export and evaluation:
preprocessed images (N, S, S, 3) -> {"occupancy" (N, R, R, R, 1), and the color network's
`colors.COLOR_KEYS` outputs}, float32.
"""
from __future__ import annotations

import functools
from typing import Callable, Dict

import numpy as np

from .colors import COLOR_KEYS

Forward = Callable[[np.ndarray], Dict[str, np.ndarray]]  # numpy batch in, numpy arrays out


def network_outputs(shape_model, color_model, images) -> dict:
    """THE forward pass: the shape and color networks (inference mode) on preprocessed images
    (N, S, S, 3) -> float32 {"occupancy": sigmoid of the shape logits (N, R, R, R, 1), and the
    color network's COLOR_KEYS outputs}; occupancy only when `color_model` is None. Built of
    Keras ops, so it runs eagerly, in a tf.function, in the SavedModel and on Keras inputs."""
    from keras import ops

    out = {"occupancy": ops.sigmoid(ops.cast(shape_model(images, training=False), "float32"))}
    if color_model is not None:
        color = color_model(images, training=False)
        out.update({key: ops.cast(color[key], "float32") for key in COLOR_KEYS})
    return out


def keras_forward(shape_model, color_model=None) -> Forward:
    """`network_outputs` on numpy batches, traced once per shape; numpy arrays out."""
    import tensorflow as tf

    run = tf.function(functools.partial(network_outputs, shape_model, color_model),
                      reduce_retracing=True)
    return lambda batch: {k: v.numpy() for k, v in run(tf.constant(batch)).items()}
