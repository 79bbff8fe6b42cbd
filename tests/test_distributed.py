"""Distributed training: loss pooling across replicas, and a real two-worker
MultiWorkerMirroredStrategy cluster on loopback ports (TF_CONFIG), including a killed worker.

Tolerance of "two workers equal one process on the same global batches": every epoch's logged
loss within a relative 1e-5 (1e-4 for `mirrored` through model.fit), at least 99 % of the
weights within 1e-5 (absolute), and every weight within 2 * steps * learning_rate (2.4e-3 here). The last bound is Adam's: a step moves a weight by at most about the
learning rate, and the conv biases right before a BatchNorm have a true gradient of zero, so
Adam turns the rounding noise of their gradients (different summation orders in the
all-reduce) into full-size steps of either sign. Everything else agrees to float32 rounding.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "tests" / "_multiworker_worker.py"
EPOCHS, STEPS_PER_EPOCH, LR = 2, 2, 3e-4  # 8 toy models, batch 4; tiny's learning rate
TIMEOUT = 300  # generous (shared 2-core machine); a hang still fails


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env.update(CUDA_VISIBLE_DEVICES="", PYTHONPATH=str(ROOT), **extra)
    return env


@pytest.mark.slow
def test_losses_pool_over_the_global_batch_across_replicas():
    """MSFCEL (both reductions) and the masked L1/L2 color losses: on 2 replicas (MirroredStrategy
    on 2 logical CPUs) every replica holds the 1-replica loss of the whole global batch, and the
    summed gradients of loss / replicas equal the 1-replica gradient. The samples have very
    different occupied-voxel counts (one none), so per-replica pooling would differ."""
    script = textwrap.dedent("""
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from im2avatar_tf.losses import MSFCEL, MaskedColorLoss
        rng = np.random.default_rng(0)
        B, R = 4, 8
        occ = np.zeros((B, R, R, R, 1), np.float32)
        occ[0, 2:5, 2:5, 2:5] = 1; occ[1, 1:3, 1:7, 3:4] = 1; occ[2, 4, 4, 4] = 1
        logits = rng.normal(size=occ.shape).astype(np.float32)
        keep = np.array([.3, .05, .6, 0.]).reshape(B, 1, 1, 1, 1)
        gt = np.where(rng.random((B, R, R, R, 3)) < keep, rng.random((B, R, R, R, 3)), -1).astype(np.float32)
        pred = rng.random(gt.shape).astype(np.float32)
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        assert strategy.num_replicas_in_sync == 2
        for name, loss, y, p in [("msfcel", MSFCEL(), occ, logits),
                                 ("msfcel_sample", MSFCEL("sample"), occ, logits),
                                 ("l1", MaskedColorLoss(), gt, pred),
                                 ("l2", MaskedColorLoss("l2"), gt, pred)]:
            var = tf.Variable(p)
            with tf.GradientTape() as tape:
                one = loss(y, var)
            g1 = tape.gradient(one, var).numpy()
            with strategy.scope():
                v2 = tf.Variable(p)
            ds = tf.data.Dataset.from_tensor_slices((y, np.arange(B))).batch(B)
            batch = next(iter(strategy.experimental_distribute_dataset(ds)))

            @tf.function
            def step(batch):
                def fn(b):
                    yy, idx = b
                    with tf.GradientTape() as tape:
                        value = loss(yy, tf.gather(v2, idx))
                        scaled = value / 2  # as the trainers do: the replicas' gradients add
                    return value, tf.convert_to_tensor(tape.gradient(scaled, v2))
                return strategy.run(fn, args=(batch,))
            value, grad = step(batch)
            values = [float(v) for v in strategy.experimental_local_results(value)]
            g2 = sum(g.numpy() for g in strategy.experimental_local_results(grad))
            np.testing.assert_allclose(values, [float(one)] * 2, rtol=1e-6, err_msg=name)
            np.testing.assert_allclose(g2, g1, rtol=0, atol=1e-6 * np.abs(g1).max(), err_msg=name)
            print(name, float(one), values)
        print("POOLING_OK")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=TIMEOUT, env=_env(), cwd=ROOT)
    assert "POOLING_OK" in out.stdout, out.stdout[-2000:] + out.stderr[-3000:]


