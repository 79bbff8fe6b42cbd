"""The trainer: released schedules, over-fitting a fixed batch, exact resume (the mirrored
strategy: tests/test_distributed.py, against one device)."""
import json
import os
import sys

import numpy as np
import pytest
import keras
import tensorflow as tf

from im2avatar_tf.cli import main
from im2avatar_tf.config import get_preset
from im2avatar_tf.recipe import StaircaseDecay, bn_decay, learning_rate
from im2avatar_tf.rundir import lock_folder
from im2avatar_tf.training import train


def test_learning_rate_schedule_is_the_released_staircase():
    cfg = get_preset("paper").train  # lr 3e-4, x0.7 every 20k samples, floor 1e-5, batch 60
    sched = StaircaseDecay(cfg.learning_rate, cfg.batch_size, cfg.lr_decay, cfg.lr_decay_samples, cfg.lr_floor)
    steps_per_decay = 20000 / 60
    for step in (0, 333, 334, 1000, 3333, 3334, 20000):
        k = np.floor(step * 60 / 20000)
        expected = max(1e-5, 3e-4 * 0.7 ** k)
        assert float(sched(step)) == pytest.approx(expected, rel=1e-5), step
        assert learning_rate(step * 60, cfg) == pytest.approx(expected, rel=1e-9)
    # The floor is reached after 10 decays (200k samples): 3e-4 * 0.7^10 = 8.5e-6 < 1e-5.
    assert float(sched(int(10 * steps_per_decay) + 1)) == pytest.approx(1e-5)


def test_bn_decay_schedule():
    cfg = get_preset("paper").train
    values = [bn_decay(k * 20000, cfg) for k in range(8)]
    assert values[:4] == [0.5, 0.75, 0.875, 0.9375]
    assert values[-1] == 0.99 and max(values) == 0.99
    assert bn_decay(19999, cfg) == 0.5


def _batch_data(preset, n=8, seed=0):
    rng = np.random.default_rng(seed)
    r, s = preset.model.volume_size, preset.model.image_size
    # A blob-shaped object so the shape target is learnable, with colors and flows.
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, r)] * 3, indexing="ij"), -1)
    occ = np.zeros((n, r, r, r, 1), np.float32)
    for i in range(n):
        radius = 0.4 + 0.3 * rng.random()
        d = np.linalg.norm(grid, axis=-1)
        occ[i, ..., 0] = np.abs(d - radius) < 2.0 / r  # a spherical shell
    color = np.where(occ > 0, rng.random((n, 1, 1, 1, 3)), -1).astype(np.float32)
    flow = np.where(occ > 0, (grid[None, ..., :2] + 1) / 2 * 0.99, -1).astype(np.float32)
    image = np.repeat(rng.random((n, 1, 1, 3)), s, 1).repeat(s, 2).astype(np.float32)
    model_id = np.array([f"toy/{i}".encode() for i in range(n)])  # as the pipeline's batches
    return {"image": image, "occupancy": occ, "color": color, "flow": flow, "model_id": model_id}


def _dataset_fn(data, batch, fail_at=None):
    def fn(epoch):
        if fail_at is not None and epoch == fail_at:
            raise KeyboardInterrupt("simulated kill")
        ds = tf.data.Dataset.from_tensor_slices(data)
        return ds.shuffle(len(data["image"]), seed=epoch).batch(batch, drop_remainder=True)
    return fn


