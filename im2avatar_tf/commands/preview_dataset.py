"""Contact sheet of a dataset: for a few models per category, four views (0, 90, 180, 270
degrees) and the colored voxels rendered from two angles, in one PNG.

Example: python run.py preview-dataset data/procedural-small --models 4
"""
from __future__ import annotations

from .options import positive_int

HELP = "write a contact sheet PNG of a dataset (views and colored voxels of a few models)"


def add_arguments(parser) -> None:
    parser.add_argument("root", help="dataset root in the released layout (ours or the authors')")
    parser.add_argument("--out", default=None, help="PNG to write (default: ROOT/preview.png)")
    parser.add_argument("--models", type=positive_int, default=3, help="models per category (3)")
    parser.add_argument("--categories", nargs="+", default=None,
                        help="categories to show (default: all with split lists)")


def run(args) -> int:
    from pathlib import Path

    from ..data.preview import contact_sheet

    out = args.out or str(Path(args.root) / "preview.png")
    path = contact_sheet(args.root, out, args.models, args.categories)
    print(f"contact sheet: {path}")
    return 0
