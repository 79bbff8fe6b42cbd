"""Options shared by several commands (and the experiments), so they read the same
everywhere, and the one function that turns them into a Preset (`preset_from_args`)."""
from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Optional

from ..config import PRESETS, get_preset


# ----------------------------------------------------------------- numeric option types
# argparse `type=`s that check a range, so a bad number is refused with the usual usage line
# ("argument --epochs: must be an integer >= 1, got 0") before anything is read or written.
def int_range(lo=None, hi=None):
    """An argparse type: an int in [lo, hi] (either end may be None: unbounded)."""
    if lo is not None and hi is not None:
        want = f"an integer from {lo} to {hi}"
    elif lo is not None:
        want = f"an integer >= {lo}"
    else:
        want = f"an integer <= {hi}" if hi is not None else "an integer"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"must be {want}, got {value}")
        return value

    parse.__name__ = want  # what argparse names in its own messages
    return parse


def float_range(lo=None, hi=None, lo_open: bool = False, hi_open: bool = False):
    """An argparse type: a finite float between lo and hi (open ends exclude the bound)."""
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {lo:g}")
    if hi is not None:
        parts.append(f"{'<' if hi_open else '<='} {hi:g}")
    want = "a number" + (" " + " and ".join(parts) if parts else "")

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}") from None
        bad = not math.isfinite(value)
        if lo is not None:
            bad |= value <= lo if lo_open else value < lo
        if hi is not None:
            bad |= value >= hi if hi_open else value > hi
        if bad:
            raise argparse.ArgumentTypeError(f"must be {want}, got {text}")
        return value

    parse.__name__ = want
    return parse


positive_int = int_range(1)        # counts, sizes, epochs, steps, workers
nonnegative_int = int_range(0)     # seeds, optional counts where 0 means none
probability = float_range(0.0, 1.0, lo_open=True, hi_open=True)  # occupancy thresholds
unit_interval = float_range(0.0, 1.0)                             # blend thresholds, fractions
nonnegative_float = float_range(0.0)                              # minutes where 0 means never


def add_preset_argument(parser: argparse.ArgumentParser, default: str = "tiny") -> None:
    parser.add_argument("--preset", default=default, choices=sorted(PRESETS),
                        help=f"size preset: tiny (tests, quickstart), small (results on a CPU), "
                             f"paper (the paper's sizes: 128 px in, 64^3 out; trains on a CPU in "
                             f"hours, docs/training.md). Default: {default}")


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default=None,
                        help="dataset root in the released layout (ours or the authors'). "
                             "Default: a procedural dataset built and cached for the preset")


def add_extra_train_data_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--extra-train-data", nargs="+", default=[], metavar="DIR",
                        help="more datasets whose training splits are added to --data's (e.g. "
                             "real models from `build-dataset --source sweethome3d` beside "
                             "procedural ones); their validation and test splits stay held out")


def training_roots(root: Path, extra, category: str) -> list:
    """--data's root and the --extra-train-data roots: each must be a folder whose views have
    --data's background (`category`'s), since a network and its inference padding assume one."""
    from ..data.layout import dataset_background

    roots = [Path(root)]
    background = tuple(dataset_background(root, category))
    for folder in extra or ():
        if not Path(folder).is_dir():
            raise FileNotFoundError(f"--extra-train-data {folder} is not a folder: build it "
                                    f"with `python run.py build-dataset` first")
        other = tuple(dataset_background(folder, category))
        if other != background:
            raise ValueError(f"the views of {folder} have background {other}, those of {root} "
                             f"{background}: rebuild one with build-dataset --background")
        roots.append(Path(folder))
    return roots


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """How training reads its data: --skip-bad and --no-cache (train and every experiment)."""
    parser.add_argument("--skip-bad", action="store_true",
                        help="skip models with missing or corrupt files (with a warning)")
    parser.add_argument("--no-cache", action="store_true",
                        help="read the raw dataset files every epoch instead of the compact "
                             "input cache")


def add_categories_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """--categories A B ...; --category A (repeatable) is the old spelling of `train`."""
    parser.add_argument("--categories", nargs="+", default=None, help=help)
    parser.add_argument("--category", dest="categories", action="append",
                        help="the old spelling of --categories (repeatable)")