class KillDuring(keras.callbacks.Callback):
    """Simulates a kill in the middle of epoch `epoch` (0-based), after its first batch."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch, self.current = epoch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch:
            raise KeyboardInterrupt("simulated kill")


@pytest.mark.slow
def test_overfits_a_fixed_batch(tmp_path):
    preset = get_preset("tiny").replace(train={"epochs": 40, "batch_size": 4, "checkpoint_every": 40,
                                               "learning_rate": 1e-3})
    data = _batch_data(preset, n=4)
    train(preset, "shape", _dataset_fn(data, 4), tmp_path, verbose=0)
    log = np.genfromtxt(tmp_path / "log_shape.csv", delimiter=",", names=True)
    first, last = float(log["msfcel"][0]), float(log["msfcel"][-1])
    assert last < first / 3, (first, last)  # the stated factor: at least 3x in 40 steps
    assert (tmp_path / "shape.keras").exists()
    assert json.loads((tmp_path / "config.json").read_text())["name"] == "tiny"


def _weights(model):
    return [np.asarray(w) for w in model.weights]


@pytest.mark.slow
def test_resume_after_interruption_equals_uninterrupted_run(tmp_path, monkeypatch):
    tf.config.experimental.enable_op_determinism()
    preset = get_preset("tiny").replace(train={"epochs": 4, "batch_size": 4, "checkpoint_every": 2})
    data = _batch_data(preset, n=8, seed=1)
    full = train(preset, "color", _dataset_fn(data, 4), tmp_path / "full", verbose=0)

    # Killed during epoch 4: epoch 3 finished (and was logged) after the epoch-2 checkpoint,
    # so the resumed run trains epoch 3 again and must not log it twice.
    with pytest.raises(KeyboardInterrupt):
        train(preset, "color", _dataset_fn(data, 4), tmp_path / "cut", verbose=0,
              callbacks=[KillDuring(epoch=3)])
    assert not (tmp_path / "cut" / "color.keras").exists()
    resumed = train(preset, "color", _dataset_fn(data, 4), tmp_path / "cut", verbose=0)

    for a, b in zip(_weights(full), _weights(resumed)):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    log = (tmp_path / "cut" / "log_color.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in log[1:]] == ["1", "2", "3", "4"]
    # A finished run is reused, not retrained, and run.json keeps naming who trained it.
    trained_by = (tmp_path / "cut" / "run.json").read_text()
    assert json.loads(trained_by)["command"] == " ".join(sys.argv)
    monkeypatch.setattr(sys, "argv", ["run.py", "claims", "--reusing"])
    again = train(preset, "color", _dataset_fn(data, 4, fail_at=0), tmp_path / "cut", verbose=0)
    for a, b in zip(_weights(resumed), _weights(again)):
        np.testing.assert_array_equal(a, b)
    assert (tmp_path / "cut" / "run.json").read_text() == trained_by


class StopAfter(keras.callbacks.Callback):
    """Stops training at the end of epoch `epoch` (0-based), as EarlyStopping would."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            self.model.stop_training = True


