"""Multi-worker training: MultiWorkerMirroredStrategy through a custom training step.

`train(..., strategy="multiworker")` comes here. With Keras 3.15 / TensorFlow 2.21 `model.fit`
under MultiWorkerMirroredStrategy fails ("Attempt to convert a value (PerReplica...)",
keras-team/keras#20585), so this module runs its own loop: `strategy.run` of one step per
batch over `strategy.distribute_datasets_from_function`. It keeps what `training.train` does:

- the released schedule (the same optimizer and staircase), the BN decay schedule (set from
  Python before each step, by samples seen), L1 kernel penalties;
- the whole-batch statistics of the released single-GPU code: MSFCEL and the masked color
  losses pool over the global batch (`losses.global_sums`), BatchNorm is synchronized across
  replicas during training (`synchronized_batchnorm`);
- the data: every worker builds the same global batches (a pure function of seed and epoch)
  and keeps its own rows of each (`shard_global_batches`), so the run sees exactly the batches
  a single process would;
- exact resume: the chief reads the newest checkpoint and every worker takes the chief's
  weights, optimizer state and epoch (a broadcast), so other workers need not see the run dir;
- only the chief writes (config, logs, TensorBoard, checkpoints, the final model) and shows
  progress.

A worker that dies stops the others with `WorkerLostError` (a clear message, exit status 1 from
the command line) within about a minute (TensorFlow's peer health check, every 30 s), or after
`IM2AVATAR_COLLECTIVE_TIMEOUT` seconds in one collective if that is set. Restart every worker
with the same command: the run resumes from the newest checkpoint.

TF_CONFIG for two workers (the same cluster on both, its own index on each):

    TF_CONFIG='{"cluster": {"worker": ["host1:23456", "host2:23456"]},
                "task": {"type": "worker", "index": 0}}'     # index 1 on host2
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Optional, Sequence

import keras
import numpy as np
import tensorflow as tf

from .models.layers import ScheduledBatchNorm


class WorkerLostError(ConnectionError):
    """A worker of a multi-worker run stopped answering (killed, crashed, unreachable)."""


# --------------------------------------------------------------------------- cluster
def make_multiworker_strategy() -> tf.distribute.MultiWorkerMirroredStrategy:
    """MultiWorkerMirroredStrategy from TF_CONFIG (refused with a clear message without it)."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ValueError("--strategy multiworker needs TF_CONFIG: the cluster and this worker's "
                         "index, e.g. TF_CONFIG='{\"cluster\": {\"worker\": [\"host1:23456\", "
                         "\"host2:23456\"]}, \"task\": {\"type\": \"worker\", \"index\": 0}}' "
                         "(see README, Multi-worker training)")
    try:
        tf_config = json.loads(raw)
        workers = tf_config["cluster"]["worker"]
        index = int(tf_config["task"]["index"])
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"TF_CONFIG is not a cluster spec with a worker task ({e}): {raw}") from e
    if not 0 <= index < len(workers):
        raise ValueError(f"TF_CONFIG task index {index} is not one of the {len(workers)} workers")
    timeout = float(os.environ.get("IM2AVATAR_COLLECTIVE_TIMEOUT", "0")) or None
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout)
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Worker 0 (or an explicit "chief" task) is the chief: it alone writes."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type == "chief" or (task_type == "worker" and task_id == 0
                                    and "chief" not in resolver.cluster_spec().as_dict())


