"""Validate a dataset in the released layout (ours or the authors' tarballs).

Checks shapes, dtypes, value ranges and the -1 conventions of the color and flow volumes, that
flow is valid only where color is, 12 readable views per model, and split lists pointing at
existing models. Prints a per-problem summary; exits 1 if there is any error.
"""
from __future__ import annotations

from .options import int_range, positive_int

HELP = "validate a dataset folder (ours or the authors'): volumes, views, flows, split lists"


def add_arguments(parser) -> None:
    parser.add_argument("root", help="dataset root (ShapeNet-style or human-style)")
    parser.add_argument("--resolution", type=int_range(2, 512), default=None,
                        help="volume resolution to check (default: detected from the files)")
    parser.add_argument("--categories", nargs="+", default=None,
                        help="categories to check (default: every split list found)")
    parser.add_argument("--limit", type=positive_int, default=None,
                        help="check at most this many models per category (quick look)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    from ..data.check import check_dataset

    result = check_dataset(args.root, args.resolution, args.categories, args.limit,
                           progress=not args.no_progress)
    print(result.summary())
    return 0 if result.ok else 1
