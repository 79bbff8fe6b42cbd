"""Training of one network with `fit`: resumable, distributable over the devices of one machine.

- The released recipe (`recipe`): Adam with the staircase decay, the BN decay schedule, one
  random view per model and epoch, the data of an epoch a function of (seed, epoch), so
  resuming at an epoch boundary replays exactly what an uninterrupted run would have seen.
- The run dir and its lifecycle (`rundir`): config.json, run.json, `<network>.keras`,
  checkpoints/, log_<network>.csv, tensorboard/, a lock against a second process.
- Checkpoints (network weights + optimizer state + epoch) every `checkpoint_every` epochs, at
  the end, and at the end of any epoch `checkpoint_minutes` after the last one (`CheckpointClock`);
  `resume=True` continues from the newest one.
- One `fit` call over one dataset for the remaining epochs (`run_dataset`); per-epoch logging
  and checkpoints are callbacks. Several machines: `distributed.train_multiworker`.
"""
from __future__ import annotations

import gc
import os
import sys
import time
from typing import Optional, Sequence

import keras
import tensorflow as tf
from keras import ops

from . import methods
from .config import Preset, TrainConfig
from .models import load_network
from .models.layers import ScheduledBatchNorm, synchronized_batchnorm
from .recipe import (EpochData, bn_decay, check_schedule, epoch_row, epoch_steps,
                     make_optimizer, precision_policy, run_dataset, validation_epochs,
                     with_steps_resolved, write_scalars)
from .rundir import CheckpointClock, RunDir, restore_checkpoint


