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
- only the chief writes (config, logs, TensorBoard, checkpoints, the final model: `rundir`)
  and shows progress, and it holds the run dir's lock.

At start-up each worker waits for the others (`wait_for_workers`), saying which ones, for at
most `IM2AVATAR_WORKER_TIMEOUT` seconds (default 600); Ctrl+C or SIGTERM end the wait.

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
import os
import signal
import socket
import sys
import threading
import time
from typing import List, Optional, Sequence

import keras
import numpy as np
import tensorflow as tf

from .models.layers import ScheduledBatchNorm, synchronized_batchnorm
from .recipe import (bn_decay, check_schedule, epoch_row, epoch_steps, make_optimizer,
                     precision_policy, run_dataset, write_scalars)
from .rundir import CheckpointClock, RunDir, checkpoint_epoch, restore_checkpoint


class WorkerLostError(ConnectionError):
    """A worker of a multi-worker run stopped answering (killed, crashed, unreachable)."""


# --------------------------------------------------------------------------- cluster
WORKER_TIMEOUT_ENV = "IM2AVATAR_WORKER_TIMEOUT"
WORKER_TIMEOUT_S = 600.0  # how long a worker waits for the others to start, by default


def make_multiworker_strategy() -> tf.distribute.MultiWorkerMirroredStrategy:
    """MultiWorkerMirroredStrategy from TF_CONFIG (refused with a clear message without it),
    once every other worker has started (`wait_for_workers`): TensorFlow itself would wait
    for an absent worker in C++, without a word, deaf to Ctrl+C and SIGTERM."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ValueError("--strategy multiworker needs TF_CONFIG: the cluster and this worker's "
                         "index, e.g. TF_CONFIG='{\"cluster\": {\"worker\": [\"host1:23456\", "
                         "\"host2:23456\"]}, \"task\": {\"type\": \"worker\", \"index\": 0}}' "
                         "(see docs/training.md, Several machines)")
    try:
        tf_config = json.loads(raw)
        workers = tf_config["cluster"]["worker"]
        index = int(tf_config["task"]["index"])
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"TF_CONFIG is not a cluster spec with a worker task ({e}): {raw}") from e
    if not 0 <= index < len(workers):
        raise ValueError(f"TF_CONFIG task index {index} is not one of the {len(workers)} workers")
    wait_for_workers(workers, index, float(os.environ.get(WORKER_TIMEOUT_ENV, WORKER_TIMEOUT_S)))
    timeout = float(os.environ.get("IM2AVATAR_COLLECTIVE_TIMEOUT", "0")) or None
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout)
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    if threading.current_thread() is threading.main_thread():
        # TensorFlow's coordination agent takes SIGTERM for a preemption notice and goes on:
        # give it back its usual meaning (stop), as in a one-process run.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    return strategy


def _host_port(address: str):
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "localhost", int(port)


def wait_for_workers(workers: List[str], index: int, timeout: float, poll: float = 0.5,
                     report_every: float = 30.0) -> None:
    """Wait, in Python (so Ctrl+C and SIGTERM end it), until every other worker of `workers`
    ("host:port", this one at `index`) accepts connections at its address, saying which ones
    it waits for and for how long; TimeoutError after `timeout` seconds. Meanwhile this worker
    listens at its own port, so the others find it the same way (the kernel completes their
    connections; nothing is accepted); then the port is free for TensorFlow's server."""
    others = {i: _host_port(w) for i, w in enumerate(workers) if i != index}
    if not others:
        return
    port = _host_port(workers[index])[1]
    try:
        listener = socket.create_server(("", port), reuse_port=False)
    except OSError as e:
        raise OSError(e.errno, f"worker {index} cannot listen at port {port} of "
                               f"{workers[index]}: {e.strerror or e} (another process holds it?)")
    start, last_report = time.monotonic(), None
    try:
        while True:
            others = {i: a for i, a in others.items() if not _answers(a)}
            if not others:
                return
            waited = time.monotonic() - start
            names = ", ".join(f"{i} ({workers[i]})" for i in others)
            if waited >= timeout:
                raise TimeoutError(
                    f"worker(s) {names} did not start within {timeout:.0f} s; start every "
                    f"worker with the same command and TF_CONFIG (its own task index), or "
                    f"wait longer with {WORKER_TIMEOUT_ENV}=SECONDS")
            if last_report is None or time.monotonic() - last_report >= report_every:
                print(f"worker {index}: waiting for worker(s) {names} to start "
                      f"({waited:.0f} s of at most {timeout:.0f} s: {WORKER_TIMEOUT_ENV})",
                      file=sys.stderr, flush=True)
                last_report = time.monotonic()
            time.sleep(poll)
    finally:
        listener.close()


def _answers(address) -> bool:
    try:
        socket.create_connection(address, timeout=1.0).close()
        return True
    except OSError:
        return False


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


