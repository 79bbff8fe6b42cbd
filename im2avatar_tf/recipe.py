"""The released training recipe (reference section 3), the same for both trainers
(`training.train` through `fit`, `distributed.train_multiworker` through its own loop):

- Adam(3e-4, 0.9, 0.999, 1e-8), staircase decay x0.7 every 20,000 samples, floor 1e-5.
- BatchNorm decay min(0.99, 1 - 0.5 * 0.5^floor(samples / 20000)): 0.5, 0.75, ... 0.99.
- One epoch = one random view per model, the remainder dropped (`InputPipeline.epochs`); the
  data of an epoch depend only on (seed, epoch), so resuming at an epoch boundary replays
  exactly what an uninterrupted run would have seen (`run_dataset`).
- Per epoch, one row for the log and TensorBoard (`epoch_row`, `write_scalars`).
"""
from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING, Callable, Optional, Union

import keras
import tensorflow as tf
from keras import ops

from .config import Preset, TrainConfig

if TYPE_CHECKING:
    from .data.pipeline import InputPipeline

DatasetFn = Callable[[int], tf.data.Dataset]  # epoch -> that epoch's batches
EpochData = Union["InputPipeline", DatasetFn]


# --------------------------------------------------------------------------- schedules
@keras.saving.register_keras_serializable(package="im2avatar")
class StaircaseDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr(step) = max(floor, lr0 * rate ^ floor(step * batch / decay_samples))."""

    def __init__(self, initial_learning_rate: float, batch_size: int, decay_rate: float = 0.7,
                 decay_samples: int = 20000, floor: float = 1e-5):
        self.initial_learning_rate = float(initial_learning_rate)
        self.batch_size = int(batch_size)
        self.decay_rate = float(decay_rate)
        self.decay_samples = int(decay_samples)
        self.floor = float(floor)

    def __call__(self, step):
        samples = ops.cast(step, "float32") * self.batch_size
        exponent = ops.floor(samples / self.decay_samples)
        lr = self.initial_learning_rate * ops.power(self.decay_rate, exponent)
        return ops.maximum(lr, self.floor)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "batch_size": self.batch_size,
                "decay_rate": self.decay_rate, "decay_samples": self.decay_samples,
                "floor": self.floor}


def bn_decay(samples: int, cfg: TrainConfig) -> float:
    """Released BN decay: min(max, 1 - (1 - start) * 0.5^floor(samples / decay_samples))."""
    k = samples // cfg.lr_decay_samples
    return min(cfg.bn_decay_max, 1.0 - (1.0 - cfg.bn_decay_start) * 0.5 ** k)


def learning_rate(samples: int, cfg: TrainConfig) -> float:
    """The staircase learning rate after `samples` training samples (for logs and tests)."""
    return max(cfg.lr_floor, cfg.learning_rate * cfg.lr_decay ** (samples // cfg.lr_decay_samples))


def make_optimizer(cfg: TrainConfig) -> keras.optimizers.Optimizer:
    schedule = StaircaseDecay(cfg.learning_rate, cfg.batch_size, cfg.lr_decay,
                              cfg.lr_decay_samples, cfg.lr_floor)
    return keras.optimizers.Adam(schedule, beta_1=0.9, beta_2=0.999, epsilon=1e-8)


@contextlib.contextmanager
def precision_policy(name: Optional[str]):
    """Set Keras' global dtype policy for the block (e.g. mixed_bfloat16), then restore it."""
    previous = keras.config.dtype_policy()
    if name:
        keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def check_schedule(cfg: TrainConfig) -> None:
    if cfg.epochs < 1 or cfg.batch_size < 1:
        raise ValueError(f"epochs and batch size must be at least 1, got epochs={cfg.epochs}, "
                         f"batch_size={cfg.batch_size}")


def validation_epochs(cfg: TrainConfig) -> list:
    """The (1-based) epochs after which the validation loss is computed: every
    `validate_every`-th and the last."""
    return sorted(set(range(cfg.validate_every, cfg.epochs + 1, cfg.validate_every))
                  | {cfg.epochs})


# --------------------------------------------------------------------------- the epochs' data
def run_dataset(data: EpochData, start: int, stop: int) -> tf.data.Dataset:
    """The batches of epochs [start, stop) as one dataset: `data.epochs(start, stop)` for the
    input pipeline, else `data(start)`, ..., `data(stop - 1)` chained. String entries (the
    pipeline's "model_id") are dropped: training does not use them, and Keras cannot average
    them across replicas when it builds a distributed model."""
    from .data.pipeline import InputPipeline

    if isinstance(data, InputPipeline):
        ds = data.epochs(start, stop)
    else:
        ds = data(start)
        for epoch in range(start + 1, stop):
            ds = ds.concatenate(data(epoch))
    spec = ds.element_spec
    if isinstance(spec, dict) and any(v.dtype == tf.string for v in spec.values()):
        ds = ds.map(lambda b: {k: v for k, v in b.items() if v.dtype != tf.string})
    return ds


def epoch_steps(data: EpochData, epoch: int, steps: Optional[int]) -> int:
    """Batches per epoch. Every epoch must yield exactly that many: the run is one iterator,
    so a shorter epoch would shift every later epoch's boundary."""
    from .data.pipeline import InputPipeline

    if isinstance(data, InputPipeline):
        if steps is not None and steps != data.steps_per_epoch:
            raise ValueError(f"steps_per_epoch={steps}, but the pipeline's epochs have "
                             f"{data.steps_per_epoch} batches; leave it out")
        return data.steps_per_epoch
    if steps is None:
        steps = int(data(epoch).cardinality())
    if steps <= 0:
        raise ValueError("the number of batches per epoch is unknown (the dataset's "
                         "cardinality is not finite): pass steps_per_epoch, with every "
                         "epoch's dataset yielding exactly that many batches")
    return steps


def with_steps_resolved(preset: Preset, data: EpochData,
                        steps_per_epoch: Optional[int] = None) -> Preset:
    """The preset with a step schedule (`train.steps`) turned into the whole epochs of `data`
    that reach it; unchanged when the schedule is in epochs. The run dir's config.json holds
    both, so a resume on other data (another epoch length) is refused."""
    if preset.train.steps is None:
        return preset
    epochs = preset.train.epochs_for(epoch_steps(data, 0, steps_per_epoch))
    return preset.replace(train={"epochs": epochs})


# --------------------------------------------------------------------------- an epoch's record
def epoch_row(epoch: int, samples: int, losses: dict, cfg: TrainConfig, seconds: float) -> dict:
    """The log row of (1-based) `epoch`, refused when a training loss is not finite:
    epoch, samples, the losses (val_* included), learning_rate, bn_decay, seconds."""
    if not all(math.isfinite(v) for k, v in losses.items() if not k.startswith("val_")):
        raise FloatingPointError(f"non-finite loss at epoch {epoch}: {losses}")
    return {"epoch": epoch, "samples": samples, **losses,
            "learning_rate": learning_rate(samples, cfg), "bn_decay": bn_decay(samples, cfg),
            "seconds": round(seconds, 3)}


def write_scalars(writer, row: dict) -> None:
    """A log row as TensorBoard scalars at step `row["epoch"]` (empty cells left out)."""
    with writer.as_default(step=row["epoch"]):
        for k, v in row.items():
            if k != "epoch" and v != "":
                tf.summary.scalar(k, v)
