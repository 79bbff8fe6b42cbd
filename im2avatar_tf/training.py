"""Training with the released schedule (reference section 3), resumable and distributable.

- Adam(3e-4, 0.9, 0.999, 1e-8), staircase decay x0.7 every 20,000 samples, floor 1e-5.
- BatchNorm decay min(0.99, 1 - 0.5 * 0.5^floor(samples / 20000)): 0.5, 0.75, ... 0.99.
- One epoch = one random view per model, the remainder dropped (`InputPipeline.epochs`); the
  data of an epoch depend only on (seed, epoch), so resuming at an epoch boundary replays
  exactly what an uninterrupted run would have seen.
- Checkpoints (network weights + optimizer state + epoch) every `checkpoint_every` epochs, at
  the end, and at the end of any epoch `checkpoint_minutes` after the last one (`CheckpointClock`),
  written atomically; `resume=True` continues from the newest one.
- One `fit` call over one dataset for the remaining epochs (`run_dataset`); per-epoch logging
  and checkpoints are callbacks.

A run dir holds config.json, run.json (command, git revision, date), `<network>.keras`,
checkpoints/, log.csv and tensorboard/.
"""
from __future__ import annotations

import contextlib
import csv
import gc
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Sequence, Union

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from . import methods
from .config import Preset, TrainConfig
from .io import atomic_dir, atomic_write_text, save_keras
from .models import load_network
from .distributed import synchronized_batchnorm
from .models.layers import ScheduledBatchNorm

if TYPE_CHECKING:
    from .data.pipeline import InputPipeline

DatasetFn = Callable[[int], tf.data.Dataset]  # epoch -> that epoch's batches
EpochData = Union["InputPipeline", DatasetFn]


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


def _steps_per_epoch(data: EpochData, epoch: int, steps: Optional[int]) -> int:
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


# --------------------------------------------------------------------------- checkpoints
def finished_marker(run_dir: os.PathLike, network: str) -> Path:
    """The file a finished training run of `network` writes in its run dir."""
    return Path(run_dir) / "checkpoints" / network / "finished.json"


def _checkpoint_dirs(run_dir: Path, network: str):
    root = run_dir / "checkpoints" / network
    if not root.exists():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("epoch_")
                  and (p / "state.json").exists())


def save_checkpoint(run_dir: Path, network_name: str, network: keras.Model,
                    optimizer: keras.optimizers.Optimizer, epoch: int, keep: int = 2) -> Path:
    """Write weights + optimizer variables + epoch into checkpoints/<network>/epoch_XXXX/,
    atomically (a killed save leaves no complete-looking one)."""
    final = run_dir / "checkpoints" / network_name / f"epoch_{epoch:05d}"
    with atomic_dir(final) as tmp:
        network.save_weights(tmp / "network.weights.h5")
        np.savez(tmp / "optimizer.npz", *[np.asarray(v) for v in optimizer.variables])
        (tmp / "state.json").write_text(json.dumps({"epoch": epoch}))
    for old in _checkpoint_dirs(run_dir, network_name)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def restore_checkpoint(ckpt: Path, network: keras.Model, optimizer: keras.optimizers.Optimizer) -> int:
    """Load a checkpoint written by `save_checkpoint`; returns the number of finished epochs."""
    network.load_weights(ckpt / "network.weights.h5")
    optimizer.build(network.trainable_variables)
    with np.load(ckpt / "optimizer.npz") as data:
        values = [data[f"arr_{i}"] for i in range(len(data.files))]
    if len(values) != len(optimizer.variables):
        raise ValueError(f"checkpoint {ckpt} does not match this network/optimizer "
                         f"({len(values)} vs {len(optimizer.variables)} optimizer variables); "
                         f"use a new run dir")
    for var, value in zip(optimizer.variables, values):
        var.assign(value)
    return int(json.loads((ckpt / "state.json").read_text())["epoch"])


class CheckpointClock:
    """When an epoch's end is due a checkpoint: every `checkpoint_every` epochs, after the last
    epoch, and once `checkpoint_minutes` of wall time have passed since the last checkpoint
    (or the start), so a killed run loses at most about that much plus one epoch."""

    def __init__(self, cfg: TrainConfig, clock=time.monotonic):
        self.cfg, self.clock = cfg, clock
        self.last = clock()

    def due(self, finished_epochs: int) -> bool:
        cfg = self.cfg
        return (finished_epochs % cfg.checkpoint_every == 0 or finished_epochs == cfg.epochs
                or 0 < cfg.checkpoint_minutes * 60 <= self.clock() - self.last)

    def saved(self) -> None:
        self.last = self.clock()