# --------------------------------------------------------------------------- two workers
def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _start(data, run_dir, weights, strategy, tf_config=None, kill_at=None, log=None):
    env = _env(TF_CONFIG=json.dumps(tf_config)) if tf_config else _env()
    args = [sys.executable, str(WORKER), str(data), str(run_dir), str(weights), strategy,
            str(EPOCHS)] + ([str(kill_at)] if kill_at else [])
    return subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            text=True)


def _cluster(tmp, name, data, run_dir, kill_at=None):
    """Start a 2-worker cluster; returns [(process, weights path, log path)] for workers 0, 1."""
    hosts = [f"localhost:{p}" for p in _free_ports(2)]
    out = []
    for i in range(2):
        cfg = {"cluster": {"worker": hosts}, "task": {"type": "worker", "index": i}}
        weights, log = tmp / f"{name}{i}.npz", tmp / f"{name}{i}.log"
        proc = _start(data, run_dir, weights, "multiworker", cfg,
                      kill_at=kill_at if i == 1 else None, log=open(log, "w"))
        out.append((proc, weights, log))
    return out


def _wait(proc, log):
    try:
        rc = proc.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"worker still running after {TIMEOUT} s (a hang):\n{log.read_text()[-3000:]}")
    return rc


def _load(path):
    with np.load(path) as f:
        return [f[k] for k in f.files]


@pytest.fixture(scope="module")
def toy_data(tmp_path_factory):
    from tests._toy_data import write_toy_dataset

    root = tmp_path_factory.mktemp("mw_data")
    write_toy_dataset(root, categories=("car",), split_sizes={"train": 8}, resolution=32)
    return root


@pytest.fixture(scope="module")
def two_worker_run(tmp_path_factory, toy_data):
    """Two workers (2 epochs, uninterrupted) and one single process on the same data, at once."""
    tmp = tmp_path_factory.mktemp("mw_run")
    workers = _cluster(tmp, "w", toy_data, tmp / "run_mw")
    single_log = tmp / "single.log"
    single = _start(toy_data, tmp / "run_single", tmp / "single.npz", "default",
                    log=open(single_log, "w"))
    rcs = [_wait(p, log) for p, _, log in workers] + [_wait(single, single_log)]
    return tmp, workers, rcs, single_log


@pytest.mark.slow
def test_two_workers_train_like_one_process(two_worker_run):
    tmp, workers, rcs, single_log = two_worker_run
    logs = [log.read_text() for _, _, log in workers] + [single_log.read_text()]
    assert rcs == [0, 0, 0], "\n\n".join(l[-3000:] for l in logs)
    w0, w1 = _load(workers[0][1]), _load(workers[1][1])
    single = _load(tmp / "single.npz")
    for a, b in zip(w0, w1):  # the replicas of one run: identical
        np.testing.assert_array_equal(a, b)
    # Against one process on the same global batches (the module docstring's tolerance).
    bound = 2 * EPOCHS * STEPS_PER_EPOCH * LR
    diff = np.concatenate([np.abs(a - b).ravel() for a, b in zip(w0, single)])
    assert diff.max() <= bound, diff.max()
    assert np.mean(diff <= 1e-5) >= 0.99, np.mean(diff <= 1e-5)
    mw = np.genfromtxt(tmp / "run_mw" / "log_shape.csv", delimiter=",", names=True)
    one = np.genfromtxt(tmp / "run_single" / "log_shape.csv", delimiter=",", names=True)
    assert list(mw["epoch"]) == [1, 2] and list(mw["samples"]) == [8, 16]
    np.testing.assert_allclose(mw["loss"], one["loss"], rtol=1e-5)
    np.testing.assert_allclose(mw["msfcel"], one["msfcel"], rtol=1e-5)
    # The chief wrote one model dir (a loadable model, checkpoints, TensorBoard).
    from im2avatar_tf.models import load_network

    run = tmp / "run_mw"
    assert (run / "config.json").exists() and (run / "tensorboard" / "shape").is_dir()
    assert json.loads((run / "checkpoints" / "shape" / "finished.json").read_text())["epochs"] == 2
    net = load_network(run / "shape.keras")
    for a, b in zip(w0, net.weights):
        np.testing.assert_array_equal(a, np.asarray(b))
    assert not any(getattr(l, "synchronized", False) for l in net.layers)


