"""Building blocks of the Im2Avatar networks.

Every layer of the released code is `op + bias -> BatchNorm -> activation` (output layers
included), Glorot-uniform kernels, zero biases, an L1 penalty on kernels. `ScheduledBatchNorm`
lets the trainer move the BN decay along the released schedule (0.5 -> 0.99) while compiled.
`ImageSampler` and `Blend` are the color network's image-sampling path.
"""
from __future__ import annotations

import contextlib

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="im2avatar")
class ScheduledBatchNorm(layers.BatchNormalization):
    """BatchNormalization whose momentum (the released `decay`) is a non-trainable variable,
    so a training callback can change it without retracing."""

    def build(self, input_shape):
        super().build(input_shape)
        self._decay = self.add_weight(
            shape=(), name="decay", trainable=False, dtype="float32", autocast=False,
            initializer=keras.initializers.Constant(self._momentum_value))

    @property
    def momentum(self):
        decay = getattr(self, "_decay", None)
        return self._momentum_value if decay is None else decay

    @momentum.setter
    def momentum(self, value):
        self._momentum_value = float(value)

    def set_decay(self, value: float) -> None:
        self._decay.assign(value)

    def _moments(self, inputs, mask):
        # Synchronized (set by the trainers under several replicas): the batch statistics of
        # the global batch, in two passes (mean, then the mean squared deviation). Keras'
        # one-pass E[x^2] - E[x]^2 loses digits to cancellation in float32, enough to make a
        # 2-replica run drift from the 1-replica run it should equal.
        import tensorflow as tf

        ctx = tf.distribute.get_replica_context()
        if not self.synchronized or mask is not None or ctx is None:
            return super()._moments(inputs, mask)
        x = tf.cast(inputs, "float32")
        axes = self._reduction_axes
        count = tf.cast(tf.reduce_prod(tf.gather(tf.shape(x), axes)), "float32")
        total, count = ctx.all_reduce("sum", [tf.reduce_sum(x, axes), count])
        mean = total / count
        shape = [1 if i in axes else -1 for i in range(len(x.shape))]
        dev = ctx.all_reduce("sum", tf.reduce_sum(tf.square(x - tf.reshape(mean, shape)), axes))
        return (tf.cast(mean, inputs.dtype), tf.cast(dev / count, inputs.dtype))

    def get_config(self):
        config = super().get_config()
        config["momentum"] = self._momentum_value
        return config


@contextlib.contextmanager
def synchronized_batchnorm(network: keras.Model, enabled: bool = True):
    """Batch statistics over the global batch (all replicas) while training, as the released
    single-GPU code computes them; the saved layers keep `synchronized=False`."""
    layers_ = [l for l in network.layers if isinstance(l, ScheduledBatchNorm)] if enabled else []
    for layer in layers_:
        layer.synchronized = True
    try:
        yield
    finally:
        for layer in layers_:
            layer.synchronized = False


def _conv_kwargs(l1: float) -> dict:
    return dict(
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=keras.regularizers.L1(l1) if l1 else None,
    )


def conv_bn_act(x, op: str, filters: int, kernel, strides, padding: str, activation,
                name: str, l1: float, bn_epsilon: float, bn_decay: float = 0.5,
                batch_norm: bool = True):
    """op in {conv2d, conv3d, deconv3d, dense}; returns activation(BN(op(x) + bias)).

    `activation=None` leaves the BN output linear (the shape logits); `batch_norm=False`
    leaves the BN out (activation(op(x) + bias)), a departure from the release."""
    kw = _conv_kwargs(l1)
    if op == "conv2d":
        x = layers.Conv2D(filters, kernel, strides, padding=padding, name=name, **kw)(x)
    elif op == "conv3d":
        x = layers.Conv3D(filters, kernel, strides, padding=padding, name=name, **kw)(x)
    elif op == "deconv3d":
        x = layers.Conv3DTranspose(filters, kernel, strides, padding=padding, name=name, **kw)(x)
    elif op == "dense":
        x = layers.Dense(filters, name=name, **kw)(x)
    else:
        raise ValueError(f"unknown op {op!r}")
    if batch_norm:
        x = ScheduledBatchNorm(momentum=bn_decay, epsilon=bn_epsilon, name=f"{name}_bn")(x)
    if activation is not None:
        # Heads end in float32 so mixed precision never changes output ranges.
        x = layers.Activation(activation, name=f"{name}_{activation}", dtype="float32"
                              if activation == "sigmoid" else None)(x)
    return x


