"""Benchmark the training input pipeline against the training step rate at a preset.

Times `InputPipeline` batches (after one warm-up batch), from the compact cache and from the
raw files, and the shape and color networks' training steps at the same preset and batch
size (`benchmark.train_step_rate`, synthetic batches). The pipeline keeps training fed when
its samples/s is well above the training rate; the target is 5x.

Examples:
  python run.py bench-input --preset tiny
  python run.py bench-input --preset paper --data data/bench64 --categories car --batch-size 8
"""
from __future__ import annotations

import time

from .. import methods
from .options import (add_categories_argument, add_data_argument, add_preset_argument,
                      nonnegative_int, positive_int)

HELP = "print input-pipeline samples/s beside the training step rate (target >= 5x)"
TARGET_RATIO = 5.0


def add_arguments(parser) -> None:
    add_preset_argument(parser)
    add_data_argument(parser)
    add_categories_argument(parser, "categories to read (default: the preset's)")
    parser.add_argument("--batches", type=positive_int, default=20,
                        help="timed batches per pipeline mode (default 20)")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help="override the preset's batch size (both sides use it)")
    parser.add_argument("--modes", nargs="+", choices=["cache", "raw"], default=["cache", "raw"],
                        help="pipeline modes to time (default: cache raw)")
    parser.add_argument("--networks", nargs="*", choices=methods.names(),
                        default=["shape", "color"],
                        help="networks whose training rate to time (none: pipeline only)")
    parser.add_argument("--train-steps", type=nonnegative_int, default=5,
                        help="timed training steps per network (after 2 warm-up steps)")


def pipeline_rate(pipe, batches: int) -> dict:
    """Samples/s of `batches` batches after one warm-up batch, read as the trainer reads them:
    one dataset over as many epochs as it takes (`pipe.epochs`)."""
    epochs = -(-(batches + 1) // pipe.steps_per_epoch)  # ceil
    seen, t0 = -1, None
    for _ in pipe.epochs(0, epochs):
        if seen == -1:
            t0 = time.perf_counter()  # the first batch pays for tracing and thread start
        seen += 1
        if seen == batches:
            break
    seconds = time.perf_counter() - t0
    return {"samples_per_s": seen * pipe.batch_size / seconds, "seconds": seconds}


def run(args) -> int:
    from ..benchmark import train_step_rate
    from ..data.pipeline import InputPipeline
    from .options import preset_from_args, resolve_data

    preset = preset_from_args(args)  # with --categories and --batch-size
    root = resolve_data(args.data, preset)
    S, R, B = preset.model.image_size, preset.model.volume_size, preset.train.batch_size
    print(f"preset {preset.name}: {S} px, {R}^3, batch {B}; data {root}")
    pipe_rates = {}
    for mode in args.modes:
        t0 = time.perf_counter()
        pipe = InputPipeline.for_preset(preset, root, split="train", cache=mode == "cache")
        opened = time.perf_counter() - t0
        rate = pipeline_rate(pipe, args.batches)
        pipe_rates[mode] = rate["samples_per_s"]
        print(f"pipeline {mode:5s}: {rate['samples_per_s']:9.1f} samples/s "
              f"({args.batches} batches in {rate['seconds']:.1f} s; opening "
              f"{'incl. cache build ' if mode == 'cache' else ''}{opened:.1f} s)", flush=True)
    train_rates = {}
    for network in args.networks:
        row = train_step_rate(preset, network, B, steps=args.train_steps)
        train_rates[network] = row["samples_per_s"]
        print(f"training {network:5s}: {row['samples_per_s']:9.1f} samples/s "
              f"({row['step_s']:.3f} s/step)", flush=True)
    if not train_rates:
        return 0
    fastest = max(train_rates.values())
    print(f"\nratio pipeline / fastest training ({fastest:.1f} samples/s), target >= "
          f"{TARGET_RATIO:g}x:")
    for mode, rate in pipe_rates.items():
        ratio = rate / fastest
        verdict = "meets the target" if ratio >= TARGET_RATIO else "BELOW the target"
        print(f"  {mode:5s} x{ratio:6.1f}  {verdict}")
    print("(measured one after the other on this machine; in training both share its cores)")
    return 0
