"""Train the shape and/or color network (or a baseline) with the released schedule.

Examples:
  python run.py train --preset tiny                        # shape + color -> runs/tiny
  python run.py train --preset small --category car --out runs/car-small
  python run.py train --network shape --shape-loss bce --out runs/bce   # the ablation
  python run.py train --preset paper --data ShapeNetCore_im2avatar --category chair \\
      --strategy mirrored --mixed-precision mixed_bfloat16

Re-running the same command resumes from the newest checkpoint (or reuses a finished
network); --restart starts over. The run dir holds config.json, shape.keras, color.keras,
log_<network>.csv, checkpoints/ and tensorboard/: it is a model dir for `reconstruct`.
"""
from __future__ import annotations

from pathlib import Path

from .. import methods
from ._common import (add_data_argument, add_input_arguments, add_preset_argument,
                      preset_from_args, resolve_data)

HELP = "train the shape / color networks (or a baseline); resumable"


def add_arguments(parser):
    add_preset_argument(parser)
    add_data_argument(parser)
    parser.add_argument("--network", default="both", choices=["both", *methods.names()],
                        help="what to train; 'both' = shape then color into one model dir")
    parser.add_argument("--category", action="append", default=None,
                        help="category to train on (car, chair, table, guitar, human, or a "
                             "folder id); repeat for several; default: the preset's categories")
    parser.add_argument("--out", default=None, help="run dir (default: runs/<preset>)")
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    parser.add_argument("--batch-size", type=int, default=None, help="override the batch size")
    parser.add_argument("--shape-loss", choices=["msfcel", "bce"], default=None,
                        help="shape loss: msfcel (paper) or bce (the ablation baseline)")
    parser.add_argument("--sampler", choices=["nearest", "bilinear"], default=None,
                        help="image sampler of the color network (nearest = released)")
    parser.add_argument("--strategy", choices=["default", "mirrored", "multiworker"],
                        default="default", help="tf.distribute strategy for several devices")
    parser.add_argument("--mixed-precision", choices=["mixed_bfloat16", "mixed_float16"],
                        default=None, help="mixed precision policy (for GPUs)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the newest checkpoint in the run dir (the default; "
                             "kept for scripts that say it)")
    parser.add_argument("--restart", action="store_true",
                        help="ignore existing checkpoints in the run dir and start over")
    add_input_arguments(parser)


def configure(args):
    """The Preset this command trains with: the named preset plus the command's overrides."""
    preset = preset_from_args(args)
    train, loss, decoder = {}, {}, {}
    if args.epochs is not None:
        train["epochs"] = args.epochs
    if args.batch_size is not None:
        train["batch_size"] = args.batch_size
    if args.mixed_precision:
        train["mixed_precision"] = args.mixed_precision
    if args.shape_loss:
        loss["shape_loss"] = args.shape_loss
    if args.sampler:
        decoder["sampler"] = args.sampler
    if args.category:
        preset = preset.replace(data={"categories": tuple(args.category)})
    return preset.replace(train=train, loss=loss, model={"decoder": decoder})


def run(args) -> int:
    from ..data.pipeline import InputPipeline
    from ..training import train

    preset = configure(args)
    root = resolve_data(args, preset)
    from ..data.layout import dataset_background

    # The model dir remembers the views' background, so inference pads photos with it.
    preset = preset.replace(data={"background": dataset_background(root, preset.data.categories[0])})
    out = Path(args.out or Path("runs") / preset.name)
    pipe = InputPipeline.for_preset(preset, root, split="train", skip_bad=args.skip_bad,
                                    cache=not args.no_cache)
    print(f"training on {len(pipe)} models of {', '.join(preset.data.categories)} from {root}; "
          f"{pipe.steps_per_epoch} batches of {preset.train.batch_size} per epoch")
    networks = ["shape", "color"] if args.network == "both" else [args.network]
    for network in networks:
        train(preset, network, pipe, out, resume=not args.restart, strategy=args.strategy)
        print(f"{network} network: {out / (network + '.keras')}")
    print(f"run dir: {out}")
    return 0