# --------------------------------------------------------------------------- the loop
def train_multiworker(preset, network: str, data, run_dir: os.PathLike, resume: bool = True,
                      verbose: int = 1, steps_per_epoch: Optional[int] = None,
                      callbacks: Sequence[keras.callbacks.Callback] = (),
                      strategy: Optional[tf.distribute.Strategy] = None) -> Optional[keras.Model]:
    """`training.train` for a TF_CONFIG cluster (see the module docstring). Every worker runs
    this with the same arguments. `callbacks` get the batch and epoch hooks on every worker
    (`stop_training` is not supported: workers must agree on every step)."""
    from .models import load_network

    cfg = preset.train
    check_schedule(cfg)
    dist = strategy or make_multiworker_strategy()
    chief = is_chief(dist)
    if cfg.batch_size % dist.num_replicas_in_sync:
        raise ValueError(f"batch size {cfg.batch_size} is not a multiple of the "
                         f"{dist.num_replicas_in_sync} replicas of the cluster")
    run = RunDir(run_dir, network)
    with run.lock() if chief else contextlib.nullcontext():
        finished, start = _chief_decides(dist, chief, run, preset, resume)
        if finished:
            if verbose and chief:
                print(f"{run.model_path} is already trained; reusing it")
            return load_network(run.model_path) if run.model_path.exists() else None
        net = _train_from(dist, chief, run, preset, data, start, verbose, steps_per_epoch,
                          callbacks)
        if chief:
            run.finish(net, cfg.epochs, cfg.epochs)
    return net


def _chief_decides(dist, chief: bool, run: RunDir, preset, resume: bool):
    """(finished, start epoch) as the chief finds them in the run dir, on every worker."""
    state = np.zeros(2, np.int64)  # (finished, start epoch)
    if chief:
        reuse = resume and run.finished()
        run.open(preset, trains=not reuse)
        checkpoint = None if reuse else run.resume_point(resume)
        state[:] = reuse, checkpoint_epoch(checkpoint) if checkpoint else 0
    finished, start = (int(v) for v in broadcast_from_chief(dist, [state])[0])
    return bool(finished), start


def _train_from(dist, chief: bool, run: RunDir, preset, data, start: int, verbose: int,
                steps_per_epoch, callbacks) -> keras.Model:
    """Build the network and optimizer, give every worker the chief's (restored) state, and
    train epochs [start, epochs). A lost worker raises `WorkerLostError`."""
    from . import methods

    cfg = preset.train
    method = methods.get(run.network)
    keras.utils.set_random_seed(cfg.seed)
    with precision_policy(cfg.mixed_precision):
        with dist.scope():
            net = method.build(preset.model)
            optimizer = make_optimizer(cfg)
            if cfg.mixed_precision == "mixed_float16":
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
            optimizer.build(net.trainable_variables)
        if start and chief:
            checkpoint = run.checkpoint_dir / f"epoch_{start:05d}"
            with dist.scope():
                restore_checkpoint(checkpoint, net, optimizer)
            run.truncate_log(start)
            if verbose:
                print(f"resuming {run.network} from {checkpoint} (epoch {start}/{cfg.epochs})")
        sync_variables_from_chief(dist, list(net.weights) + list(optimizer.variables))
        if start >= cfg.epochs:
            return net
        try:
            with synchronized_batchnorm(net, dist.num_replicas_in_sync > 1):
                _run(dist, chief, preset, run, method, net, optimizer, data, start, verbose,
                     steps_per_epoch, callbacks)
        except BaseException as e:
            if chief:
                run.forget_if_unstarted()
            if isinstance(e, (tf.errors.UnavailableError, tf.errors.DeadlineExceededError,
                              tf.errors.CancelledError, tf.errors.AbortedError,
                              tf.errors.InternalError)):
                done = run.checkpoints() if chief else []
                where = (f"the newest checkpoint is {done[-1]}" if done else
                         "there is no checkpoint yet" if chief else
                         "the chief keeps the checkpoints")
                raise WorkerLostError(
                    f"multi-worker training of {run.network} stopped: a worker of the cluster "
                    f"is gone or unreachable ({_reason(e)}). "
                    f"Restart every worker with the same command and TF_CONFIG; training "
                    f"resumes from the newest checkpoint ({where}).") from e
            raise
    return net


def _reason(error: BaseException) -> str:
    """The informative lines of a TensorFlow error (not its node and traceback lines)."""
    lines = [l.strip() for l in (getattr(error, "message", None) or str(error)).splitlines()]
    keep = [l for l in lines if l and not l.startswith(
        ("Graph execution error", "Detected at node", "File ", "[[", "The error could be"))]
    return " ".join(keep[:2]) or type(error).__name__



def _run(dist, chief, preset, run: RunDir, method, net, optimizer, data, start, verbose,
         steps_per_epoch, callbacks):
    cfg = preset.train
    objective = method.objective(preset.loss)
    part_names = method.loss_parts(preset.loss)
    replicas = dist.num_replicas_in_sync
    steps = epoch_steps(data, start, steps_per_epoch)
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

    global_batches = run_dataset(data, start, cfg.epochs)
    dataset = dist.distribute_datasets_from_function(
        lambda ctx: shard_global_batches(global_batches, cfg.batch_size, ctx))
    iterator = iter(dataset)
    writer = run.summary_writer() if chief else None
    for cb in callbacks:
        cb.set_model(net)
    logs: dict = {}
    for cb in callbacks:
        cb.on_train_begin()
    samples = int(optimizer.iterations.numpy()) * cfg.batch_size
    current = None
    checkpoints = CheckpointClock(cfg)
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
                decay = bn_decay(samples, cfg)
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
            row = epoch_row(epoch + 1, samples, logs, cfg, time.time() - t0)
            if chief:
                run.append_log(row)
                write_scalars(writer, row)
                writer.flush()
                if checkpoints.due(epoch + 1):
                    run.save_checkpoint(net, optimizer, epoch + 1)
                    checkpoints.saved()
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
        for cb in callbacks:
            cb.on_train_end(logs)
    finally:
        if writer is not None:
            writer.close()