# --------------------------------------------------------------------------- callbacks
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

    def __init__(self, run_dir: Path, network_name: str, network: keras.Model,
                 cfg: TrainConfig, log_path: Path, writer, validation_names: Sequence[str] = ()):
        super().__init__()
        self.run_dir, self.network_name, self.network = run_dir, network_name, network
        self.cfg, self.log_path, self.writer = cfg, log_path, writer
        self.validation_names = list(validation_names)  # val_loss, val_<part>, when validating
        self.t0 = time.time()
        self.checkpoints = CheckpointClock(cfg)

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.time()

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        trained = {k: v for k, v in logs.items() if not k.startswith("val_")}
        if self.validation_names:  # the same columns every row: empty between validations
            trained.update({k: logs.get(k, "") for k in self.validation_names})
        samples = int(self.model.optimizer.iterations.numpy()) * self.cfg.batch_size
        row = {"epoch": epoch + 1, "samples": samples, **trained,
               "learning_rate": learning_rate(samples, self.cfg),
               "bn_decay": bn_decay(samples, self.cfg), "seconds": round(time.time() - self.t0, 3)}
        if not all(math.isfinite(v) for k, v in logs.items() if not k.startswith("val_")):
            raise FloatingPointError(f"non-finite loss at epoch {epoch + 1}: {logs}")
        _append_log(self.log_path, row)
        with self.writer.as_default(step=epoch + 1):
            for k, v in row.items():
                if k != "epoch" and v != "":
                    tf.summary.scalar(k, v)
        if self.checkpoints.due(epoch + 1):
            save_checkpoint(self.run_dir, self.network_name, self.network,
                            self.model.optimizer, epoch + 1)
            self.checkpoints.saved()


# --------------------------------------------------------------------------- strategy & precision
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


# --------------------------------------------------------------------------- run metadata
def git_revision() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=Path(__file__).resolve().parent, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def same_training(a: Preset, b: Preset) -> bool:
    """Whether two configurations train the same network: equal but for the
    `config.UNKEYED_FIELDS` (how often a run is checkpointed), which a resumed run may change."""
    return a.training_dict() == b.training_dict()


