"""Options shared by several commands, so they read the same everywhere."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..config import PRESETS, get_preset


def add_preset_argument(parser: argparse.ArgumentParser, default: str = "tiny") -> None:
    parser.add_argument("--preset", default=default, choices=sorted(PRESETS),
                        help=f"size preset: tiny (tests, quickstart), small (results on a CPU), "
                             f"paper (the paper's sizes, for a GPU). Default: {default}")


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default=None,
                        help="dataset root in the released layout (ours or the authors'). "
                             "Default: a procedural dataset built and cached for the preset")


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """How training reads its data: --skip-bad and --no-cache (train and every experiment)."""
    parser.add_argument("--skip-bad", action="store_true",
                        help="skip models with missing or corrupt files (with a warning)")
    parser.add_argument("--no-cache", action="store_true",
                        help="read the raw dataset files every epoch instead of the compact "
                             "input cache")


def preset_from_args(args: argparse.Namespace):
    return get_preset(args.preset)


def default_data_root(preset) -> "Path":
    """Where the procedural dataset of a preset is built and cached by default."""
    from pathlib import Path

    return Path("data") / f"procedural-{preset.name}"


def resolve_data(args: argparse.Namespace, preset) -> "Path":
    """--data if given (must exist), else the preset's procedural dataset, built on first use."""
    from pathlib import Path

    if getattr(args, "data", None):
        root = Path(args.data)
        if not root.is_dir():
            raise FileNotFoundError(f"--data {root} is not a folder: build a dataset with "
                                    f"`python run.py build-dataset` or point --data at one in "
                                    f"the released layout")
        return root
    from ..building.sources.procedural.jobs import ensure_dataset

    return Path(ensure_dataset(preset.data, preset.model.volume_size, default_data_root(preset)))