def broadcast_from_chief(strategy: tf.distribute.Strategy, values: Sequence) -> list:
    """The chief's (global replica 0's) `values` on every worker: an all-reduce in which
    every other replica contributes zeros. Returns numpy arrays."""
    values = [tf.convert_to_tensor(v) for v in values]
    if not values:
        return []

    @tf.function
    def step():
        def replica_fn():
            ctx = tf.distribute.get_replica_context()
            first = tf.equal(ctx.replica_id_in_sync_group, 0)
            mine = [tf.where(first, v, tf.zeros_like(v)) for v in values]
            out = [None] * len(mine)
            for dtype in sorted({v.dtype.name for v in mine}):  # one all-reduce per dtype
                idx = [i for i, v in enumerate(mine) if v.dtype.name == dtype]
                summed = ctx.all_reduce(tf.distribute.ReduceOp.SUM, [mine[i] for i in idx])
                for i, v in zip(idx, summed):
                    out[i] = v
            return out
        return strategy.run(replica_fn)

    out = step()
    return [np.asarray(strategy.experimental_local_results(v)[0]) for v in out]


def sync_variables_from_chief(strategy: tf.distribute.Strategy, variables: Sequence) -> None:
    """Give every worker the chief's values of `variables` (weights, optimizer state)."""
    variables = list(variables)
    for var, value in zip(variables, broadcast_from_chief(strategy, [v.value for v in variables])):
        var.assign(value)


# --------------------------------------------------------------------------- data
def shard_global_batches(dataset: tf.data.Dataset, batch_size: int,
                         context: tf.distribute.InputContext) -> tf.data.Dataset:
    """Global batches of `batch_size` -> this worker's per-replica batches, in replica order:
    worker w with L local replicas keeps rows [w*L*b, (w+1)*L*b) of every global batch
    (b = batch_size / replicas) and yields them as L consecutive batches of b."""
    replicas = context.num_replicas_in_sync
    local = replicas // context.num_input_pipelines
    per_replica = batch_size // replicas
    lo = context.input_pipeline_id * local * per_replica

    def mine(batch):
        return {k: tf.reshape(v[lo:lo + local * per_replica],
                              tf.concat([[local, per_replica], tf.shape(v)[1:]], 0))
                for k, v in batch.items()}

    if local > 1:  # L consecutive per-replica batches per global batch
        ds = dataset.map(mine).flat_map(tf.data.Dataset.from_tensor_slices)
    else:
        ds = dataset.map(lambda batch: {k: v[lo:lo + per_replica] for k, v in batch.items()})
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return ds.with_options(options)


# --------------------------------------------------------------------------- BN
@contextlib.contextmanager
def synchronized_batchnorm(network: keras.Model, enabled: bool = True):
    """Batch statistics over the global batch (all replicas) while training, as the released
    single-GPU code computes them; the saved layers keep `synchronized=False`."""
    layers = [l for l in network.layers if isinstance(l, ScheduledBatchNorm)] if enabled else []
    for layer in layers:
        layer.synchronized = True
    try:
        yield
    finally:
        for layer in layers:
            layer.synchronized = False


