"""Options shared by several commands, so they read the same everywhere."""
from __future__ import annotations

import argparse

from ..config import PRESETS, get_preset


def add_preset_argument(parser: argparse.ArgumentParser, default: str = "tiny") -> None:
    parser.add_argument("--preset", default=default, choices=sorted(PRESETS),
                        help=f"size preset: tiny (tests, quickstart), small (results on a CPU), "
                             f"paper (the paper's sizes, for a GPU). Default: {default}")


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default=None,
                        help="dataset root in the released layout (ours or the authors'). "
                             "Default: a procedural dataset built and cached for the preset")


def preset_from_args(args: argparse.Namespace):
    return get_preset(args.preset)