@pytest.mark.slow
def test_a_run_stopped_early_by_a_callback_records_how_far_it_got(tmp_path, capsys):
    preset = get_preset("tiny").replace(train={"epochs": 4, "batch_size": 4, "checkpoint_every": 4})
    data = _batch_data(preset, n=8)
    train(preset, "r2n2", _dataset_fn(data, 4), tmp_path, verbose=0, callbacks=[StopAfter(1)])
    marker = json.loads((tmp_path / "checkpoints" / "r2n2" / "finished.json").read_text())
    assert marker == {"epochs": 2, "of": 4}
    log = (tmp_path / "log_r2n2.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in log[1:]] == ["1", "2"]
    train(preset, "r2n2", _dataset_fn(data, 4, fail_at=0), tmp_path, verbose=1)  # reused
    assert "already trained (2 of 4 epochs)" in capsys.readouterr().out


@pytest.mark.slow
def test_different_config_in_same_run_dir_is_refused(tmp_path):
    preset = get_preset("tiny").replace(train={"epochs": 1, "batch_size": 4})
    data = _batch_data(preset, n=4)
    train(preset, "r2n2", _dataset_fn(data, 4), tmp_path, verbose=0)
    with pytest.raises(ValueError, match="different configuration"):
        train(preset.replace(train={"epochs": 2}), "r2n2", _dataset_fn(data, 4), tmp_path, verbose=0)


@pytest.mark.slow
def test_run_dirs_made_before_a_config_field_existed_are_still_theirs(tmp_path):
    """A run dir whose config.json predates a field (here the step schedule, the output
    BatchNorm switch and the validation losses) is resumed / reused, and keeps its name: the new fields at their
    defaults leave both the comparison and the run-dir key unchanged."""
    import hashlib

    from im2avatar_tf.runs import config_key

    preset = get_preset("tiny").replace(train={"epochs": 1, "batch_size": 4})
    data = _batch_data(preset, n=4)
    train(preset, "r2n2", _dataset_fn(data, 4), tmp_path, verbose=0)
    old = json.loads((tmp_path / "config.json").read_text())
    del old["train"]["steps"], old["model"]["decoder"]["output_batchnorm"]
    del old["train"]["validate_every"], old["train"]["checkpoint_minutes"]
    (tmp_path / "config.json").write_text(json.dumps(old, indent=2, sort_keys=True))
    train(preset, "r2n2", _dataset_fn(data, 4), tmp_path, verbose=0)  # reused, not refused
    old_key = hashlib.sha1(json.dumps(old, indent=2, sort_keys=True).encode()).hexdigest()[:6]
    assert config_key(preset) == old_key
    assert config_key(preset.replace(train={"steps": 10})) != old_key
    assert config_key(preset.replace(model={"decoder": {"output_batchnorm": False}})) != old_key
    assert config_key(preset.replace(train={"validate_every": 2})) != old_key
    # How often a run is checkpointed is not what it trains: never in the key.
    assert config_key(preset.replace(train={"checkpoint_minutes": 0.5})) == old_key


def test_checkpoint_clock_saves_by_epochs_and_by_wall_time():
    from dataclasses import replace

    from im2avatar_tf.rundir import CheckpointClock

    now = [0.0]
    cfg = replace(get_preset("tiny").train, epochs=9, checkpoint_every=4, checkpoint_minutes=2)
    clock = CheckpointClock(cfg, clock=lambda: now[0])
    assert [e for e in range(1, 10) if clock.due(e)] == [4, 8, 9]  # every 4 epochs and the last
    now[0] = 119.0
    assert not clock.due(1)
    now[0] = 120.0  # two minutes since the start
    assert clock.due(1)
    clock.saved()
    now[0] = 200.0
    assert not clock.due(2)  # 80 s since that checkpoint
    off = CheckpointClock(replace(cfg, checkpoint_minutes=0), clock=lambda: now[0])
    now[0] = 1e9
    assert not off.due(1)


@pytest.mark.slow
def test_a_run_killed_between_epoch_checkpoints_resumes_from_the_timed_one(tmp_path, capsys):
    """With checkpoint_every beyond the run, only the wall-time clock checkpoints (here after
    every epoch): a run killed in its third epoch resumes from the end of the second, with
    another clock setting (not "a different configuration"), and logs every epoch once."""
    preset = get_preset("tiny").replace(train={"epochs": 4, "batch_size": 4, "checkpoint_every": 100,
                                               "checkpoint_minutes": 1e-9})
    data = _batch_data(preset, n=8, seed=1)
    with pytest.raises(KeyboardInterrupt):
        train(preset, "r2n2", _dataset_fn(data, 4), tmp_path, verbose=0, callbacks=[KillDuring(epoch=2)])
    folder = tmp_path / "checkpoints" / "r2n2"
    assert sorted(p.name for p in folder.iterdir()) == ["epoch_00001", "epoch_00002"]  # keep 2
    _assert_runs_says(tmp_path, capsys, "r2n2: stopped (its command resumes it), 2/4 epochs "
                                        "(16 samples of batch 4)")
    with lock_folder(tmp_path):  # as the training process holds it
        _assert_runs_says(tmp_path, capsys, f"r2n2: training (process {os.getpid()}), 2/4")
    # What a save killed by SIGTERM leaves (io.atomic_dir's folder): gone after the resume.
    (folder / ".epoch_00003.k2j4.tmp").mkdir()
    (folder / ".epoch_00003.k2j4.tmp" / "network.weights.h5").write_bytes(b"half")
    capsys.readouterr()
    train(preset.replace(train={"checkpoint_minutes": 3}), "r2n2", _dataset_fn(data, 4), tmp_path,
          verbose=1)
    out = capsys.readouterr().out
    assert "resuming r2n2 from" in out and "(epoch 2/4)" in out, out
    log = (tmp_path / "log_r2n2.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in log[1:]] == ["1", "2", "3", "4"]
    assert not list(folder.glob(".epoch_*")) and not (tmp_path / ".lock").exists()
    _assert_runs_says(tmp_path, capsys, "r2n2: finished, 4/4 epochs (32 samples of batch 4)")
    assert main(["runs", str(tmp_path), "--csv", str(tmp_path / "runs.csv")]) == 0
    row = (tmp_path / "runs.csv").read_text().splitlines()
    assert row[0].startswith("path,network,preset,batch_size,epochs_done,epochs_planned,samples")
    assert ",r2n2,tiny,4,4,4,32," in row[1]


def _assert_runs_says(folder, capsys, expected: str) -> None:
    """`python run.py runs FOLDER` prints `expected` in the line of its one training."""
    capsys.readouterr()
    assert main(["runs", str(folder)]) == 0
    out = capsys.readouterr().out
    assert expected in out, out


@pytest.mark.parametrize("minutes, saved", [(2, [2, 4, 5]), (0, [5])])
@pytest.mark.slow
def test_the_trainer_checkpoints_by_wall_time_from_the_last_save(tmp_path, monkeypatch,
                                                                 minutes, saved):
    """A clock that moves 70 s per reading, a checkpoint due 2 minutes after the last: the
    trainer saves after epochs 2 and 4 (each save restarts the clock) and the last one; with
    the clock off, only the last."""
    from im2avatar_tf import rundir, training

    ticks = iter(range(0, 10_000, 70))
    real_clock, real_save = training.CheckpointClock, rundir.save_checkpoint
    monkeypatch.setattr(training, "CheckpointClock",
                        lambda cfg: real_clock(cfg, clock=lambda: float(next(ticks))))
    epochs = []
    monkeypatch.setattr(rundir, "save_checkpoint",
                        lambda *args: epochs.append(args[-1]) or real_save(*args))
    preset = get_preset("tiny").replace(train={"epochs": 5, "batch_size": 4, "checkpoint_every": 100,
                                               "checkpoint_minutes": minutes})
    train(preset, "r2n2", _dataset_fn(_batch_data(preset, n=4), 4), tmp_path, verbose=0)
    assert epochs == saved


def test_checkpoint_minutes_is_a_flag_of_train_and_the_experiments():
    import argparse

    from im2avatar_tf.commands.options import (add_preset_argument, add_schedule_arguments,
                                               preset_from_args)

    parser = argparse.ArgumentParser()
    add_preset_argument(parser)
    add_schedule_arguments(parser)
    assert preset_from_args(parser.parse_args(["--checkpoint-minutes", "0"])).train.checkpoint_minutes == 0
    assert preset_from_args(parser.parse_args([])).train.checkpoint_minutes == 5
    with pytest.raises(SystemExit):
        parser.parse_args(["--checkpoint-minutes", "-1"])


@pytest.mark.slow
def test_mixed_bfloat16_training_runs_and_keeps_float32_outputs(tmp_path):

    preset = get_preset("tiny").replace(train={"epochs": 1, "batch_size": 4,
                                               "mixed_precision": "mixed_bfloat16"})
    net = train(preset, "color", _dataset_fn(_batch_data(preset, 4), 4), tmp_path, verbose=0)
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored
    out = net(_batch_data(preset, 1)["image"])
    for key in ("regressed", "confidence", "flow", "sampled", "blended"):
        assert out[key].dtype == "float32", key
    assert np.isfinite(np.genfromtxt(tmp_path / "log_color.csv", delimiter=",", names=True)["loss"])


@pytest.mark.slow
def test_train_command_writes_a_model_dir_that_records_the_background(tmp_path):
    """`python run.py train` end to end on a tiny dataset in the released layout: shape and
    color networks land in one model dir whose config remembers the views' background."""
    from im2avatar_tf.inference import Im2Avatar
    from tests._toy_data import write_toy_dataset

    data = tmp_path / "data"
    write_toy_dataset(data, categories=("car",), resolution=32)
    out = tmp_path / "run"
    assert main(["train", "--preset", "tiny", "--data", str(data), "--category", "car",
                 "--epochs", "1", "--batch-size", "2", "--out", str(out), "--no-cache"]) == 0
    model = Im2Avatar.from_dir(out)
    preset, shape = model.preset, model.shape
    assert preset.data.categories == ("car",) and preset.train.epochs == 1
    assert tuple(preset.data.background) == (245, 245, 245)  # the release's default, no meta.json
    assert shape.output.shape[1:] == (32, 32, 32, 1)
    # A missing dataset is one clear error, not a traceback.
    assert main(["train", "--data", str(tmp_path / "nope"), "--out", str(out)]) == 1


@pytest.mark.slow
def test_validation_losses_are_logged_every_n_epochs(tmp_path, capsys):
    """--validate-every 2: val_loss and val_<part> columns in every row of the log, filled
    at the second and the last epoch with the loss of the validation split in inference mode; a run dir of
    its own. Without a validation split, training goes on with a note."""
    import pandas as pd

    from tests._toy_data import write_toy_dataset

    data = write_toy_dataset(tmp_path / "data", categories=("car",), resolution=32,
                             split_sizes={"train": 4, "val": 4, "test": 1})
    out = tmp_path / "run"
    assert main(["train", "--preset", "tiny", "--data", str(data), "--category", "car",
                 "--epochs", "3", "--batch-size", "4", "--validate-every", "2", "--out",
                 str(out), "--no-cache"]) == 0
    for network, part in (("shape", "msfcel"), ("color", "blend")):
        log = pd.read_csv(out / f"log_{network}.csv")
        assert list(log.epoch) == [1, 2, 3]
        assert log.val_loss.isna().tolist() == [True, False, False], log  # and the last epoch
        assert log[f"val_{part}"].notna().tolist() == [False, True, True]
        assert (log.val_loss.dropna() > 0).all() and (log.loss > 0).all()
    assert json.loads((out / "config.json").read_text())["train"]["validate_every"] == 2

    no_val = write_toy_dataset(tmp_path / "noval", categories=("car",), resolution=32,
                               split_sizes={"train": 4, "test": 1})
    out2 = tmp_path / "run2"
    assert main(["train", "--preset", "tiny", "--data", str(no_val), "--category", "car",
                 "--epochs", "1", "--batch-size", "2", "--validate-every", "1", "--out",
                 str(out2), "--no-cache", "--network", "shape"]) == 0
    assert "no validation split" in capsys.readouterr().out
    assert "val_loss" not in pd.read_csv(out2 / "log_shape.csv").columns
    # fewer validation models (2) than one batch (8): a note, no validation, no crash
    short = write_toy_dataset(tmp_path / "short", categories=("car",), resolution=32,
                              split_sizes={"train": 8, "val": 2, "test": 1})
    assert main(["train", "--preset", "tiny", "--data", str(short), "--category", "car",
                 "--epochs", "1", "--batch-size", "8", "--validate-every", "1", "--out",
                 str(tmp_path / "run4"), "--no-cache", "--network", "shape"]) == 0
    assert "fewer than one batch" in capsys.readouterr().out


def test_a_log_keeps_its_columns_across_attempts(tmp_path):
    """Rows are written under the existing header: a missing value is empty, an unknown column
    refused, so values never shift under another column's name."""
    import pandas as pd

    from im2avatar_tf.rundir import append_log

    log = tmp_path / "log_shape.csv"
    append_log(log, {"epoch": 1, "loss": 0.5, "val_loss": 0.4, "seconds": 1.0})
    append_log(log, {"epoch": 2, "loss": 0.3, "seconds": 2.0})
    df = pd.read_csv(log)
    assert df.seconds.tolist() == [1.0, 2.0] and df.val_loss.isna().tolist() == [False, True]
    with pytest.raises(ValueError, match="no column for"):
        append_log(log, {"epoch": 3, "loss": 0.2, "val_msfcel": 0.1, "seconds": 3.0})


@pytest.mark.slow
def test_progress_is_one_line_per_network_not_a_bar_per_epoch(tmp_path, capsys):
    """verbose training shows one tqdm line (epoch n/N, loss, samples/s, time left) instead
    of Keras's per-epoch bars; the per-epoch detail is in the CSV log."""
    preset = get_preset("tiny").replace(train={"epochs": 3, "batch_size": 2,
                                               "checkpoint_every": 3})
    train(preset, "shape", _dataset_fn(_batch_data(preset, n=2), 2), tmp_path, verbose=1)
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert "Epoch 1/3" not in printed and "step/" not in printed  # no Keras bars
    final = printed.replace("\r", "\n").strip().splitlines()[-1]
    assert final.startswith("shape: 100%") and "3/3" in final and "loss=" in final
    assert "samples/s=" in final
    assert len(np.genfromtxt(tmp_path / "log_shape.csv", delimiter=",", names=True)) == 3
