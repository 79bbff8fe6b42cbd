"""The run dir (im2avatar_tf/rundir.py): one training process per folder, a stale lock taken
over, an --out that is a file refused at once, and a failed write named. (Resume, reuse, the
log and the checkpoints themselves: tests/test_training.py.)"""
import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from im2avatar_tf.cli import main
from im2avatar_tf.config import get_preset
from im2avatar_tf.training import train
from tests.test_training import _batch_data, _dataset_fn

ROOT = Path(__file__).resolve().parent.parent


def _hold_lock(run_dir: Path) -> subprocess.Popen:
    """Another process holding `run_dir`'s lock (as a `train` in it would), once it says so."""
    script = textwrap.dedent(f"""
        import sys, time
        from im2avatar_tf.rundir import lock_folder
        with lock_folder({str(run_dir)!r}):
            print("held", flush=True)
            time.sleep(300)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.slow
def test_a_second_train_in_a_run_dir_is_refused_and_a_stale_lock_taken_over(tmp_path, capsys):
    run = tmp_path / "run"
    holder = _hold_lock(run)
    try:
        # Refused before the dataset is even looked at (this --data does not exist).
        assert main(["train", "--data", str(tmp_path / "no-data-needed"), "--out", str(run),
                     "--epochs", "1"]) == 1
        err = capsys.readouterr().err
        assert f"{run} is in use by process {holder.pid}" in err, err
        # The library call too, whatever the data.
        preset = get_preset("tiny").replace(train={"epochs": 1, "batch_size": 4})
        with pytest.raises(OSError, match=f"in use by process {holder.pid}"):
            train(preset, "r2n2", _dataset_fn(_batch_data(preset, n=4), 4), run, verbose=0)
    finally:
        holder.kill()  # as a crash would: its .lock stays behind, naming a PID that is gone
        holder.wait()
    assert (run / ".lock").read_text().split() == [str(holder.pid)]
    train(preset, "r2n2", _dataset_fn(_batch_data(preset, n=4), 4), run, verbose=0)
    assert (run / "r2n2.keras").exists() and not (run / ".lock").exists()


def test_train_out_an_existing_file_is_refused_at_once(tmp_path, capsys):
    out = tmp_path / "notes.txt"
    out.write_text("not a run dir")
    # --data does not exist either: the --out check comes first, before any dataset or cache.
    assert main(["train", "--data", str(tmp_path / "no-data"), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"run dir {out} is a file, not a folder" in err, err
    assert out.read_text() == "not a run dir"


@pytest.mark.slow
def test_a_failed_write_during_training_names_the_file(tmp_path):
    """`ulimit -f` (1 MB) below the size of a checkpoint: one line naming the file and the
    reason, exit status 1 (h5py would crash the process on the failed write: exit 139), and
    nothing left that looks like a run to resume."""
    from tests._toy_data import write_toy_dataset

    write_toy_dataset(tmp_path / "data", categories=("car",), resolution=32)
    out = tmp_path / "run"

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, resource.RLIM_INFINITY))

    proc = subprocess.run(
        [sys.executable, "run.py", "train", "--preset", "tiny", "--data", str(tmp_path / "data"),
         "--category", "car", "--epochs", "1", "--batch-size", "2", "--no-cache",
         "--network", "shape", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, preexec_fn=limit_file_size,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert (f"error: [Errno 27] cannot write {out}/checkpoints/shape/epoch_00001/"
            f"network.weights.h5: File too large") in proc.stderr, proc.stderr[-2000:]
    assert not out.exists()


def test_config_json_is_read_in_one_place_and_a_damaged_one_is_named(tmp_path):
    """A run dir, a model dir, an export and a zoo model all keep their Preset in config.json,
    read by `config.read_preset`: it round-trips, and a missing or truncated file is an error
    naming the file and what makes it, not a JSONDecodeError from deep inside a resume."""
    from im2avatar_tf.config import read_preset
    from im2avatar_tf.models import load_preset
    from im2avatar_tf.rundir import RunDir

    preset = get_preset("tiny")
    run = RunDir(tmp_path / "run", "shape")
    run.open(preset, trains=False)
    assert read_preset(run.path) == preset and run.fresh
    (run.path / "config.json").write_text('{"model": {"image_size"')  # cut off mid-write
    with pytest.raises(ValueError, match=r"run/config\.json is not a readable configuration"):
        RunDir(tmp_path / "run", "shape").open(preset, trains=False)
    with pytest.raises(FileNotFoundError, match=r"elsewhere/config\.json not found: a model dir"):
        load_preset(tmp_path / "elsewhere")
