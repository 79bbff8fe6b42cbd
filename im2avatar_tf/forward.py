"""THE forward pass of the two-network design, shared by inference, export and evaluation:
preprocessed images (N, S, S, 3) -> {"occupancy" (N, R, R, R, 1), and the color network's
`colors.COLOR_KEYS` outputs}, float32.

`fold=True` (`inference_models`) runs it on inference copies of the networks instead: BatchNorm
folded into the layers before it and faster equal layers (`models.folding`): the same outputs
to float rounding, about 1.5x faster at the paper size on a CPU.
"""
from __future__ import annotations

import functools
from typing import Callable, Dict

import numpy as np

from .colors import COLOR_KEYS

Forward = Callable[[np.ndarray], Dict[str, np.ndarray]]  # numpy batch in, numpy arrays out
NETWORKS = ("shape", "color")  # the two networks of the design, in training order


def network_outputs(shape_model, color_model, images) -> dict:
    """THE forward pass: the shape and color networks (inference mode) on preprocessed images
    (N, S, S, 3) -> float32 {"occupancy": sigmoid of the shape logits (N, R, R, R, 1), and the
    color network's COLOR_KEYS outputs}; occupancy only when `color_model` is None, colors
    only when `shape_model` is. Built of Keras ops, so it runs eagerly, in a tf.function, in
    the SavedModel and on Keras inputs."""
    from keras import ops

    out = {}
    if shape_model is not None:
        out["occupancy"] = ops.sigmoid(ops.cast(shape_model(images, training=False), "float32"))
    if color_model is not None:
        color = color_model(images, training=False)
        out.update({key: ops.cast(color[key], "float32") for key in COLOR_KEYS})
    return out


def inference_models(shape_model, color_model=None, fold: bool = True) -> tuple:
    """(shape, color) models for `network_outputs`: with `fold`, their BN-folded copies
    (`models.folding.fold_batchnorm`, for functional models; others are kept as they are),
    else the models themselves. None stays None."""
    if not fold:
        return shape_model, color_model
    from .models.folding import fold_batchnorm, is_functional

    return tuple(fold_batchnorm(m) if m is not None and is_functional(m) else m
                 for m in (shape_model, color_model))


def keras_forward(shape_model, color_model=None, fold: bool = False) -> Forward:
    """`network_outputs` on numpy batches, traced once per shape; numpy arrays out. `fold`: on
    the BN-folded inference copies (`inference_models`), faster, equal to float rounding."""
    import tensorflow as tf

    shape_model, color_model = inference_models(shape_model, color_model, fold)
    run = tf.function(functools.partial(network_outputs, shape_model, color_model),
                      reduce_retracing=True)
    return lambda batch: {k: v.numpy() for k, v in run(tf.constant(batch)).items()}
