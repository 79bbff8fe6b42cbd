"""Losses of Im2Avatar (reference section 2) as serializable `keras.losses.Loss` classes.

- `MSFCEL`: mean-squared false cross-entropy, FPE^2 + FNE^2 (shape network).
- `MaskedColorLoss`: L1 (released) or L2 over valid ground-truth elements (> -0.5).
- `shape_loss(cfg)`, `color_objective(cfg)`: what the methods (`methods/`) build their
  objectives from.

Every loss returns one scalar pooled over the whole batch, as the released code does, also
under a tf.distribute strategy: MSFCEL and the masked color losses sum their numerators and
counts over the replicas (one all-reduce in the replica context, `global_sums`) before
dividing, so every replica holds the loss of the whole global batch. Where
the released code divides by zero (no occupied voxel, no valid color or flow), the default
`safe_division=True` divides by max(count, 1), so the term is 0 with finite gradients;
`safe_division=False` restores the released NaN.
"""
from __future__ import annotations

import keras
from keras import ops

from .config import LossConfig


def global_sums(*values):
    """`values` summed over the replicas of the current tf.distribute strategy (one all-reduce
    in the replica context; differentiable: the gradient of an all-sum is an all-sum), or
    unchanged outside one / with one replica. Every replica gets the global sums, so a ratio
    of them is the whole global batch's value on every replica. The trainer divides the loss
    by the number of replicas before the gradients are summed across them, so the update is
    the gradient of that global value."""
    import tensorflow as tf

    if not tf.distribute.has_strategy() or tf.distribute.in_cross_replica_context():
        return values
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return values
    return tuple(ctx.all_reduce(tf.distribute.ReduceOp.SUM, list(values)))


def _divide(total, count, safe: bool):
    return total / (ops.maximum(count, 1.0) if safe else count)


@keras.saving.register_keras_serializable(package="im2avatar")
class MSFCEL(keras.losses.Loss):
    """Mean-squared false cross-entropy loss: L = FPE^2 + FNE^2.

    With per-voxel CE_v = sigmoid cross-entropy(logit_v, y_v): FPE = mean of CE_v over empty
    voxels (y_v = 0), FNE = mean over occupied voxels (y_v = 1). `reduction_mode="batch"` pools
    the means over the whole batch (released; across replicas too, see `global_sums`);
    "sample" averages per-sample losses (over the global batch).

    >>> MSFCEL()(occupancy, logits)   # occupancy (B, R, R, R, 1) in {0, 1}; logits alike
    """

    def __init__(self, reduction_mode: str = "batch", safe_division: bool = True,
                 name: str = "msfcel", **kwargs):
        super().__init__(name=name, **kwargs)
        if reduction_mode not in ("batch", "sample"):
            raise ValueError(f"reduction_mode must be 'batch' or 'sample', got {reduction_mode!r}")
        self.reduction_mode = reduction_mode
        self.safe_division = safe_division

    def call(self, y_true, y_pred):
        y = ops.cast(y_true, "float32")
        logits = ops.cast(y_pred, "float32")
        ce = ops.binary_crossentropy(y, logits, from_logits=True)  # (B, R, R, R, 1)
        if self.reduction_mode == "batch":
            sums = global_sums(ops.sum(ce * (1.0 - y)), ops.sum(1.0 - y), ops.sum(ce * y),
                               ops.sum(y))
            fpe = _divide(sums[0], sums[1], self.safe_division)
            fne = _divide(sums[2], sums[3], self.safe_division)
            return ops.square(fpe) + ops.square(fne)
        axes = tuple(range(1, len(ce.shape)))
        fpe = _divide(ops.sum(ce * (1.0 - y), axis=axes), ops.sum(1.0 - y, axis=axes), self.safe_division)
        fne = _divide(ops.sum(ce * y, axis=axes), ops.sum(y, axis=axes), self.safe_division)
        per_sample = ops.square(fpe) + ops.square(fne)
        total, count = global_sums(ops.sum(per_sample), ops.cast(ops.shape(per_sample)[0], "float32"))
        return total / count

    def get_config(self):
        return {**super().get_config(), "reduction_mode": self.reduction_mode,
                "safe_division": self.safe_division}


@keras.saving.register_keras_serializable(package="im2avatar")
class SigmoidCrossEntropy(keras.losses.Loss):
    """Plain mean sigmoid cross-entropy over all voxels (the paper's ablation baseline)."""

    def __init__(self, name: str = "bce", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        ce = ops.binary_crossentropy(ops.cast(y_true, "float32"), ops.cast(y_pred, "float32"),
                                     from_logits=True)
        return ops.mean(ce)


@keras.saving.register_keras_serializable(package="im2avatar")
class MaskedColorLoss(keras.losses.Loss):
    """sum over M |pred - gt|^p / |M| with M = elements where gt > -0.5 (valid surface voxels;
    empty voxels hold -1). p = 1 ("l1", the released code) or 2 ("l2", the paper's text).

    >>> MaskedColorLoss()(gt_color, regressed)   # (B, R, R, R, 3) each
    """

    def __init__(self, norm: str = "l1", safe_division: bool = True, name: str = "masked_l1",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        if norm not in ("l1", "l2"):
            raise ValueError(f"norm must be 'l1' or 'l2', got {norm!r}")
        self.norm = norm
        self.safe_division = safe_division

    def call(self, y_true, y_pred):
        gt = ops.cast(y_true, "float32")
        pred = ops.cast(y_pred, "float32")
        mask = ops.cast(gt > -0.5, "float32")
        diff = pred - gt
        err = ops.abs(diff) if self.norm == "l1" else ops.square(diff)
        # where() keeps masked-out garbage (e.g. inf) out of the sum and of the gradient.
        err = ops.where(mask > 0, err, ops.zeros_like(err))
        return _divide(*global_sums(ops.sum(err), ops.sum(mask)), self.safe_division)

    def get_config(self):
        return {**super().get_config(), "norm": self.norm, "safe_division": self.safe_division}


def shape_loss(cfg: LossConfig) -> keras.losses.Loss:
    if cfg.shape_loss == "msfcel":
        return MSFCEL(cfg.msfcel_reduction, cfg.safe_division)
    if cfg.shape_loss == "bce":
        return SigmoidCrossEntropy()
    raise ValueError(f"shape_loss must be 'msfcel' or 'bce', got {cfg.shape_loss!r}")


def color_objective(cfg: LossConfig):
    """The color network's loss (reference 2.2): f(batch, outputs) -> (total, {"reg", "blend",
    "flow"}), the masked color loss of the regressed and the blended colors and of the flow,
    weighted by `cfg.color_weights`. batch holds "color" (B, R, R, R, 3) and "flow"
    (B, R, R, R, 2); outputs the color heads' "regressed", "blended" and "flow"."""
    def color_parts(batch, out):
        color = MaskedColorLoss(cfg.color_norm, cfg.safe_division, name="reg")
        flow = MaskedColorLoss(cfg.color_norm, cfg.safe_division, name="flow")
        w_reg, w_blend, w_flow = cfg.color_weights
        parts = {
            "reg": color(batch["color"], out["regressed"]),
            "blend": color(batch["color"], out["blended"]),
            "flow": flow(batch["flow"], out["flow"]),
        }
        total = w_reg * parts["reg"] + w_blend * parts["blend"] + w_flow * parts["flow"]
        return total, parts
    return color_parts


COLOR_PARTS = ["reg", "blend", "flow"]  # the parts `color_objective` returns