@keras.saving.register_keras_serializable(package="im2avatar")
class ImageSampler(layers.Layer):
    """Sample the input image at per-voxel normalized flow coordinates.

    image (B, H, W, 3), flow (B, R, R, R, 2) with x = column, y = row in [0, 1]
    -> (B, R, R, R, 3).
    `nearest` (released): pixel (int(y*H), int(x*W)) clipped to the image; the integer cast
    passes no gradient to the flow. `bilinear`: differentiable, pixel centers at (i + 0.5) / W.
    """

    def __init__(self, method: str = "nearest", **kwargs):
        super().__init__(**kwargs)
        if method not in ("nearest", "bilinear"):
            raise ValueError(f"method must be 'nearest' or 'bilinear', got {method!r}")
        self.method = method

    def call(self, image, flow):
        image = ops.cast(image, "float32")
        flow = ops.cast(flow, "float32")
        h, w = image.shape[1], image.shape[2]
        batch = ops.shape(image)[0]
        pixels = ops.reshape(image, (-1, image.shape[3]))  # (B * H * W, 3)
        # each image's first flat pixel index, broadcast over the volume: (B, 1, .., 1)
        first = ops.reshape(ops.arange(batch, dtype="int32") * (h * w),
                            (-1,) + (1,) * (len(flow.shape) - 2))
        x, y = flow[..., 0], flow[..., 1]  # (B, R, R, R)

        def gather(rows, cols):  # int32 (B, R, R, R) -> (B, R, R, R, 3): one gather of pixels
            return ops.take(pixels, first + rows * w + cols, axis=0)

        if self.method == "nearest":
            x, y = ops.stop_gradient(x), ops.stop_gradient(y)
            cols = ops.clip(ops.cast(ops.floor(x * w), "int32"), 0, w - 1)
            rows = ops.clip(ops.cast(ops.floor(y * h), "int32"), 0, h - 1)
            return gather(rows, cols)
        px = ops.clip(x * w - 0.5, 0.0, w - 1.0)
        py = ops.clip(y * h - 0.5, 0.0, h - 1.0)
        x0, y0 = ops.floor(px), ops.floor(py)
        fx, fy = ops.expand_dims(px - x0, -1), ops.expand_dims(py - y0, -1)
        c0 = ops.cast(x0, "int32")
        r0 = ops.cast(y0, "int32")
        c1 = ops.minimum(c0 + 1, w - 1)
        r1 = ops.minimum(r0 + 1, h - 1)
        top = gather(r0, c0) * (1 - fx) + gather(r0, c1) * fx
        bottom = gather(r1, c0) * (1 - fx) + gather(r1, c1) * fx
        return top * (1 - fy) + bottom * fy

    def compute_output_shape(self, image_shape, flow_shape):
        return tuple(flow_shape[:-1]) + (3,)

    def get_config(self):
        return {**super().get_config(), "method": self.method}


@keras.saving.register_keras_serializable(package="im2avatar")
class Blend(layers.Layer):
    """blended = w * regressed + (1 - w) * sampled; w (B, R, R, R, 1) weighs the regressed
    color, each color (B, R, R, R, 3)."""

    def call(self, regressed, sampled, confidence):
        return confidence * regressed + (1.0 - confidence) * sampled

    def compute_output_shape(self, regressed_shape, sampled_shape, confidence_shape):
        return tuple(regressed_shape)
