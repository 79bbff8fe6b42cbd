"""The human generator's command line (`building.sources.human_generator.generate`), the
torch/anny subprocess that `build-dataset --source human` runs; not a `run.py` command.

    python -m im2avatar_tf.commands.human_generator --out cache/human/meshes --bodies 40 --pairs 0:0,3:7
    python -m im2avatar_tf.commands.human_generator --out /tmp/m --bodies 40 --preview sheet.png
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from .options import int_range, nonnegative_int, positive_int


def build_parser() -> argparse.ArgumentParser:
    from ..building.sources import human_generator

    p = argparse.ArgumentParser(prog="python -m im2avatar_tf.commands.human_generator",
                                description=human_generator.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder for the .glb meshes and .json sidecars")
    p.add_argument("--bodies", type=positive_int, default=40, help="size of the body design (default 40)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the body design (default 0)")
    p.add_argument("--pairs", default=None,
                   help="comma-separated STYLE:BODY pairs (0-based ids), e.g. 0:0,3:7")
    p.add_argument("--pairs-file", default=None, help="JSON list of [style, body] pairs")
    p.add_argument("--texture-size", type=int_range(16, 8192), default=512, help="texture side in pixels (512)")
    p.add_argument("--preview", default=None,
                   help="write a sheet of every style on --preview-body, front and back, to this PNG")
    p.add_argument("--preview-body", type=nonnegative_int, default=0, help="body id of the preview sheet (0)")
    p.add_argument("--variety", default="classic",
                   choices=("classic", "poses", "clothes", "wide"),
                   help="what the people widen (building.sources.human_gen.variety): classic "
                        "(the 16 painted styles, A/natural poses), poses, clothes, or wide "
                        "(both); default classic, the earlier generator")
    p.add_argument("--outfits", type=positive_int, default=48,
                   help="size of the outfit design of the non-classic varieties (48)")
    p.add_argument("--jsonl", action="store_true",
                   help="one JSON line per finished pair on stdout instead of a progress bar")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    from ..building.sources.human_generator import generate

    return generate(**vars(build_parser().parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
