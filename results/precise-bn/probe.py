"""Validation losses of trained color networks with their BatchNorm statistics as trained
(the released moving averages), as each validation batch's own statistics, and recomputed by
PreciseBN (`im2avatar_tf.models.precise_bn`, one epoch of training batches, as `claims
--precise-bn` does). Writes results/precise-bn/val_loss.csv; run from the repository root:

    python results/precise-bn/probe.py --data data/procedural-small \
        --extra-train-data data/sweethome3d-small RUN_DIR [RUN_DIR ...]

RUN_DIR: a color run dir trained with --validate-every (runs/small/.../chair/color-<key>).
"""
import argparse
import csv
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

import im2avatar_tf  # noqa: E402,F401  (oneDNN on, as for a user)
from im2avatar_tf import methods  # noqa: E402
from im2avatar_tf.io import atomic_write_text  # noqa: E402
from im2avatar_tf.models import load_network, load_preset  # noqa: E402
from im2avatar_tf.runs import precise_bn, validation_pipeline  # noqa: E402
from im2avatar_tf.training import run_dataset  # noqa: E402

PARTS = ("reg", "flow", "blend")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dirs", nargs="+", type=Path)
    ap.add_argument("--data", required=True, help="the dataset the networks trained on")
    ap.add_argument("--extra-train-data", action="append", default=[],
                    help="another training root (repeatable), as the networks trained on")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "val_loss.csv")
    args = ap.parse_args()
    rows = []
    for rd in args.run_dirs:
        preset = load_preset(rd)
        net = load_network(rd / "color.keras")
        objective = methods.get("color").objective(preset.loss)
        val = list(run_dataset(validation_pipeline(preset, args.data, verbose=False), 0, 1))
        precise = precise_bn(net, preset, [args.data, *args.extra_train_data]
                             if args.extra_train_data else args.data)

        def losses(network, training):
            parts = [objective(b, network(b["image"], training=training))[1] for b in val]
            return {k: float(np.mean([p[k] for p in parts])) for k in PARTS}

        for statistics, network, training in (
                ("moving averages (released)", net, False),
                ("precise BN (not released)", precise, False),
                ("each validation batch's own", precise, True)):  # last: it moves the copy's
            row = dict(run_dir=rd.name, category=",".join(preset.data.categories),
                       seed=preset.train.seed, steps=preset.train.steps,
                       statistics=statistics, **{f"val_{k}": v for k, v in
                                                  losses(network, training).items()})
            rows.append(row)
            print(row, flush=True)
    text = io.StringIO()
    w = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(args.out, text.getvalue())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