# argparse dest -> where it goes in the Preset. A command offers the flags it wants; those it
# lacks or the user left out (None) keep the preset's value.
PRESET_OVERRIDES = {
    "categories": ("data", "categories"),
    "epochs": ("train", "epochs"),
    "steps": ("train", "steps"),
    "batch_size": ("train", "batch_size"),
    "mixed_precision": ("train", "mixed_precision"),
    "validate_every": ("train", "validate_every"),
    "checkpoint_minutes": ("train", "checkpoint_minutes"),
    "train_seed": ("train", "seed"),
    "shape_loss": ("loss", "shape_loss"),
    "sampler": ("model", "decoder", "sampler"),
    "output_batchnorm": ("model", "decoder", "output_batchnorm"),
}


def preset_from_args(args: argparse.Namespace):
    """The named preset (--preset) with the command's overrides applied: the one place where
    flags change a Preset."""
    preset = get_preset(args.preset)
    for dest, path in PRESET_OVERRIDES.items():
        value = getattr(args, dest, None)
        if value is None or (dest == "categories" and not value):
            continue
        change = tuple(value) if dest == "categories" else value
        for key in reversed(path[1:]):
            change = {key: change}
        preset = preset.replace(**{path[0]: change})
    if getattr(args, "epochs", None) is not None and getattr(args, "steps", None) is None:
        preset = preset.replace(train={"steps": None})  # --epochs replaces a step schedule
    return preset


def add_schedule_arguments(parser: argparse.ArgumentParser) -> None:
    """--steps / --epochs: how long a network trains (train and every experiment)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--steps", type=positive_int, default=None,
                       help="train for this many optimizer steps (rounded up to whole epochs); "
                            "overrides the preset's schedule")
    group.add_argument("--epochs", type=positive_int, default=None,
                       help="train for this many epochs instead of the preset's schedule")
    parser.add_argument("--validate-every", type=positive_int, default=None, metavar="EPOCHS",
                        help="log the loss on --data's validation split (inference mode, one "
                             "fixed view per model) every this many epochs, as val_loss and "
                             "val_<part> in log_<network>.csv, and after the last epoch: "
                             "training and validation curves. Part of the run's configuration "
                             "(experiments keep such networks apart; `train` needs a new --out)")
    parser.add_argument("--checkpoint-minutes", type=nonnegative_float, default=None,
                        metavar="MINUTES",
                        help="also checkpoint at the end of the first epoch this many minutes "
                             "after the last checkpoint, so a killed run loses at most about "
                             "that much plus one epoch (default 5; 0: only every few epochs, "
                             "as the preset says). Not part of the run's configuration: a run "
                             "may resume with another value")


def add_seed_argument(parser: argparse.ArgumentParser) -> None:
    """--seed: the training seed (weights, batch order, views), a run dir of its own."""
    parser.add_argument("--seed", dest="train_seed", type=nonnegative_int, default=None,
                        help="training seed (default: the preset's, 0); part of the run's "
                             "configuration (`train` needs a new --out); in the experiments, "
                             "seed 1 reuses the networks of the claims study's first seed")


def add_output_batchnorm_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-output-batchnorm", dest="output_batchnorm", action="store_const",
                        const=False, default=None,
                        help="leave BatchNorm off the shape network's output logits (departs "
                             "from the released code, which normalizes them)")


def default_data_root(preset) -> Path:
    """Where the procedural dataset of a preset is built and cached by default."""
    return Path("data") / f"procedural-{preset.name}"


def resolve_data(data: Optional[str], preset) -> Path:
    """--data if given (must exist), else the preset's procedural dataset, built on first use."""
    if data:
        root = Path(data)
        if not root.is_dir():
            raise FileNotFoundError(f"--data {root} is not a folder: build a dataset with "
                                    f"`python run.py build-dataset` or point --data at one in "
                                    f"the released layout")
        return root
    from ..building.sources.procedural.jobs import ensure_dataset

    return Path(ensure_dataset(preset.data, preset.model.volume_size, default_data_root(preset)))