# --------------------------------------------------------------------------- the trainer model
class NetworkTrainer(keras.Model):
    """Wraps one network for `fit`: feeds it `batch["image"]` and minimises the network's
    objective on the rest of the batch, plus the network's L1 kernel penalty. Only the wrapped
    network is ever saved. `for_method` builds one from a method (`methods/`)."""

    def __init__(self, network: keras.Model, objective, part_names, **kwargs):
        super().__init__(**kwargs)
        self.network = network
        self.objective = objective
        self.part_trackers = [keras.metrics.Mean(name=n) for n in part_names]

    @classmethod
    def for_method(cls, method, preset: Preset) -> "NetworkTrainer":
        """A new network of `method` at `preset`, with the method's objective and loss parts."""
        return cls(method.build(preset.model), method.objective(preset.loss),
                   method.loss_parts(preset.loss), name=f"{method.name}_trainer")

    def call(self, batch, training=False):
        image = batch["image"] if isinstance(batch, dict) else batch
        return self.network(image, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        total, parts = self.objective(x, y_pred)
        for tracker in self.part_trackers:
            tracker.update_state(parts[tracker.name])
        for penalty in self.losses:  # L1 kernel penalties of the network
            total = total + ops.cast(ops.sum(penalty), total.dtype)
        return _per_replica(total)


def _per_replica(loss):
    """Divide by the number of replicas inside a replica context: the gradients of all
    replicas are summed, so this gives the mean (what Keras does for its own losses). MSFCEL
    and the masked color losses pool over the global batch (`losses.global_sums`), so every
    replica holds the same value and the update is the gradient of the global-batch loss."""
    if tf.distribute.has_strategy() and not tf.distribute.in_cross_replica_context():
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            loss = loss / replicas
    return loss


class BNDecaySchedule(keras.callbacks.Callback):
    """Moves every ScheduledBatchNorm's decay along the released schedule, by samples seen."""

    def __init__(self, network: keras.Model, cfg: TrainConfig):
        super().__init__()
        self.bn_layers = [l for l in network.layers if isinstance(l, ScheduledBatchNorm)]
        self.cfg = cfg
        self.current = None
        self.steps = 0

    def on_train_begin(self, logs=None):
        # Read the step counter once per fit call (one run), then count in Python: no
        # device-to-host sync every batch.
        self.steps = int(self.model.optimizer.iterations.numpy())

    def on_train_batch_begin(self, batch, logs=None):
        value = bn_decay(self.steps * self.cfg.batch_size, self.cfg)
        self.steps += 1
        if value != self.current:
            for layer in self.bn_layers:
                layer.set_decay(value)
            self.current = value


class EpochRecorder(keras.callbacks.Callback):
    """After each epoch: a row in the CSV log, TensorBoard scalars, a check for a non-finite
    loss, and a checkpoint when `CheckpointClock` says one is due."""

    def __init__(self, run: RunDir, network: keras.Model, cfg: TrainConfig, writer,
                 validation_names: Sequence[str] = ()):
        super().__init__()
        self.run, self.network, self.cfg, self.writer = run, network, cfg, writer
        self.validation_names = list(validation_names)  # val_loss, val_<part>, when validating
        self.t0 = time.time()
        self.checkpoints = CheckpointClock(cfg)

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.time()

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        losses = {k: v for k, v in logs.items() if not k.startswith("val_")}
        if self.validation_names:  # the same columns every row: empty between validations
            losses.update({k: logs.get(k, "") for k in self.validation_names})
        samples = int(self.model.optimizer.iterations.numpy()) * self.cfg.batch_size
        row = epoch_row(epoch + 1, samples, losses, self.cfg, time.time() - self.t0)
        self.run.append_log(row)
        write_scalars(self.writer, row)
        if self.checkpoints.due(epoch + 1):
            self.run.save_checkpoint(self.network, self.model.optimizer, epoch + 1)
            self.checkpoints.saved()


class EpochProgress(keras.callbacks.Callback):
    """One progress line per network instead of Keras's bar per epoch: epoch n/N, the loss,
    samples per second and the time left (tqdm); the per-epoch detail stays in the CSV log.
    Not at a terminal (a log file), it writes at most one update every `interval` seconds."""

    def __init__(self, name: str, epochs: int, start: int, batch_size: int,
                 steps_per_epoch: int, interval: float = 30.0):
        super().__init__()
        self.args = dict(desc=name, total=epochs, initial=start, unit="epoch", dynamic_ncols=True,
                         mininterval=0.1 if sys.stderr.isatty() else interval)
        self.samples_per_epoch = batch_size * steps_per_epoch
        self.bar = None

    def on_train_begin(self, logs=None):
        from tqdm import tqdm

        self.bar = tqdm(**self.args)
        self.started, self.epochs_done = time.monotonic(), 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epochs_done += 1
        seconds = time.monotonic() - self.started  # this attempt's, first-epoch tracing included
        shown = {"loss": f"{float(logs.get('loss', float('nan'))):.4f}"}
        if "val_loss" in logs:
            shown["val_loss"] = f"{float(logs['val_loss']):.4f}"
        shown["samples/s"] = f"{self.epochs_done * self.samples_per_epoch / seconds:.1f}"
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update(1)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()


# --------------------------------------------------------------------------- strategy
def make_strategy(name: Optional[str]) -> tf.distribute.Strategy:
    """`None`/"default" (one device), "mirrored" (all local GPUs, or logical CPUs) or
    "multiworker" (TF_CONFIG cluster)."""
    if name in (None, "default", "none"):
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":  # `train` runs it through distributed.train_multiworker
        from .distributed import make_multiworker_strategy

        return make_multiworker_strategy()
    raise ValueError(f"strategy must be default, mirrored or multiworker, got {name!r}")


# --------------------------------------------------------------------------- train
def train(preset: Preset, network: str, data: EpochData, run_dir: os.PathLike,
          resume: bool = True, strategy: Optional[str] = None, verbose: int = 1,
          steps_per_epoch: Optional[int] = None,
          callbacks: Sequence[keras.callbacks.Callback] = (),
          validation: Optional[EpochData] = None) -> keras.Model:
    """Train `network` (a method's name: `methods.names()`) for `preset.train.epochs` (or the
    epochs reaching `preset.train.steps` optimizer steps, when set) and save
    `<run_dir>/<network>.keras`. Returns the trained network.

    data: an `InputPipeline` (its `epochs(start, stop)` is the run's dataset), or a
    `dataset_fn(epoch) -> tf.data.Dataset` of batch dicts (see data/pipeline.py), chained;
    its epochs must all have the same, known number of batches (or pass steps_per_epoch).
    A finished run is reused; an interrupted one continues from its newest checkpoint when
    `resume` (else it starts over). `callbacks` run after the logging and checkpointing.
    `validation`: the validation split's batches (an `InputPipeline` or a dataset_fn; its epoch
    0 is used every time), whose loss is logged every `preset.train.validate_every` epochs.
    Another process training in `run_dir` is refused (`rundir.RunDirBusyError`).
    """
    preset = with_steps_resolved(preset, data, steps_per_epoch)
    if strategy == "multiworker":  # model.fit fails under MWMS (keras-team/keras#20585)
        if validation is not None and preset.train.validate_every:
            raise ValueError("validation losses (--validate-every) are not available with "
                             "--strategy multiworker")
        from .distributed import train_multiworker

        return train_multiworker(preset, network, data, run_dir, resume=resume, verbose=verbose,
                                 steps_per_epoch=steps_per_epoch, callbacks=callbacks)
    check_schedule(preset.train)
    run = RunDir(run_dir, network)
    with run.lock():
        reuse = resume and run.finished()
        run.open(preset, trains=not reuse)
        if reuse:
            if verbose:
                print(f"{run.model_path} is already trained ({run.finished_epochs()} of "
                      f"{preset.train.epochs} epochs); reusing it")
            return load_network(run.model_path)
        return _fit(preset, run, data, resume, strategy, verbose, steps_per_epoch, callbacks,
                    validation)


def _fit(preset: Preset, run: RunDir, data: EpochData, resume: bool, strategy: Optional[str],
         verbose: int, steps_per_epoch: Optional[int], callbacks, validation) -> keras.Model:
    """`train` below the run dir's checks: build (or restore), fit, save."""
    cfg = preset.train
    keras.utils.set_random_seed(cfg.seed)
    dist = make_strategy(strategy)
    with precision_policy(cfg.mixed_precision), dist.scope():
        trainer = NetworkTrainer.for_method(methods.get(run.network), preset)
        net, optimizer = trainer.network, make_optimizer(cfg)
        trainer.compile(optimizer=optimizer, jit_compile=False)
    start, checkpoint = 0, run.resume_point(resume)
    if checkpoint is not None:
        with dist.scope():
            start = restore_checkpoint(checkpoint, net, optimizer)
        run.truncate_log(start)  # epochs after the checkpoint are trained again
        if verbose:
            print(f"resuming {run.network} from {checkpoint} (epoch {start}/{cfg.epochs})")

    writer = run.summary_writer()
    trained = cfg.epochs
    if start < cfg.epochs:
        steps = epoch_steps(data, start, steps_per_epoch)
        # Batch statistics over the global batch, as the released single-GPU code.
        with synchronized_batchnorm(net, dist.num_replicas_in_sync > 1):
            _fit_epochs(trainer, run, writer, cfg, data, validation, start, steps, verbose,
                        callbacks)
        trained = int(optimizer.iterations.numpy()) // steps
    writer.flush()
    run.finish(net, trained, cfg.epochs)  # a callback may stop early (e.g. EarlyStopping)
    return net


def _fit_epochs(trainer: NetworkTrainer, run: RunDir, writer, cfg: TrainConfig, data: EpochData,
                validation: Optional[EpochData], start: int, steps: int, verbose: int,
                callbacks) -> None:
    """One `fit` call and one dataset iterator for epochs [start, cfg.epochs): per epoch they
    would cost about 0.5 s, more than a tiny epoch's training steps. A failure before the first
    checkpoint forgets the attempt (`RunDir.forget_if_unstarted`)."""
    validate = validation is not None and cfg.validate_every > 0
    recorder = EpochRecorder(
        run, trainer.network, cfg, writer,
        validation_names=["val_loss"] + [f"val_{t.name}" for t in trainer.part_trackers]
        if validate else ())
    data_error = None
    try:
        progress = [EpochProgress(run.network, cfg.epochs, start, cfg.batch_size, steps)
                    ] if verbose else []
        trainer.fit(run_dataset(data, start, cfg.epochs), initial_epoch=start,
                    epochs=cfg.epochs, steps_per_epoch=steps, verbose=0, shuffle=False,
                    validation_data=run_dataset(validation, 0, 1) if validate else None,
                    validation_freq=validation_epochs(cfg) if validate else 1,
                    callbacks=[BNDecaySchedule(trainer.network, cfg), recorder, *progress,
                               *callbacks])
    except BaseException as e:
        writer.close()
        run.forget_if_unstarted()
        # A data error raised by a reader inside the tf.data graph reaches us wrapped in a
        # TensorFlow error with its traceback in the message: raise the reader's own
        # (a BadModelError naming the file), below, outside this handler.
        if isinstance(e, tf.errors.OpError):
            data_error = getattr(data, "failure", None)
        if data_error is None:
            raise
    if data_error is not None:
        # The failed fit's frames, and with them the input iterator, are garbage now: free
        # them here, while the readers still in flight can finish (at interpreter exit
        # they could not, and the process would hang).
        gc.collect()
        raise data_error
