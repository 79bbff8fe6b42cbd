"""A training run folder and its lifecycle, the same for both trainers (`training.train`,
`distributed.train_multiworker`):

    <run dir>/config.json                 the preset (written once; another one is refused)
              run.json                    command, git revision, date, versions: who trained it
              .lock                       the PID of the process training in it (`RunDir.lock`)
              <network>.keras             the trained network
              log_<network>.csv           one row per epoch
              tensorboard/<network>/      the same rows as TensorBoard scalars
              checkpoints/<network>/epoch_XXXXX/   weights + optimizer variables + epoch
              checkpoints/<network>/finished.json  the done marker

    run = RunDir(out, "shape")
    with run.lock():
        run.open(preset)                  # config.json checked or written, run.json written
        checkpoint = run.resume_point(resume=True)   # None: a fresh start
        ...                               # train: run.append_log(row), run.save_checkpoint(...)
        run.finish(network, epochs, of)   # <network>.keras and the done marker

Every file is written atomically, and a write that fails names the file.
"""
from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional

import numpy as np

from .config import CONFIG_FILE, Preset, TrainConfig, read_preset
from .io import atomic_dir, atomic_write_text, save_keras

if TYPE_CHECKING:  # imported where used: taking a lock needs no TensorFlow
    import keras


class RunDirBusyError(OSError):
    """Another live process is training in this run dir."""


# --------------------------------------------------------------------------- metadata
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


def finished_marker(run_dir: os.PathLike, network: str) -> Path:
    """The file a finished training run of `network` writes in its run dir."""
    return Path(run_dir) / "checkpoints" / network / "finished.json"


def check_folder(path: os.PathLike) -> Path:
    """`path` as a run dir: refused at once when it is an existing file."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"run dir {path} is a file, not a folder: name a new folder "
                                 f"(or an earlier run dir) with --out")
    return path


@contextlib.contextmanager
def naming_the_file(path: os.PathLike):
    """Re-raise an OS error of the block that does not name its file (a write of an open
    file: `[Errno 27] File too large`, `[Errno 28] No space left on device`) naming `path`."""
    try:
        yield
    except OSError as e:
        if e.filename is not None or str(path) in str(e):
            raise
        reason = e.strerror or str(e) or type(e).__name__
        raise OSError(e.errno, f"cannot write {path}: {reason}") from e


def check_room(path: os.PathLike, variables) -> None:
    """Refuse, naming `path`, an h5 file of `variables` that this process's file-size limit
    (`ulimit -f`) or the free space of its disk would not hold: h5py crashes the process
    (a segmentation fault) on a failed write instead of raising. The size is a generous
    estimate (data, plus 4 KiB per variable and 64 KiB), so a file near the limit is refused."""
    import resource

    path = Path(path)
    nbytes = sum(int(np.prod(v.shape)) * np.dtype(v.dtype).itemsize + 4096
                 for v in variables) + 65536
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft != resource.RLIM_INFINITY and nbytes > soft:
        raise OSError(errno.EFBIG, f"cannot write {path}: File too large (about {nbytes} bytes; "
                                   f"this process may write files of at most {soft} bytes: "
                                   f"ulimit -f)")
    folder = next(p for p in (path, *path.parents) if p.exists())
    free = shutil.disk_usage(folder).free
    if nbytes > free:
        raise OSError(errno.ENOSPC, f"cannot write {path}: No space left on device (about "
                                    f"{nbytes} bytes, {free} free)")


# --------------------------------------------------------------------------- the lock
_held: Dict[Path, int] = {}  # run dirs this process holds -> how many `lock()` blocks deep


@contextlib.contextmanager
def lock_folder(path: os.PathLike) -> Iterator[None]:
    """Hold `<path>/.lock` for the block (made with the folder when missing): a second process
    is refused at once, naming the folder and the PID that holds it. The lock is the kernel's
    (`flock`), so a lock whose process is gone is free and is taken over; re-entrant within
    one process. A folder it made is removed at the end if nothing else is in it."""
    path = check_folder(path)
    key = path.resolve()
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    lock_path = path / ".lock"
    fd = _acquire(lock_path)
    _held[key] = 1
    try:
        yield
    finally:
        del _held[key]
        with contextlib.suppress(OSError):
            lock_path.unlink()
        os.close(fd)  # after the unlink: a process locking next finds no file or a new one
        if created:
            with contextlib.suppress(OSError):
                path.rmdir()  # only if empty


def _acquire(lock_path: Path) -> int:
    """An open descriptor of `lock_path` holding its flock, with this PID written in it."""
    while True:
        with naming_the_file(lock_path):
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            holder = lock_pid(lock_path)
            raise RunDirBusyError(
                f"{lock_path.parent} is in use by process {holder or '(unknown)'}, which is "
                f"training in it; wait for it to end (or stop it), or use another --out") from None
        try:  # the file we locked may have been unlinked by its last holder meanwhile
            same = os.fstat(fd).st_ino == os.stat(lock_path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)


def lock_pid(lock_path: Path) -> Optional[int]:
    """The PID a run dir's `.lock` names (None: no file, or none readable)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(lock_path.read_text().split()[0])
    return None