@pytest.mark.slow
def test_a_killed_worker_stops_the_other_with_a_clear_message_and_the_run_resumes(
        two_worker_run, toy_data):
    tmp = two_worker_run[0]
    run_dir = tmp / "run_killed"
    # Worker 1 kills itself (SIGKILL) after 3 steps: in the middle of epoch 2, after the
    # chief's epoch-1 checkpoint.
    (p0, _, log0), (p1, _, log1) = _cluster(tmp, "k", toy_data, run_dir, kill_at=3)
    assert _wait(p1, log1) == -signal.SIGKILL, log1.read_text()[-3000:]
    t0 = time.time()
    rc0 = _wait(p0, log0)  # the survivor stops by itself (bounded by TIMEOUT, not forever)
    text = log0.read_text()
    assert rc0 == 1, text[-3000:]
    assert "WorkerLostError" in text and "a worker of the cluster is gone" in text, text[-3000:]
    assert "Restart every worker" in text and "epoch_00001" in text, text[-3000:]
    print(f"survivor stopped {time.time() - t0:.1f} s after the other worker died")
    ckpts = sorted(p.name for p in (run_dir / "checkpoints" / "shape").iterdir())
    assert ckpts == ["epoch_00001"]

    # Restarted with the same command: resumes from epoch 1 and ends where an uninterrupted
    # run ends (the same weights: the data of an epoch depend only on seed and epoch).
    workers = _cluster(tmp, "r", toy_data, run_dir)
    rcs = [_wait(p, log) for p, _, log in workers]
    assert rcs == [0, 0], "\n\n".join(log.read_text()[-3000:] for _, _, log in workers)
    resumed, other = _load(workers[0][1]), _load(workers[1][1])
    uninterrupted = _load(two_worker_run[1][0][1])
    for a, b, c in zip(resumed, other, uninterrupted):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=0, atol=1e-6)
    rows = (run_dir / "log_shape.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2"]


def test_multiworker_without_tf_config_is_one_clear_error(tmp_path, toy_data, capsys,
                                                           monkeypatch):
    from im2avatar_tf.cli import main

    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert main(["train", "--preset", "tiny", "--network", "shape", "--strategy", "multiworker",
                 "--data", str(toy_data), "--category", "car", "--epochs", "1",
                 "--batch-size", "4", "--no-cache", "--out", str(tmp_path / "run")]) == 1
    assert "needs TF_CONFIG" in capsys.readouterr().err


def _lone_worker(tmp_path, data, name, timeout_s):
    """`python run.py train --strategy multiworker` as worker 0 of a 2-worker cluster whose
    worker 1 is never started."""
    hosts = [f"localhost:{p}" for p in _free_ports(2)]
    tf_config = {"cluster": {"worker": hosts}, "task": {"type": "worker", "index": 0}}
    env = _env(TF_CONFIG=json.dumps(tf_config), IM2AVATAR_WORKER_TIMEOUT=str(timeout_s))
    args = [sys.executable, "run.py", "train", "--preset", "tiny", "--network", "shape",
            "--strategy", "multiworker", "--data", str(data), "--category", "car",
            "--epochs", "1", "--batch-size", "4", "--no-cache", "--out", str(tmp_path / name)]
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_as_from_a_terminal)
    return proc, hosts[1]


