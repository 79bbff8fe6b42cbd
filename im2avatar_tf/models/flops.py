"""Floating-point operations of a network, counted from its layer shapes (multiply-adds x 2).

Only the convolutions and dense layers are counted (they are > 99 % of the arithmetic;
BatchNorm, activations, the sampler and the losses are memory-bound and not counted):
- Conv2D / Conv3D: 2 * output positions * kernel volume * C_in * C_out;
- Conv3DTranspose: 2 * input positions * kernel volume * C_in * C_out (the useful products;
  what a stride-2 transposed convolution skips is not counted);
- Dense: 2 * C_in * C_out.
A training step is the forward pass plus two products of the same size per layer (the gradient
of the kernel and of the layer's input), except that the layers fed by the image need no input
gradient: training = 3 x forward - forward(first layers).
"""
from __future__ import annotations

import math


def layer_flops(layer) -> float:
    """Forward FLOPs of one layer for one sample (0 for layers not counted)."""
    kind = type(layer).__name__
    if kind in ("Conv2D", "Conv3D", "Conv2DTranspose", "Conv3DTranspose"):
        transposed = kind.endswith("Transpose")
        positions = layer.input.shape[1:-1] if transposed else layer.output.shape[1:-1]
        cin = layer.input.shape[-1]
        return 2.0 * math.prod(positions) * math.prod(layer.kernel_size) * cin * layer.filters
    if kind == "Dense":
        return 2.0 * layer.input.shape[-1] * layer.units
    return 0.0


def _fed_by_input(model, layer) -> bool:
    """Whether `layer` reads one of the model's inputs (the image) directly."""
    try:
        tensors = layer.input
    except (AttributeError, ValueError):
        return False
    tensors = tensors if isinstance(tensors, (list, tuple)) else [tensors]
    return any(t is i for t in tensors for i in model.inputs)


def forward_flops(model) -> float:
    """Forward FLOPs per sample of a Keras functional model."""
    return sum(layer_flops(layer) for layer in model.layers)


def training_flops(model) -> float:
    """FLOPs of one training step per sample (forward + backward; see the module doc)."""
    first = sum(layer_flops(layer) for layer in model.layers if _fed_by_input(model, layer))
    return 3.0 * forward_flops(model) - first