# --------------------------------------------------------------------------- checkpoints
def save_checkpoint(run_dir: Path, network_name: str, network: keras.Model,
                    optimizer: keras.optimizers.Optimizer, epoch: int, keep: int = 2) -> Path:
    """Write weights + optimizer variables + epoch into checkpoints/<network>/epoch_XXXXX/,
    atomically (a killed save leaves no complete-looking one); keep the newest `keep`."""
    final = Path(run_dir) / "checkpoints" / network_name / f"epoch_{epoch:05d}"
    check_room(final / "network.weights.h5", network.weights)
    with naming_the_file(final), atomic_dir(final) as tmp:
        network.save_weights(tmp / "network.weights.h5")
        np.savez(tmp / "optimizer.npz", *[np.asarray(v) for v in optimizer.variables])
        (tmp / "state.json").write_text(json.dumps({"epoch": epoch}))
    for old in checkpoints(run_dir, network_name)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def checkpoints(run_dir: os.PathLike, network: str) -> List[Path]:
    """The complete checkpoints of `network` in `run_dir`, oldest first."""
    root = Path(run_dir) / "checkpoints" / network
    if not root.exists():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("epoch_")
                  and (p / "state.json").exists())


def checkpoint_epoch(ckpt: Path) -> int:
    """The number of finished epochs a checkpoint holds."""
    return int(json.loads((ckpt / "state.json").read_text())["epoch"])


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
    return checkpoint_epoch(ckpt)


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


# --------------------------------------------------------------------------- the log
def append_log(path: Path, row: dict) -> None:
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
    with naming_the_file(path), open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        if new:
            writer.writeheader()
        writer.writerow(row)


def truncate_log(path: Path, epochs: int) -> None:
    """Keep the log rows of the first `epochs` epochs (atomically)."""
    if not path.exists():
        return
    lines = path.read_text().splitlines(keepends=True)
    kept = lines[:1] + [l for l in lines[1:] if int(l.split(",", 1)[0]) <= epochs]
    with naming_the_file(path):
        atomic_write_text(path, "".join(kept))


