"""The Im2Avatar color network (reference 1.3): image -> regressed colors, confidence, flow,
the colors sampled from the image at the flow and their blend. It predicts no occupancy: its
predictor colors the voxels a shape network predicts (`partners`: shape)."""
from __future__ import annotations

from .base import Method


class ColorNetwork(Method):
    name = "color"
    title = "Im2Avatar colors"
    partners = ("shape",)

    def build(self, cfg):
        from ..models.networks import build_color_model

        return build_color_model(cfg)

    def objective(self, cfg):
        from ..losses import color_objective

        return color_objective(cfg)

    def loss_parts(self, cfg):
        from ..losses import COLOR_PARTS

        return list(COLOR_PARTS)

    def predictor(self, model, shape=None):
        """Occupancy from `shape` (a trained shape network), colors from this network."""
        from ..evaluation import network_predictor

        if shape is None:
            raise ValueError("the color network predicts no occupancy: pass shape=<a shape network>")
        return network_predictor(shape, model)


METHOD = ColorNetwork()
