"""Inference-only copies of the networks: BatchNorm folded into the layer before it, and the
few-output-channel 3D convolutions computed another (faster, equal) way.

In inference mode a BatchNormalization is a per-channel affine map, y = s * x + t with
s = gamma / sqrt(var + eps) and t = beta - mean * s, so `op -> BN` (op a Conv2D, Conv3D,
Conv3DTranspose or Dense, linear, whose output feeds only the BN) is one op with its kernel
scaled by s along the output channels and bias b * s + t. `fold_batchnorm` rebuilds a
functional model with those pairs merged (computed in float64, stored in the kernel's dtype)
and every other layer copied with its weights; the copy's outputs (same structure: a tensor, a
dict) equal the original's `model(x, training=False)` to float rounding. Training keeps the
original model: a folded copy has no batch statistics to learn.

A faster equal layer (used by `fold_batchnorm` unless `fast_layers=False`; timings in
results/benchmarks/README.md): a stride-1 Conv3D with at most `FEW_CHANNELS` outputs (the shape
logits, the color heads) runs at under 10 % of the CPU's peak in oneDNN (a GEMM with N = 1).
`FewChannelConv3D` computes it as one Conv2D over (y, x) with the depth taps as extra output
channels (N = k * filters), then the sum of the k depth slices shifted along z: the same
products, summed in another order (2-2.5x faster at 64^3).
"""
from __future__ import annotations

from collections import Counter

import keras
import numpy as np
from keras import layers, ops


FEW_CHANNELS = 4  # Conv3D with at most this many filters are rewritten (FewChannelConv3D)
FOLDABLE = (layers.Conv2D, layers.Conv3D, layers.Conv3DTranspose, layers.Dense)


@keras.saving.register_keras_serializable(package="im2avatar")
class FewChannelConv3D(layers.Conv3D):
    """A Conv3D (same weights, same config) whose convolution is a Conv2D over (y, x) with the
    depth taps folded into the output channels, then a shifted sum along z. For stride 1,
    dilation 1, one group, channels_last, odd kernel sizes with "same" padding, or "valid"."""

    @staticmethod
    def supports(layer) -> bool:
        return (type(layer) is layers.Conv3D and layer.data_format == "channels_last"
                and tuple(layer.strides) == (1, 1, 1) and tuple(layer.dilation_rate) == (1, 1, 1)
                and layer.groups == 1 and layer.filters <= FEW_CHANNELS
                and (layer.padding == "valid" or all(k % 2 for k in layer.kernel_size)))

    def convolution_op(self, inputs, kernel):
        kd, kh, kw, cin, cout = kernel.shape
        depth, height, width = inputs.shape[1:4]
        if None in (depth, height, width):  # the reshapes below need static sizes
            return super().convolution_op(inputs, kernel)
        # (kd, kh, kw, C, O) -> (kh, kw, C, kd * O): the depth taps become output channels.
        kernel2d = ops.reshape(ops.transpose(kernel, (1, 2, 3, 0, 4)), (kh, kw, cin, kd * cout))
        planes = ops.conv(ops.reshape(inputs, (-1, height, width, cin)), kernel2d,
                          padding=self.padding)  # (B * D, H', W', kd * O)
        h2, w2 = planes.shape[1:3]
        planes = ops.reshape(planes, (-1, depth, h2, w2, kd, cout))
        if self.padding == "valid":  # out[i] = sum_t planes[i + t, t]
            d2 = depth - kd + 1
            return sum(planes[:, t:t + d2, ..., t, :] for t in range(kd))
        half = kd // 2  # "same", odd kd: out[i] = sum_t planes[i + t - half, t] (0 outside)
        out = planes[..., half, :]
        for t in range(kd):
            shift = t - half
            if shift == 0 or abs(shift) >= depth:
                continue
            tap = planes[..., t, :]  # (B, D, H', W', O)
            if shift > 0:  # out[i] += tap[i + shift] for i < D - shift
                part, pad = tap[:, shift:], [0, shift]
            else:  # out[i] += tap[i - |shift|] for i >= |shift|
                part, pad = tap[:, :depth + shift], [-shift, 0]
            out = out + ops.pad(part, [[0, 0], pad, [0, 0], [0, 0], [0, 0]])
        return out


def batchnorm_affine(bn) -> tuple:
    """An inference-mode BatchNormalization as float64 (scale, shift): y = scale * x + shift."""
    mean = np.asarray(bn.moving_mean, np.float64)
    var = np.asarray(bn.moving_variance, np.float64)
    gamma = np.asarray(bn.gamma, np.float64) if bn.scale else np.ones_like(mean)
    beta = np.asarray(bn.beta, np.float64) if bn.center else np.zeros_like(mean)
    scale = gamma / np.sqrt(var + bn.epsilon)
    return scale, beta - mean * scale


