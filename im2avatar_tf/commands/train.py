"""Train the shape and/or color network (or a baseline) with the released schedule.

Examples:
  python run.py train --preset tiny                        # shape + color -> runs/tiny
  python run.py train --preset small --categories car --out runs/car-small
  python run.py train --network shape --shape-loss bce --out runs/bce   # the ablation
  python run.py train --preset paper --data ShapeNetCore_im2avatar --categories chair \\
      --strategy mirrored --mixed-precision mixed_bfloat16

Re-running the same command resumes from the newest checkpoint (or reuses a finished
network); --restart starts over. The run dir holds config.json, shape.keras, color.keras,
log_<network>.csv, checkpoints/ and tensorboard/: it is a model dir for `reconstruct`.
One process trains in a run dir at a time: a second `train` on the same --out is refused,
naming the process that holds it (a lock left by a process that is gone is taken over).
"""
from __future__ import annotations

from pathlib import Path

from .. import methods
from ..forward import NETWORKS
from .options import (add_categories_argument, add_data_argument,
                      add_extra_train_data_argument, add_input_arguments,
                      add_output_batchnorm_argument, add_schedule_arguments,
                      add_seed_argument,
                      add_preset_argument, positive_int, preset_from_args, resolve_data,
                      training_roots)

HELP = "train the shape / color networks (or a baseline); resumable"


def add_arguments(parser):
    add_preset_argument(parser)
    add_data_argument(parser)
    add_extra_train_data_argument(parser)
    parser.add_argument("--network", default="both", choices=["both", *methods.names()],
                        help="what to train; 'both' = shape then color into one model dir")
    add_categories_argument(parser, "categories to train on (car, chair, table, guitar, human, "
                                    "or a folder id); default: the preset's categories")
    parser.add_argument("--out", default=None, help="run dir (default: runs/<preset>)")
    add_schedule_arguments(parser)
    add_seed_argument(parser)
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help="override the batch size")
    parser.add_argument("--shape-loss", choices=["msfcel", "bce"], default=None,
                        help="shape loss: msfcel (paper) or bce (the ablation baseline)")
    parser.add_argument("--sampler", choices=["nearest", "bilinear"], default=None,
                        help="image sampler of the color network (nearest = released)")
    add_output_batchnorm_argument(parser)
    parser.add_argument("--strategy", choices=["default", "mirrored", "multiworker"],
                        default="default",
                        help="tf.distribute strategy for several devices; multiworker: a "
                             "TF_CONFIG cluster, each worker waiting at start-up for the others "
                             "for at most IM2AVATAR_WORKER_TIMEOUT seconds (default 600)")
    parser.add_argument("--mixed-precision", choices=["mixed_bfloat16", "mixed_float16"],
                        default=None, help="mixed precision policy (for GPUs)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the newest checkpoint in the run dir (the default; "
                             "kept for scripts that say it)")
    parser.add_argument("--restart", action="store_true",
                        help="ignore existing checkpoints in the run dir and start over")
    add_input_arguments(parser)


def run(args) -> int:
    import contextlib

    from ..rundir import check_folder, lock_folder

    preset = preset_from_args(args)
    if args.strategy == "multiworker" and preset.train.validate_every:
        raise ValueError("--validate-every is not available with --strategy multiworker")
    out = check_folder(args.out or Path("runs") / preset.name)
    # The run dir is checked and locked first, before the dataset and its cache (a multi-worker
    # run's chief locks it in `train`: its workers may share the folder).
    with contextlib.nullcontext() if args.strategy == "multiworker" else lock_folder(out):
        _train(args, preset, out)
    return 0


def _train(args, preset, out: Path) -> None:
    from ..data.layout import dataset_background
    from ..runs import train_or_reuse

    root = resolve_data(args.data, preset)
    # The model dir remembers the views' background, so inference pads photos with it.
    background = dataset_background(root, preset.data.categories[0])
    preset = preset.replace(data={"background": background})
    networks = list(NETWORKS) if args.network == "both" else [args.network]
    roots = training_roots(root, args.extra_train_data, preset.data.categories[0])
    train_or_reuse(preset, networks, roots if len(roots) > 1 else root, out,
                   skip_bad=args.skip_bad, cache=not args.no_cache,
                   resume=not args.restart, strategy=args.strategy, label="training ")
    for network in networks:
        print(f"{network} network: {out / (network + '.keras')}")
    print(f"run dir: {out}")