# --------------------------------------------------------------------------- the loop
def train_multiworker(preset, network: str, data, run_dir: os.PathLike, resume: bool = True,
                      verbose: int = 1, steps_per_epoch: Optional[int] = None,
                      callbacks: Sequence[keras.callbacks.Callback] = (),
                      strategy: Optional[tf.distribute.Strategy] = None,
                      helpers=None) -> Optional[keras.Model]:
    """`training.train` for a TF_CONFIG cluster (see the module docstring). Every worker runs
    this with the same arguments. `callbacks` get the batch and epoch hooks on every worker
    (`stop_training` is not supported: workers must agree on every step). `helpers`: the
    `training` module (its schedule, checkpoint and log helpers), passed in by
    `training.train` so that this module does not import it back (no import cycle)."""
    from . import methods
    from .models import load_network

    T = helpers
    if T is None:
        raise ValueError("call training.train(..., strategy='multiworker'), which passes helpers")

    run_dir = Path(run_dir)
    cfg = preset.train
    if cfg.epochs < 1 or cfg.batch_size < 1:
        raise ValueError(f"epochs and batch size must be at least 1, got epochs={cfg.epochs}, "
                         f"batch_size={cfg.batch_size}")
    dist = strategy or make_multiworker_strategy()
    chief = is_chief(dist)
    replicas = dist.num_replicas_in_sync
    if cfg.batch_size % replicas:
        raise ValueError(f"batch size {cfg.batch_size} is not a multiple of the {replicas} "
                         f"replicas of the cluster")
    final_path = run_dir / f"{network}.keras"
    done_marker = T.finished_marker(run_dir, network)
    created = fresh = False
    state = np.zeros(2, np.int64)  # (finished, start epoch): the chief's decision
    if chief:
        created, fresh = not run_dir.exists(), not (run_dir / "config.json").exists()
        reuse = resume and final_path.exists() and done_marker.exists()
        T._write_run_files(run_dir, preset, trains=not reuse)
        checkpoints = T._checkpoint_dirs(run_dir, network)
        if reuse:
            state[0] = 1
        elif resume and checkpoints:
            state[1] = int(json.loads((checkpoints[-1] / "state.json").read_text())["epoch"])
    finished, start = (int(v) for v in broadcast_from_chief(dist, [state])[0])
    if finished:
        if verbose and chief:
            print(f"{final_path} is already trained; reusing it")
        return load_network(final_path) if final_path.exists() else None

    method = methods.get(network)
    keras.utils.set_random_seed(cfg.seed)
    with T.precision_policy(cfg.mixed_precision):
        with dist.scope():
            net = method.build(preset.model)
            optimizer = T.make_optimizer(cfg)
            if cfg.mixed_precision == "mixed_float16":
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
            optimizer.build(net.trainable_variables)
        log_path = run_dir / f"log_{network}.csv"
        if start:
            if chief:
                ckpt = run_dir / "checkpoints" / network / f"epoch_{start:05d}"
                with dist.scope():
                    T.restore_checkpoint(ckpt, net, optimizer)
                T._truncate_log(log_path, start)
                if verbose:
                    print(f"resuming {network} from {ckpt} (epoch {start}/{cfg.epochs})")
        elif chief:  # a fresh start: forget any earlier attempt of this network
            shutil.rmtree(run_dir / "checkpoints" / network, ignore_errors=True)
            log_path.unlink(missing_ok=True)
        sync_variables_from_chief(dist, list(net.weights) + list(optimizer.variables))

        if start < cfg.epochs:
            try:
                with synchronized_batchnorm(net, replicas > 1):
                    _run(T, dist, chief, preset, network, method, net, optimizer, data,
                         run_dir, start, verbose, steps_per_epoch, callbacks)
            except BaseException as e:
                if chief and not T._checkpoint_dirs(run_dir, network):
                    T._forget_unstarted(run_dir, network, fresh, created)
                if isinstance(e, (tf.errors.UnavailableError, tf.errors.DeadlineExceededError,
                                  tf.errors.CancelledError, tf.errors.AbortedError,
                                  tf.errors.InternalError)):
                    done = T._checkpoint_dirs(run_dir, network) if chief else []
                    where = (f"the newest checkpoint is {done[-1]}" if done else
                             "there is no checkpoint yet" if chief else
                             "the chief keeps the checkpoints")
                    raise WorkerLostError(
                        f"multi-worker training of {network} stopped: a worker of the cluster "
                        f"is gone or unreachable ({_reason(e)}). "
                        f"Restart every worker with the same command and TF_CONFIG; training "
                        f"resumes from the newest checkpoint ({where}).") from e
                raise
    if chief:
        T.save_keras(net, final_path)
        T.atomic_write_text(done_marker, json.dumps({"epochs": cfg.epochs, "of": cfg.epochs}))
    return net


def _reason(error: BaseException) -> str:
    """The informative lines of a TensorFlow error (not its node and traceback lines)."""
    lines = [l.strip() for l in (getattr(error, "message", None) or str(error)).splitlines()]
    keep = [l for l in lines if l and not l.startswith(
        ("Graph execution error", "Detected at node", "File ", "[[", "The error could be"))]
    return " ".join(keep[:2]) or type(error).__name__


