"""Benchmark training steps: samples/s and peak memory of the shape and color networks.

Each (preset, network) runs in a fresh process on synthetic batches, so the peak resident
memory printed is that configuration's. Example:
  python run.py bench-train --presets tiny small paper --paper-batch 8
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from .. import methods

HELP = "print training throughput (samples/s) and peak memory per preset and network"


def add_arguments(parser):
    parser.add_argument("--presets", nargs="+", default=["tiny", "small", "paper"],
                        choices=["tiny", "small", "paper"], help="presets to time")
    parser.add_argument("--networks", nargs="+", default=["shape", "color"],
                        choices=methods.names(), help="networks to time")
    parser.add_argument("--paper-batch", type=int, default=8,
                        help="batch size at the paper preset (60 needs a GPU's memory)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps after 2 warm-up steps")
    parser.add_argument("--mixed-precision", choices=["mixed_bfloat16", "mixed_float16"],
                        default=None, help="time with a mixed precision policy")
    parser.add_argument("--csv", default=None, help="also write the rows to this CSV file")


def run(args) -> int:
    rows = []
    for preset in args.presets:
        for network in args.networks:
            batch = args.paper_batch if preset == "paper" else None
            code = ("from im2avatar_tf.benchmark import main_json; "
                    f"main_json({preset!r}, {network!r}, {batch!r}, {args.steps}, "
                    f"{args.mixed_precision!r})")
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
            line = next((l for l in out.stdout.splitlines() if l.startswith("BENCH ")), None)
            if line is None:
                print(f"{preset}/{network}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
                return 1
            row = json.loads(line[6:])
            rows.append(row)
            print(f"{preset:6s} {network:7s} {row['image_size']:4d}px {row['volume_size']:3d}^3 "
                  f"batch {row['batch_size']:3d} {row['mixed_precision']:15s} "
                  f"{row['samples_per_s']:8.2f} samples/s  {row['step_s']:7.3f} s/step  "
                  f"peak {row['peak_rss_mb']:8.1f} MB", flush=True)
    if args.csv:
        import pandas as pd

        from ..io import atomic_path

        with atomic_path(args.csv) as tmp:
            pd.DataFrame(rows).to_csv(tmp, index=False)
    allocator = os.environ.get("LD_PRELOAD", "") or "default allocator"
    print(f"(CPU threads: {os.cpu_count()}; allocator: {allocator})")
    return 0
