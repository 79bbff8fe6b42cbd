"""Benchmark training steps: samples/s, fraction of the machine's peak and peak memory of the
shape and color networks.

The header says what the figures were measured on: the CPU and its vector extensions, whether
TensorFlow's oneDNN kernels are on, and the machine's measured float32 matmul rate (its practical
peak). Each (preset, network) then runs in a fresh process on synthetic batches, so the peak
resident memory printed is that configuration's; each row gives the network's training GFLOP
per sample (convolutions and dense layers, counted from the layer shapes: `models/flops.py`)
and the fraction of the machine peak the step achieves. Example:
  python run.py bench-train --presets tiny small paper --paper-batch 8
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from .. import methods
from .options import nonnegative_int, positive_int

HELP = "print training throughput (samples/s), fraction of machine peak and memory per network"


def add_arguments(parser):
    parser.add_argument("--presets", nargs="+", default=["tiny", "small", "paper"],
                        choices=["tiny", "small", "paper"], help="presets to time")
    parser.add_argument("--networks", nargs="+", default=["shape", "color"],
                        choices=methods.names(), help="networks to time")
    parser.add_argument("--paper-batch", type=positive_int, default=8,
                        help="batch size at the paper preset (60 needs a GPU's memory)")
    parser.add_argument("--steps", type=positive_int, default=5, help="timed steps after 2 warm-up steps")
    parser.add_argument("--mixed-precision", choices=["mixed_bfloat16", "mixed_float16"],
                        default=None, help="time with a mixed precision policy")
    parser.add_argument("--jit-compile", action="store_true",
                        help="compile the training step with XLA (slower on CPU: see "
                             "results/benchmarks)")
    parser.add_argument("--intra-op-threads", type=nonnegative_int, default=None,
                        help="TensorFlow intra-op threads (TF_NUM_INTRAOP_THREADS). Default: "
                             "TensorFlow's choice (one per core)")
    parser.add_argument("--inter-op-threads", type=nonnegative_int, default=None,
                        help="TensorFlow inter-op threads (TF_NUM_INTEROP_THREADS). Default: "
                             "TensorFlow's choice")
    parser.add_argument("--csv", default=None, help="also write the rows to this CSV file")


def _environment(args) -> dict:
    env = dict(os.environ)
    if args.intra_op_threads:
        env["TF_NUM_INTRAOP_THREADS"] = str(args.intra_op_threads)
    if args.inter_op_threads:
        env["TF_NUM_INTEROP_THREADS"] = str(args.inter_op_threads)
    return env


def run(args) -> int:
    from ..machine import report

    machine = report()
    print("bench-train:", *machine.lines(), sep="\n  ", flush=True)
    env = _environment(args)
    threads = (f"; threads intra {env.get('TF_NUM_INTRAOP_THREADS', 'default')}, "
               f"inter {env.get('TF_NUM_INTEROP_THREADS', 'default')}")
    print(f"  synthetic batches, {args.steps} timed steps after 2 warm-up steps"
          f"{'; XLA' if args.jit_compile else ''}{threads}", flush=True)
    rows = []
    for preset in args.presets:
        for network in args.networks:
            batch = args.paper_batch if preset == "paper" else None
            code = ("from im2avatar_tf.benchmark import main_json; "
                    f"main_json({preset!r}, {network!r}, {batch!r}, {args.steps}, "
                    f"{args.mixed_precision!r}, {bool(args.jit_compile)!r})")
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 env=env)
            line = next((l for l in out.stdout.splitlines() if l.startswith("BENCH ")), None)
            if line is None:
                print(f"{preset}/{network}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
                return 1
            row = json.loads(line[6:])
            achieved = row["train_gflop_per_sample"] * row["samples_per_s"]
            row.update(cpu=machine.cpu, onednn=machine.onednn,
                       machine_peak_gflops=round(machine.peak_gflops, 1),
                       achieved_gflops=round(achieved, 1),
                       fraction_of_peak=round(achieved / machine.peak_gflops, 3))
            rows.append(row)
            print(f"{preset:6s} {network:7s} {row['image_size']:4d}px {row['volume_size']:3d}^3 "
                  f"batch {row['batch_size']:3d} {row['mixed_precision']:15s} "
                  f"{row['samples_per_s']:8.2f} samples/s  {row['step_s']:7.3f} s/step  "
                  f"{row['train_gflop_per_sample']:6.2f} GFLOP/sample  "
                  f"{achieved:6.1f} GFLOP/s = {100 * row['fraction_of_peak']:4.1f} % of peak  "
                  f"peak mem {row['peak_rss_mb']:7.1f} MB", flush=True)
    if args.csv:
        import pandas as pd

        from ..io import atomic_path

        with atomic_path(args.csv) as tmp:
            pd.DataFrame(rows).to_csv(tmp, index=False)
    return 0