def _as_from_a_terminal():
    """Default signal dispositions in the child, as a command typed at a terminal has: a
    harness started in the background (a non-interactive shell's `cmd &`) ignores SIGINT, and
    an ignored signal is inherited, so Ctrl+C would otherwise reach a worker that ignores it."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


def _stderr_until(proc, text: str) -> str:
    seen = ""
    for line in proc.stderr:
        seen += line
        if text in line:
            return seen
    pytest.fail(f"the worker ended without saying {text!r}:\n{seen[-3000:]}")


@pytest.mark.slow
def test_a_worker_waiting_for_an_absent_one_says_so_times_out_and_stops_on_signals(
        tmp_path, toy_data):
    """Worker 1 never starts. Worker 0 says it waits for it and for how long; with a 5 s
    start-up timeout it ends with a clear error; with a long one, Ctrl+C (SIGINT) and SIGTERM
    end the wait (TensorFlow's own wait ignores both). The three run at once."""
    timed, absent = _lone_worker(tmp_path, toy_data, "timed", 5)
    waits = {sig: _lone_worker(tmp_path, toy_data, sig.name, 600)[0]
             for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig, proc in waits.items():
        said = _stderr_until(proc, "waiting for worker(s) 1 (")
        assert "of at most 600 s" in said, said
        t0 = time.monotonic()
        proc.send_signal(sig)
        try:  # 1-4 s on a quiet or busy 2-core machine
            _, rest = proc.communicate(timeout=90)  # drained: a full stderr pipe cannot block it
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"{sig.name} did not end the wait within 90 s:\n"
                        f"{(said + proc.communicate()[1])[-3000:]}")
        assert proc.returncode != 0, rest[-3000:]
    err = timed.communicate(timeout=TIMEOUT)[1]
    assert timed.returncode == 1, err[-3000:]
    assert f"waiting for worker(s) 1 ({absent}) to start (0 s of at most 5 s" in err, err[-3000:]
    assert f"error: worker(s) 1 ({absent}) did not start within 5 s" in err, err[-3000:]


@pytest.mark.slow
def test_mirrored_on_two_devices_trains_like_one_device(tmp_path):
    """`--strategy mirrored` (model.fit, 2 logical CPUs) shares the loss pooling and the
    synchronized BatchNorm: the shape network trained 2 epochs on 2 replicas equals the
    one-device run, within the module docstring's tolerance. (The epochs are fixed numpy
    permutations: a `Dataset.shuffle` is not reproduced under a strategy's dataset rewrite.
    The color network is not compared: its nearest-pixel sampler turns rounding noise in the
    flow into different pixels.)"""
    script = textwrap.dedent(f"""
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from tests.test_training import _batch_data
        from im2avatar_tf.config import get_preset
        from im2avatar_tf.training import train
        p = get_preset("tiny").replace(train={{"epochs": {EPOCHS}, "batch_size": 4}})
        data = _batch_data(p, 8, seed=3)
        data.pop("model_id")

        def epochs(epoch):
            perm = np.random.default_rng(epoch).permutation(8)
            return tf.data.Dataset.from_tensor_slices({{k: v[perm] for k, v in data.items()}}).batch(4)

        runs = {{}}
        for strategy in ("default", "mirrored"):
            net = train(p, "shape", epochs, {str(tmp_path)!r} + "/" + strategy,
                        strategy=strategy, verbose=0)
            runs[strategy] = [np.asarray(w) for w in net.trainable_weights]
        diff = np.concatenate([np.abs(a - b).ravel() for a, b in zip(*runs.values())])
        bound = 2 * {EPOCHS} * 2 * p.train.learning_rate
        print("MAXDIFF", diff.max(), bound, np.mean(diff <= 1e-5))
        assert diff.max() <= bound, (diff.max(), bound)
        assert np.mean(diff <= 1e-5) >= 0.99, np.mean(diff <= 1e-5)
        logs = [np.genfromtxt({str(tmp_path)!r} + f"/{{s}}/log_shape.csv", delimiter=",", names=True)
                for s in runs]
        for key in ("loss", "msfcel"):  # 1e-4 here: fit's 2-replica path measured 3e-5
            np.testing.assert_allclose(logs[0][key], logs[1][key], rtol=1e-4, err_msg=key)
        print("MIRRORED_EQUAL")
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=TIMEOUT, env=_env(), cwd=ROOT)
    assert "MIRRORED_EQUAL" in out.stdout, out.stdout[-2000:] + out.stderr[-3000:]