def _run(T, dist, chief, preset, network, method, net, optimizer, data, run_dir, start,
         verbose, steps_per_epoch, callbacks):
    cfg = preset.train
    objective = method.objective(preset.loss)
    part_names = method.loss_parts(preset.loss)
    replicas = dist.num_replicas_in_sync
    steps = T._steps_per_epoch(data, start, steps_per_epoch)
    bn_layers = [l for l in net.layers if isinstance(l, ScheduledBatchNorm)]
    scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

    def replica_step(batch):
        with tf.GradientTape() as tape:
            out = net(batch["image"], training=True)
            total, parts = objective(batch, out)  # pooled over the global batch
            for penalty in net.losses:  # L1 kernel penalties
                total = total + tf.cast(tf.reduce_sum(penalty), total.dtype)
            loss = total / replicas  # the replicas' gradients are summed
            if scaled:
                loss = optimizer.scale_loss(loss)
        variables = net.trainable_variables
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))
        return {"loss": total, **{k: parts[k] for k in part_names}}

    @tf.function
    def train_step(iterator):
        results = dist.run(replica_step, args=(next(iterator),))
        return {k: dist.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
                for k, v in results.items()}

    global_batches = T.run_dataset(data, start, cfg.epochs)
    dataset = dist.distribute_datasets_from_function(
        lambda ctx: shard_global_batches(global_batches, cfg.batch_size, ctx))
    iterator = iter(dataset)
    log_path = run_dir / f"log_{network}.csv"
    writer = tf.summary.create_file_writer(str(run_dir / "tensorboard" / network)) if chief else None
    for cb in callbacks:
        cb.set_model(net)
    logs: dict = {}
    for cb in callbacks:
        cb.on_train_begin()
    samples = int(optimizer.iterations.numpy()) * cfg.batch_size
    current = None
    checkpoints = T.CheckpointClock(cfg)
    try:
        for epoch in range(start, cfg.epochs):
            t0 = time.time()
            for cb in callbacks:
                cb.on_epoch_begin(epoch)
            bar = keras.utils.Progbar(steps, stateful_metrics=None) if chief and verbose else None
            if bar is not None:
                print(f"Epoch {epoch + 1}/{cfg.epochs}")
            sums = {}
            for step in range(steps):
                decay = T.bn_decay(samples, cfg)
                if decay != current:
                    for layer in bn_layers:
                        layer.set_decay(decay)
                    current = decay
                for cb in callbacks:
                    cb.on_train_batch_begin(step)
                values = {k: float(v) for k, v in train_step(iterator).items()}
                samples += cfg.batch_size
                for k, v in values.items():
                    sums[k] = sums.get(k, 0.0) + v
                logs = {k: v / (step + 1) for k, v in sums.items()}
                if bar is not None:
                    bar.update(step + 1, list(logs.items()))
                for cb in callbacks:
                    cb.on_train_batch_end(step, logs)
            if not all(math.isfinite(v) for v in logs.values()):
                raise FloatingPointError(f"non-finite loss at epoch {epoch + 1}: {logs}")
            if chief:
                row = {"epoch": epoch + 1, "samples": samples, **logs,
                       "learning_rate": T.learning_rate(samples, cfg),
                       "bn_decay": T.bn_decay(samples, cfg),
                       "seconds": round(time.time() - t0, 3)}
                T._append_log(log_path, row)
                with writer.as_default(step=epoch + 1):
                    for k, v in row.items():
                        if k != "epoch":
                            tf.summary.scalar(k, v)
                writer.flush()
                if checkpoints.due(epoch + 1):
                    T.save_checkpoint(run_dir, network, net, optimizer, epoch + 1)
                    checkpoints.saved()
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
        for cb in callbacks:
            cb.on_train_end(logs)
    finally:
        if writer is not None:
            writer.close()
