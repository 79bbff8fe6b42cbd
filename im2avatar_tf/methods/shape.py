"""The Im2Avatar shape network (reference 1.2): image -> occupancy logits (B, R, R, R, 1),
trained with MSFCEL (or plain cross-entropy, `LossConfig.shape_loss="bce"`, the ablation).
Scored at probability > 0.8, as released; colors come from the color network's predictor."""
from __future__ import annotations

from .base import Method


class ShapeNetwork(Method):
    name = "shape"
    title = "CVN"
    uses_shape_loss = True

    def build(self, cfg):
        from ..models.networks import build_shape_model

        return build_shape_model(cfg)

    def objective(self, cfg):
        from ..losses import shape_loss

        loss = shape_loss(cfg)

        def objective(batch, out):
            value = loss(batch["occupancy"], out)
            return value, {cfg.shape_loss: value}
        return objective

    def loss_parts(self, cfg):
        return [cfg.shape_loss]

    def predictor(self, model, color=None):
        """Occupancy from this network; colors from `color` (a color network) if given."""
        from ..evaluation import network_predictor

        return network_predictor(model, color)


METHOD = ShapeNetwork()