# --------------------------------------------------------------------------- the run dir
class RunDir:
    """The run folder `path` as one network's training sees it (the layout: module docstring).
    Only the process that trains (the chief, with several workers) calls what writes."""

    def __init__(self, path: os.PathLike, network: str):
        self.path, self.network = Path(path), network
        self.model_path = self.path / f"{network}.keras"
        self.log_path = self.path / f"log_{network}.csv"
        self.tensorboard_dir = self.path / "tensorboard" / network
        self.checkpoint_dir = self.path / "checkpoints" / network
        self.done_marker = finished_marker(self.path, network)
        self.fresh = False  # set by `open`

    def lock(self):
        """`lock_folder(self.path)`: one training process per run dir."""
        return lock_folder(self.path)

    def finished(self) -> bool:
        """Whether a finished network is there to reuse."""
        return self.model_path.exists() and self.done_marker.exists()

    def finished_epochs(self) -> int:
        return int(json.loads(self.done_marker.read_text())["epochs"])

    def open(self, preset: Preset, trains: bool = True) -> None:
        """config.json (written once; a different configuration is refused) and, when this call
        `trains` (starts or resumes), run.json: the command, git revision and versions that
        trained the run dir's networks. Reusing a finished network leaves run.json alone, so it
        keeps naming who trained it (the zoo's manifest reads it). Remembers whether this call
        began the run (`fresh`: no config.json before)."""
        config_path = self.path / CONFIG_FILE
        self.fresh = not config_path.exists()
        self.path.mkdir(parents=True, exist_ok=True)
        if not self.fresh:
            # compared as Presets: fields added since the run dir was made take their defaults
            existing = read_preset(self.path)
            if not same_training(existing, preset):
                raise ValueError(f"{self.path} was made with a different configuration "
                                 f"(see {config_path}); use a new --out folder or delete it")
        else:
            with naming_the_file(config_path):
                atomic_write_text(config_path, preset.to_json())
        if not trains:
            return
        import keras
        import tensorflow as tf

        with naming_the_file(self.path / "run.json"):
            atomic_write_text(self.path / "run.json", json.dumps({
                "command": " ".join(sys.argv), "git_revision": git_revision(),
                "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                "tensorflow": tf.__version__, "keras": keras.__version__,
            }, indent=2))

    def checkpoints(self) -> List[Path]:
        return checkpoints(self.path, self.network)

    def resume_point(self, resume: bool) -> Optional[Path]:
        """The newest checkpoint to continue from when `resume`, or None for a fresh start,
        which forgets any earlier attempt of this network (checkpoints, log). Either way the
        leftovers of a killed save (`.epoch_*.tmp/`, a half-written `.keras`) are removed."""
        self._remove_partial_writes()
        found = self.checkpoints()
        if resume and found:
            return found[-1]
        shutil.rmtree(self.checkpoint_dir, ignore_errors=True)
        self.log_path.unlink(missing_ok=True)
        return None

    def _remove_partial_writes(self) -> None:
        """What `io.atomic_dir` / `atomic_path` leave when their process is killed mid-write."""
        leftovers = [*self.path.glob(f".{self.model_path.name}.*.keras"),
                     *self.path.glob(f".{self.log_path.name}.*.tmp")]
        if self.checkpoint_dir.is_dir():
            leftovers += [*self.checkpoint_dir.glob(".epoch_*.tmp"),
                          *self.checkpoint_dir.glob(".epoch_*.old"),
                          *self.checkpoint_dir.glob(".finished.json.*.tmp")]
        for path in leftovers:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    def truncate_log(self, epochs: int) -> None:
        """Keep the log rows of the first `epochs` epochs: those after them are trained again."""
        truncate_log(self.log_path, epochs)

    def append_log(self, row: dict) -> None:
        append_log(self.log_path, row)

    def summary_writer(self):
        """The TensorBoard writer of this network's scalars."""
        import tensorflow as tf

        return tf.summary.create_file_writer(str(self.tensorboard_dir))

    def save_checkpoint(self, network: keras.Model, optimizer: keras.optimizers.Optimizer,
                        epoch: int) -> Path:
        return save_checkpoint(self.path, self.network, network, optimizer, epoch)

    def forget_if_unstarted(self) -> None:
        """After a failure before the first checkpoint: remove what the attempt wrote (its log,
        TensorBoard folder, empty checkpoint folder) and, when this attempt began the run dir
        (`fresh`) and nothing else is in it, config.json and run.json too (`lock_folder` then
        removes the folder if it made it): nothing looks like a run to resume or holds a
        configuration that would refuse the next attempt."""
        if self.checkpoints():
            return
        for path in (self.checkpoint_dir, self.tensorboard_dir):
            shutil.rmtree(path, ignore_errors=True)
        self.log_path.unlink(missing_ok=True)
        for folder in (self.path / "checkpoints", self.path / "tensorboard"):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty
        if self.fresh and {p.name for p in self.path.iterdir()} <= {"config.json", "run.json",
                                                                     ".lock"}:
            for name in ("config.json", "run.json"):
                (self.path / name).unlink(missing_ok=True)

    def finish(self, network: keras.Model, epochs: int, of: int) -> None:
        """Save the trained network and the done marker (`epochs` trained of the `of` asked:
        a callback may stop training early, e.g. EarlyStopping)."""
        check_room(self.model_path, network.weights)
        with naming_the_file(self.model_path):
            save_keras(network, self.model_path)
        with naming_the_file(self.done_marker):
            atomic_write_text(self.done_marker, json.dumps({"epochs": epochs, "of": of}))
