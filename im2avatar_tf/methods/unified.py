"""The unified network (the paper's ablation): one encoder-decoder for everything, the shape
logits and the color heads sharing the encoder and the decoder trunk; trained on the color
loss plus the shape loss, scored like the two networks (occupancy > 0.8, their colorings)."""
from __future__ import annotations

import numpy as np

from .base import Method


def build_unified_model(cfg):
    """image (B, S, S, 3) -> {"shape": logits (B, R, R, R, 1), and the color heads}."""
    import keras

    from ..models.networks import color_heads, decoder_trunk, encoder, image_input, shape_head

    image = image_input(cfg)
    trunk = decoder_trunk(encoder(image, cfg), cfg)
    outputs = {"shape": shape_head(trunk, cfg, prefix="shape_"), **color_heads(image, trunk, cfg)}
    return keras.Model(image, outputs, name="unified_net")


class UnifiedNetwork(Method):
    name = "unified"
    title = "unified"
    uses_shape_loss = True
    build = staticmethod(build_unified_model)

    def objective(self, cfg):
        from ..losses import color_objective, shape_loss

        color_parts, loss = color_objective(cfg), shape_loss(cfg)

        def objective(batch, out):
            total, parts = color_parts(batch, out)
            parts[cfg.shape_loss] = loss(batch["occupancy"], out["shape"])
            return total + parts[cfg.shape_loss], parts
        return objective

    def loss_parts(self, cfg):
        from ..losses import COLOR_PARTS

        return [*COLOR_PARTS, cfg.shape_loss]

    def predictor(self, model):
        from scipy.special import expit  # no overflow warning on large logits

        from ..colors import pack_color_prediction
        from ..evaluation import Prediction

        def predict(entry, inputs):
            out = model.predict_on_batch(inputs)
            probs = expit(np.asarray(out["shape"], np.float32))
            return Prediction(probs, pack_color_prediction(out))
        return predict


METHOD = UnifiedNetwork()
