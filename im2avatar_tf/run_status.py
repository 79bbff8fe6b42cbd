"""Where each training stands, read from its run dir (the layout: `rundir`): epochs done of
those planned, the wall time its epochs took, its speed, its last validation loss and whether
it is finished, training now or stopped (to resume by running its command again). Read-only:
it takes no lock and imports no TensorFlow, so it can watch a training from beside it.

    for status in find_statuses("runs"):
        print(status.line())
"""
from __future__ import annotations

import csv
import json
import os
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

from .config import CONFIG_FILE, read_preset
from .rundir import RunDir, lock_pid

LOG_PREFIX = "log_"


@dataclass
class RunStatus:
    path: Path  # the run dir
    network: str  # "shape", "color", "r2n2", ...
    preset: str
    batch_size: int
    epochs_done: int  # logged epochs
    epochs_planned: int
    samples: int  # samples trained on, over the logged epochs
    seconds: float  # the logged epochs' wall time, summed (time between sessions is not in it)
    samples_per_second: Optional[float]  # the median epoch's
    val_loss: Optional[float]  # the last logged
    val_epoch: Optional[int]  # its epoch
    state: str  # "finished", "training (process N)" or "stopped"

    def line(self) -> str:
        """One line a person reads."""
        speed = (f", {self.samples_per_second:.1f} samples/s (median epoch)"
                 if self.samples_per_second else "")
        val = (f", val_loss {self.val_loss:.3f} at epoch {self.val_epoch}"
               if self.val_loss is not None else "")
        return (f"{self.path}  {self.network}: {self.state}, {self.epochs_done}/"
                f"{self.epochs_planned} epochs ({self.samples:,} samples of batch "
                f"{self.batch_size}) in {duration(self.seconds)}{speed}{val}")


def duration(seconds: float) -> str:
    """'1 h 48 min', '15 min', '40 s'."""
    minutes = round(seconds / 60)
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def run_status(run_dir: os.PathLike, network: str) -> RunStatus:
    """The status of `network`'s training in `run_dir` (config.json and its log)."""
    run_dir = Path(run_dir)
    preset = read_preset(run_dir, "the folder is not a run dir")
    train = preset.train
    rows = _log_rows(RunDir(run_dir, network).log_path)
    seconds = [float(r["seconds"]) for r in rows if r.get("seconds")]
    samples = [int(float(r["samples"])) for r in rows if r.get("samples")]
    speeds = [(b - a) / s for a, b, s in zip([0] + samples, samples, seconds) if s > 0]
    validated = [r for r in rows if r.get("val_loss")]
    return RunStatus(
        path=run_dir, network=network, preset=preset.name,
        batch_size=train.batch_size, epochs_done=len(rows), epochs_planned=train.epochs,
        samples=samples[-1] if samples else 0, seconds=sum(seconds),
        samples_per_second=statistics.median(speeds) if speeds else None,
        val_loss=float(validated[-1]["val_loss"]) if validated else None,
        val_epoch=int(validated[-1]["epoch"]) if validated else None,
        state=_state(run_dir, network))


def find_statuses(root: os.PathLike) -> List[RunStatus]:
    """Every training under `root` (a run dir or a folder of them, e.g. runs/): one status per
    network log, sorted by path."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"{root} not found: name a run dir or a folder of them "
                                f"(training writes them under runs/)")
    out = []
    for config in sorted([root / CONFIG_FILE] if (root / CONFIG_FILE).exists()
                         else root.rglob(CONFIG_FILE)):
        for log in sorted(config.parent.glob(f"{LOG_PREFIX}*.csv")):
            out.append(run_status(config.parent, log.stem[len(LOG_PREFIX):]))
    return out


def _log_rows(path: Path) -> List[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _state(run_dir: Path, network: str) -> str:
    run = RunDir(run_dir, network)
    if run.finished():
        done = json.loads(run.done_marker.read_text())
        return "finished" + ("" if done["epochs"] == done["of"] else
                             f" (stopped early at {done['epochs']} of {done['of']})")
    pid = _live(lock_pid(run_dir / ".lock"))
    return f"training (process {pid})" if pid else "stopped (its command resumes it)"


def _live(pid: Optional[int]) -> Optional[int]:
    """`pid` while that process lives (a killed training leaves its `.lock` behind)."""
    if pid is None:
        return None
    try:
        os.kill(pid, 0)  # signal 0: only asks whether it exists
    except PermissionError:
        return pid  # alive, another user's
    except OSError:
        return None
    return pid
