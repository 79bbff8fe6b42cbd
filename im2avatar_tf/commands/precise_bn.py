"""Copy a model dir with its BatchNorm statistics recomputed on training batches (PreciseBN;
an option, not the release's).

The release keeps BatchNorm's moving averages (decay 0.99: the batch statistics of roughly the
last 100 steps' weights). On the `small` chair color networks these made seeds that are about
equally good differ in inference mode: validation L1 0.116 / 0.133 / 0.161, and 0.113 / 0.106 /
0.112 with the statistics recomputed (results/precise-bn); test PSNR at t = 1 16.68 +/- 0.76 ->
18.04 +/- 0.05 dB over 3 seeds (README, "A recipe that learns").

This writes a new model dir: the files of --model (config.json and its networks) with the
BatchNorm moving mean and variance of --networks (default: the color network, where it was
measured) set to the mean of the batch statistics over one epoch of the training batches, the
final weights unchanged, and precise_bn.json saying how. --model itself is not touched; the
copy is a model dir like any other for reconstruct, evaluate, export and the demo. Give the
same training data the network trained on (--data, --extra-train-data) at the same preset:
the batches are made as in training (batch size and image size from the model's config.json).

Examples:
  python run.py precise-bn --model runs/car-small --data data/procedural-small \\
      --out runs/car-small-precise-bn
  python run.py precise-bn --model runs/small/<data>/chair/color-<hash> \\
      --data data/procedural-small --extra-train-data data/sweethome3d-small --out runs/chair-pbn
  python run.py evaluate --model runs/small/<data>/chair/shape-msfcel-<hash> \\
      --color-model runs/chair-pbn --categories chair --data data/procedural-small
"""
from __future__ import annotations

import json
import shlex
import shutil
import sys
import time
from pathlib import Path

from .options import (add_data_argument, add_extra_train_data_argument, add_input_arguments,
                      resolve_data, training_roots)

HELP = "copy a model dir with BatchNorm statistics recomputed on training batches (PreciseBN)"

NETWORKS = ("shape", "color")
SIDECAR = "precise_bn.json"


def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True,
                        help="model dir to copy (config.json + shape.keras and/or color.keras: "
                             "a `train` run dir or an experiment's run dir)")
    add_data_argument(parser)
    add_extra_train_data_argument(parser)
    parser.add_argument("--networks", nargs="+", choices=NETWORKS, default=["color"],
                        help="networks whose statistics are recomputed (default: color; the "
                             "gain was measured on color networks only)")
    parser.add_argument("--out", required=True, help="the new model dir")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace --out if it exists (it is replaced only when complete)")
    add_input_arguments(parser)


def run(args) -> int:
    from .. import runs
    from ..io import atomic_dir, atomic_write_text, save_keras
    from ..models import load_network, load_preset
    from ..training import git_revision

    model, out = Path(args.model), Path(args.out)
    preset = load_preset(model)  # a clear error when it is not a model dir
    if out.resolve() == model.resolve():
        raise ValueError(f"--out {out} is --model: write the recomputed copy to a new folder "
                         f"(the trained networks stay as they are)")
    if out.exists() and not args.overwrite:
        raise FileExistsError(f"--out {out} exists: choose a new folder or pass --overwrite")
    missing = [n for n in args.networks if not (model / f"{n}.keras").exists()]
    if len(missing) == len(args.networks):
        raise FileNotFoundError(f"{model} holds no {' or '.join(f'{n}.keras' for n in missing)}"
                                f": nothing to recompute (--networks {' '.join(args.networks)})")
    root = resolve_data(args.data, preset)
    roots = training_roots(root, args.extra_train_data, preset.data.categories[0])
    data = roots if len(roots) > 1 else root

    t0 = time.perf_counter()
    done = []
    with atomic_dir(out) as tmp:
        for f in sorted(model.iterdir()):  # the model dir's files; not its checkpoints
            if f.is_file() and (f.suffix in (".json", ".keras")) and f.name != SIDECAR:
                shutil.copy2(f, tmp / f.name)
        for name in args.networks:
            if name in missing:
                print(f"{model} has no {name}.keras: left out")
                continue
            network = load_network(model / f"{name}.keras")
            copy = runs.precise_bn(network, preset, data, skip_bad=args.skip_bad,
                                   cache=not args.no_cache)
            save_keras(copy, tmp / f"{name}.keras")
            done.append(name)
            print(f"{name} network: BatchNorm statistics recomputed over one epoch of training "
                  f"batches of {preset.train.batch_size}")
        atomic_write_text(tmp / SIDECAR, json.dumps({
            "source": str(model), "networks": done,
            "training_data": [str(r) for r in roots], "batch_size": preset.train.batch_size,
            "command": "python run.py " + shlex.join(sys.argv[1:]),
            "git_revision": git_revision(), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        }, indent=2))
    print(f"model dir with precise BN statistics ({', '.join(done)}): {out} "
          f"({time.perf_counter() - t0:.1f} s)")
    return 0