def _write_run_files(run_dir: Path, preset: Preset, trains: bool = True) -> None:
    """config.json (written once; a different configuration is refused) and, when this call
    `trains` (starts or resumes), run.json: the command, git revision and versions that
    trained the run dir's networks. Reusing a finished network leaves run.json alone, so it
    keeps naming who trained it (the zoo's manifest reads it)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    config_path = run_dir / "config.json"
    if config_path.exists():
        # compared as Presets: fields added since the run dir was made take their defaults
        existing = Preset.from_dict(json.loads(config_path.read_text()))
        if not same_training(existing, preset):
            raise ValueError(f"{run_dir} was made with a different configuration "
                             f"(see {config_path}); use a new --out folder or delete it")
    else:
        atomic_write_text(config_path, preset.to_json())
    if not trains:
        return
    atomic_write_text(run_dir / "run.json", json.dumps({
        "command": " ".join(sys.argv), "git_revision": git_revision(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "tensorflow": tf.__version__, "keras": keras.__version__,
    }, indent=2))


def _truncate_log(path: Path, epochs: int) -> None:
    """Keep the log rows of the first `epochs` epochs (atomically)."""
    if not path.exists():
        return
    lines = path.read_text().splitlines(keepends=True)
    kept = lines[:1] + [l for l in lines[1:] if int(l.split(",", 1)[0]) <= epochs]
    atomic_write_text(path, "".join(kept))


def _forget_unstarted(run_dir: Path, network: str, fresh: bool, created: bool) -> None:
    """After a failure before the first checkpoint of `network`: remove what the attempt
    wrote (its log, TensorBoard folder, empty checkpoint folder) and, when this call began the
    run dir (`fresh`: no config.json before) and nothing else is in it, config.json and
    run.json too, and the folder if this call `created` it: nothing looks like a run to resume
    or holds a configuration that would refuse the next attempt."""
    for path in (run_dir / "checkpoints" / network, run_dir / "tensorboard" / network):
        shutil.rmtree(path, ignore_errors=True)
    (run_dir / f"log_{network}.csv").unlink(missing_ok=True)
    for folder in (run_dir / "checkpoints", run_dir / "tensorboard"):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if empty
    if fresh and {p.name for p in run_dir.iterdir()} <= {"config.json", "run.json"}:
        for name in ("config.json", "run.json"):
            (run_dir / name).unlink(missing_ok=True)
        if created:
            with contextlib.suppress(OSError):
                run_dir.rmdir()


def _append_log(path: Path, row: dict) -> None:
    """One row; an existing log keeps its columns (a column it lacks is refused, one the row
    lacks is left empty), so a resumed run never shifts values under another header."""
    new = not path.exists()
    fields = list(row)
    if not new:
        with open(path, newline="") as f:
            fields = next(csv.reader(f), fields)
    extra = [k for k in row if k not in fields]
    if extra:
        raise ValueError(f"{path} has no column for {extra}: it was written by another "
                         f"configuration; delete it or use a new run dir")
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        if new:
            writer.writeheader()
        writer.writerow(row)


def validation_epochs(cfg: TrainConfig) -> list:
    """The (1-based) epochs after which the validation loss is computed: every
    `validate_every`-th and the last."""
    return sorted(set(range(cfg.validate_every, cfg.epochs + 1, cfg.validate_every))
                  | {cfg.epochs})


def with_steps_resolved(preset: Preset, data: EpochData,
                        steps_per_epoch: Optional[int] = None) -> Preset:
    """The preset with a step schedule (`train.steps`) turned into the whole epochs of `data`
    that reach it; unchanged when the schedule is in epochs. The run dir's config.json holds
    both, so a resume on other data (another epoch length) is refused."""
    if preset.train.steps is None:
        return preset
    epochs = preset.train.epochs_for(_steps_per_epoch(data, 0, steps_per_epoch))
    return preset.replace(train={"epochs": epochs})


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
    """
    preset = with_steps_resolved(preset, data, steps_per_epoch)
    if strategy == "multiworker":  # model.fit fails under MWMS (keras-team/keras#20585)
        if validation is not None and preset.train.validate_every:
            raise ValueError("validation losses (--validate-every) are not available with "
                             "--strategy multiworker")
        from .distributed import train_multiworker

        return train_multiworker(preset, network, data, run_dir, resume=resume, verbose=verbose,
                                 steps_per_epoch=steps_per_epoch, callbacks=callbacks,
                                 helpers=sys.modules[__name__])
    run_dir = Path(run_dir)
    cfg = preset.train
    if cfg.epochs < 1 or cfg.batch_size < 1:
        raise ValueError(f"epochs and batch size must be at least 1, got epochs={cfg.epochs}, "
                         f"batch_size={cfg.batch_size}")
    final_path = run_dir / f"{network}.keras"
    created, fresh = not run_dir.exists(), not (run_dir / "config.json").exists()
    done_marker = finished_marker(run_dir, network)
    reuse = resume and final_path.exists() and done_marker.exists()
    _write_run_files(run_dir, preset, trains=not reuse)
    if reuse:
        if verbose:
            done = json.loads(done_marker.read_text())
            print(f"{final_path} is already trained ({done['epochs']} of {cfg.epochs} epochs); "
                  f"reusing it")
        return load_network(final_path)

    keras.utils.set_random_seed(cfg.seed)
    dist = make_strategy(strategy)
    with precision_policy(cfg.mixed_precision), dist.scope():
        trainer = NetworkTrainer.for_method(methods.get(network), preset)
        net = trainer.network
        optimizer = make_optimizer(cfg)
        trainer.compile(optimizer=optimizer, jit_compile=False)

    start = 0
    log_path = run_dir / f"log_{network}.csv"
    checkpoints = _checkpoint_dirs(run_dir, network)
    if resume and checkpoints:
        with dist.scope():
            start = restore_checkpoint(checkpoints[-1], net, optimizer)
        _truncate_log(log_path, start)  # epochs after the checkpoint are trained again
        if verbose:
            print(f"resuming {network} from {checkpoints[-1]} (epoch {start}/{cfg.epochs})")
    else:  # a fresh start: forget any earlier attempt of this network in this run dir
        shutil.rmtree(run_dir / "checkpoints" / network, ignore_errors=True)
        log_path.unlink(missing_ok=True)

    writer = tf.summary.create_file_writer(str(run_dir / "tensorboard" / network))
    if start < cfg.epochs:
        steps = _steps_per_epoch(data, start, steps_per_epoch)
        # One fit call and one dataset iterator for the whole run: per epoch they would cost
        # about 0.5 s, more than a tiny epoch's training steps.
        validate = validation is not None and cfg.validate_every > 0
        recorder = EpochRecorder(
            run_dir, network, net, cfg, log_path, writer,
            validation_names=["val_loss"] + [f"val_{t.name}" for t in trainer.part_trackers]
            if validate else ())
        data_error = None
        try:
            # Batch statistics over the global batch, as the released single-GPU code.
            with synchronized_batchnorm(net, dist.num_replicas_in_sync > 1):
                trainer.fit(run_dataset(data, start, cfg.epochs), initial_epoch=start,
                            epochs=cfg.epochs, steps_per_epoch=steps, verbose=verbose,
                            shuffle=False,
                            validation_data=run_dataset(validation, 0, 1) if validate else None,
                            validation_freq=validation_epochs(cfg) if validate else 1,
                            callbacks=[BNDecaySchedule(net, cfg), recorder, *callbacks])
        except BaseException as e:
            writer.close()
            if not _checkpoint_dirs(run_dir, network):
                _forget_unstarted(run_dir, network, fresh, created)
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
    writer.flush()

    trained = int(optimizer.iterations.numpy()) // steps if start < cfg.epochs else cfg.epochs
    save_keras(net, final_path)
    # A callback may stop training early (e.g. EarlyStopping): the marker records it.
    atomic_write_text(done_marker, json.dumps({"epochs": trained, "of": cfg.epochs}))
    return net
