"""Where each training under a folder stands: epochs done of those planned, wall time,
samples/s, the last validation loss, and finished / training now / stopped.

Example: python run.py runs                      # everything under runs/
         python run.py runs runs/paper --csv runs.csv
"""
from __future__ import annotations

HELP = ("where each training stands (epochs, wall time, samples/s, validation loss; finished, "
        "training or stopped): read from the run dirs, safe beside a running training")


def add_arguments(parser) -> None:
    parser.add_argument("folders", nargs="*", default=["runs"],
                        help="run dirs or folders of them (default: runs)")
    parser.add_argument("--csv", metavar="FILE",
                        help="also write the statuses as a table (one row per training)")


def run(args) -> int:
    import dataclasses

    from ..run_status import find_statuses

    statuses = []
    for folder in args.folders:
        statuses += find_statuses(folder)
    if not statuses:
        print(f"no trainings under {', '.join(args.folders)}")
    for status in statuses:
        print(status.line())
    if args.csv:
        import pandas as pd

        from ..io import atomic_write_text

        frame = pd.DataFrame([dataclasses.asdict(s) for s in statuses])
        atomic_write_text(args.csv, frame.to_csv(index=False))
        print(f"wrote {args.csv}")
    return 0
