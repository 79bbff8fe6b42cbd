"""The adapted single-view 3D-R2N2 baseline (the paper's Tables 1-3), all of it: its network,
its loss, how its volume is read as occupancy and colors, and its threshold.

Network: image -> one linear (B, R, R, R, 3) volume that holds the RGB color on surface voxels
and -0.5 on empty ones, trained with L2 on all voxels. Same encoder and decoder sizes as the
shape network, 3 output channels.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from .base import Method

R2N2_EMPTY = -0.5  # the target on empty voxels
R2N2_THRESHOLD = 0.5  # its own decision boundary on `r2n2_prediction`'s score


def build_r2n2_model(cfg) -> keras.Model:
    """image (B, S, S, 3) -> volume (B, R, R, R, 3)."""
    from ..models.networks import conv_block, decoder_trunk, encoder, image_input, last_stage_index

    image = image_input(cfg)
    block, n = conv_block(cfg), last_stage_index(cfg)
    x = block(decoder_trunk(encoder(image, cfg), cfg), "deconv3d", cfg.decoder.shape_channels,
              3, 2, "same", "elu", f"deconv{n}")
    volume = block(x, "conv3d", 3, 3, 1, "same", None, "volume")  # (B, R, R, R, 3)
    return keras.Model(image, volume, name="r2n2_net")


@keras.saving.register_keras_serializable(package="im2avatar")
class R2N2VolumeLoss(keras.losses.Loss):
    """Adapted 3D-R2N2 objective: mean squared error over ALL voxels between the predicted
    3-channel volume and the target (RGB on surface voxels, -0.5 on empty ones)."""

    def __init__(self, name: str = "r2n2_l2", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        return ops.mean(ops.square(ops.cast(y_pred, "float32") - ops.cast(y_true, "float32")))


def r2n2_target(color):
    """GT color volume (B, R, R, R, 3) with -1 on empty voxels -> the R2N2 target, -0.5 there."""
    return ops.where(color > -0.5, color, ops.full_like(color, R2N2_EMPTY))


def r2n2_prediction(volume: np.ndarray):
    """Decode the adapted 3D-R2N2 volume (V, R, R, R, 3): its target is the RGB color in [0, 1]
    on surface voxels and -0.5 on empty ones. Occupancy score = clip(2 (mean_c + 0.5), 0, 1),
    0 at the empty target and 1 from the darkest color up, so the natural decision boundary
    (mean -0.25, halfway between empty and black) is score 0.5 (`R2N2_THRESHOLD`). Colors are
    the volume clipped to [0, 1]."""
    from ..evaluation import Prediction

    volume = np.asarray(volume, np.float32)
    score = np.clip(2.0 * (volume.mean(axis=-1) + 0.5), 0.0, 1.0)
    return Prediction(score, colors=np.clip(volume, 0.0, 1.0))


class AdaptedR2N2(Method):
    name = "r2n2"
    title = "adapted 3D-R2N2"
    threshold = R2N2_THRESHOLD
    psnr_threshold = R2N2_THRESHOLD

    def build(self, cfg):
        return build_r2n2_model(cfg)

    def objective(self, cfg):
        loss = R2N2VolumeLoss()

        def objective(batch, out):
            value = loss(r2n2_target(batch["color"]), out)
            return value, {"l2": value}
        return objective

    def loss_parts(self, cfg):
        return ["l2"]

    def predictor(self, model):
        def predict(entry, inputs):
            return r2n2_prediction(model.predict_on_batch(inputs))
        return predict


METHOD = AdaptedR2N2()