def _nodes(model) -> list:
    return [node for nodes in model._nodes_by_depth.values() for node in nodes]


def _channel_axis(bn, rank: int):
    axis = bn.axis if isinstance(bn.axis, int) else (bn.axis[0] if len(bn.axis) == 1 else None)
    return None if axis is None else axis % rank


def foldable_pairs(model) -> dict:
    """id(op) -> the BatchNormalization that folds into op (see the module doc): op a linear
    channels-last Conv2D, Conv3D, Conv3DTranspose or Dense, each called once in `model`, op's
    output read by the BN alone, normalized along its last axis."""
    nodes = _nodes(model)
    calls = Counter(id(node.operation) for node in nodes)
    readers = Counter(id(t) for node in nodes for t in node.input_tensors)
    readers.update(id(t) for t in model.outputs)
    pairs = {}
    for node in nodes:
        bn = node.operation
        if not isinstance(bn, layers.BatchNormalization) or calls[id(bn)] != 1 \
                or len(node.input_tensors) != 1:
            continue
        tensor = node.input_tensors[0]
        op = tensor._keras_history.operation
        if (isinstance(op, FOLDABLE) and calls[id(op)] == 1 and readers[id(tensor)] == 1
                and getattr(op, "data_format", "channels_last") == "channels_last"
                and op.activation in (None, keras.activations.linear)
                and _channel_axis(bn, len(tensor.shape)) == len(tensor.shape) - 1):
            pairs[id(op)] = bn
    return pairs


def _copy(layer, fast_layers: bool, config_changes: dict = None):
    """A new layer of `layer`'s class and config (its weights are set once it is built); with
    `fast_layers`, of the faster equivalent class where there is one."""
    config = {**layer.get_config(), **(config_changes or {})}
    cls = type(layer)
    if fast_layers and FewChannelConv3D.supports(layer):
        cls = FewChannelConv3D
    return cls.from_config(config)


def _folded_weights(op, bn) -> list:
    """[kernel, bias] of `op` with `bn` folded in (float64 arithmetic, the kernel's dtype)."""
    scale, shift = batchnorm_affine(bn)
    kernel = np.asarray(op.kernel)
    dtype = kernel.dtype
    kernel = kernel.astype(np.float64)
    out_axis = -2 if isinstance(op, layers.Conv3DTranspose) else -1  # (..., out, in) vs (..., out)
    shape = [1] * kernel.ndim
    shape[out_axis] = -1
    bias = np.asarray(op.bias, np.float64) if op.use_bias else np.zeros_like(scale)
    return [(kernel * scale.reshape(shape)).astype(dtype), (bias * scale + shift).astype(dtype)]


def is_functional(model) -> bool:
    """Whether `fold_batchnorm` can copy `model` (a functional Keras model)."""
    return isinstance(model, keras.Model) and hasattr(model, "_nodes_by_depth") \
        and not isinstance(model, keras.Sequential)


def fold_batchnorm(model, fast_layers: bool = True):
    """A BN-free functional copy of `model` for inference: see the module doc. With
    `fast_layers`, few-filter stride-1 Conv3D layers become `FewChannelConv3D`. `model` is left unchanged and shares no variable with
    the copy."""
    if not is_functional(model):
        raise TypeError(f"fold_batchnorm takes a functional Keras model, "
                        f"got {type(model).__name__}")
    pairs = foldable_pairs(model)  # id(op) -> its BN
    folded_bns = {id(bn) for bn in pairs.values()}
    new_layers, weights = {}, {}

    def operation_fn(op):
        if id(op) in folded_bns:  # its affine map lives in the op before it now
            return lambda x, **kwargs: x
        if id(op) not in new_layers:
            bn = pairs.get(id(op))
            if bn is not None:
                new_layers[id(op)] = _copy(op, fast_layers, {"use_bias": True})
                weights[id(op)] = _folded_weights(op, bn)
            else:
                new_layers[id(op)] = _copy(op, fast_layers)
                weights[id(op)] = op.get_weights()
        return new_layers[id(op)]

    inputs = [keras.Input(batch_shape=x.shape, dtype=x.dtype, name=x.name) for x in model.inputs]
    outputs = model._run_through_graph(inputs, operation_fn=operation_fn)
    for key, layer in new_layers.items():
        layer.set_weights(weights[key])
    inputs = keras.tree.pack_sequence_as(model._inputs_struct, inputs)
    return keras.Model(inputs, outputs, name=model.name)
