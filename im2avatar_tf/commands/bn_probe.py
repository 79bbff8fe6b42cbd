"""Validation losses of trained color networks with three BatchNorm statistics: as trained (the
released moving averages), recomputed by PreciseBN on one epoch of training batches (what
`precise-bn` writes), and each validation batch's own. What results/precise-bn/val_loss.csv
holds (`runs.bn_statistics_losses`).

RUN_DIR: a color run dir trained with --validate-every (its validation split is scored). Give
the training data it trained on (--data, --extra-train-data).

Example:
  python run.py bn-probe runs/small/<data>/chair/color-<key> --data data/procedural-small \\
      --extra-train-data data/sweethome3d-small --out results/precise-bn/val_loss.csv
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from .options import add_extra_train_data_argument, add_input_arguments

HELP = "validation losses of color networks: BatchNorm moving averages vs PreciseBN vs per batch"


def add_arguments(parser) -> None:
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                        help="color run dirs trained with --validate-every")
    parser.add_argument("--data", required=True, help="the dataset the networks trained on")
    add_extra_train_data_argument(parser)
    parser.add_argument("--out", required=True, help="the CSV to write (one row per run dir "
                                                     "and statistics)")
    add_input_arguments(parser)


def run(args) -> int:
    from ..io import atomic_write_text
    from ..runs import bn_statistics_losses

    root = [args.data, *args.extra_train_data] if args.extra_train_data else args.data
    rows = []
    for run_dir in args.run_dirs:
        for row in bn_statistics_losses(Path(run_dir), root, skip_bad=args.skip_bad,
                                        cache=not args.no_cache):
            rows.append(row)
            print(row, flush=True)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(args.out, text.getvalue())
    print(f"wrote {args.out}")
    return 0
