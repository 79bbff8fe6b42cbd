"""Copy a model dir with its BatchNorm statistics recomputed on training batches (PreciseBN;
an option, not the release's).

The release keeps BatchNorm's moving averages (decay 0.99: the batch statistics of roughly the
last 100 steps' weights). On the `small` chair color networks they made seeds that are about
equally good differ in inference mode (validation L1 0.116 / 0.133 / 0.161; 0.113 / 0.106 /
0.112 with the statistics recomputed: results/precise-bn). Over 3 seeds the recomputed
statistics shrink the spread of test PSNR between seeds (t = 1: 16.68 +/- 0.76 -> 18.04 +/-
0.05 dB; the release's t = 0.2, which reconstruct uses for a model dir: 14.50 +/- 0.13 ->
14.81 +/- 0.02); that they beat the moving averages is not resolved over 3 seeds
(docs/results-history.md, "The colors' spread between seeds").

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

import shlex
import sys
import time
from pathlib import Path

from ..forward import NETWORKS
from .options import (add_data_argument, add_extra_train_data_argument, add_input_arguments,
                      resolve_data, training_roots)

HELP = "copy a model dir with BatchNorm statistics recomputed on training batches (PreciseBN)"


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
                        help="replace --out if it is an earlier output of precise-bn (it is "
                             "replaced only once the new copy is complete)")
    add_input_arguments(parser)


def run(args) -> int:
    from ..data.layout import dataset_background
    from ..models import load_preset
    from ..runs import PRECISE_BN_SIDECAR, write_precise_bn_dir

    model, out = Path(args.model), Path(args.out)
    preset = load_preset(model)  # a clear error when it is not a model dir
    check_out(model, out, args.overwrite)
    if not any((model / f"{n}.keras").exists() for n in args.networks):
        raise FileNotFoundError(
            f"{model} holds no {' or '.join(f'{n}.keras' for n in args.networks)}: nothing to "
            f"recompute (a trained model dir or run dir; not a zoo name or an export)")
    root = resolve_data(args.data, preset)
    category = preset.data.categories[0]
    background = tuple(dataset_background(root, category))
    if background != tuple(preset.data.background):
        raise ValueError(f"the views of --data {root} have background {background}, the model "
                         f"trained on {tuple(preset.data.background)}: give the data it "
                         f"trained on")
    roots = training_roots(root, args.extra_train_data, category)
    t0 = time.perf_counter()
    done = write_precise_bn_dir(model, out, args.networks, roots,
                                skip_bad=args.skip_bad, cache=not args.no_cache,
                                command="python run.py " + shlex.join(sys.argv[1:]))
    for name in dict.fromkeys(args.networks):
        print(f"{name} network: " + (f"BatchNorm statistics recomputed over one epoch of "
                                     f"training batches of {preset.train.batch_size}"
                                     if name in done else f"not in {model}: left out"))
    print(f"model dir with precise BN statistics ({', '.join(done)}): {out} "
          f"({time.perf_counter() - t0:.1f} s; how: {out / PRECISE_BN_SIDECAR})")
    return 0


def check_out(model: Path, out: Path, overwrite: bool) -> None:
    """--out must be a new folder (or, with --overwrite, an earlier output of this command),
    neither --model nor a folder above or inside it."""
    from ..runs import PRECISE_BN_SIDECAR

    m, o = model.resolve(), out.resolve()
    if o == m or o in m.parents or m in o.parents:
        raise ValueError(f"--out {out} is --model {model}, holds it or lies inside it: write "
                         f"the copy to a new folder beside it (the trained networks stay as "
                         f"they are)")
    if not out.exists():
        return
    if not overwrite:
        raise FileExistsError(f"--out {out} exists: choose a new folder, or pass --overwrite "
                              f"to replace an earlier output of precise-bn")
    if not (out / PRECISE_BN_SIDECAR).is_file():
        raise FileExistsError(f"--out {out} exists and is not an output of precise-bn (no "
                              f"{PRECISE_BN_SIDECAR}): --overwrite replaces only those")
