"""Publish trained networks into the model zoo (`pretrained/`), for maintainers.

Give the run dirs of one category's candidate networks (e.g. the claims study's seeds): the
shape network is chosen by its IoU@0.8 on the validation split of --data, the color network
and its blend t (0.2 or 1) by surface PSNR on the validation split. Both are stored as float16
(or, with --weights int8, as int8 with one scale per kernel channel: about a third of the
size) and the stored networks are scored on the test split of --data and of --real-test,
beside the mean-shape and mean-color baselines fitted on the training data (--data +
--extra-train-data). A model that does not beat both baselines on --data's test split is
refused; so is an int8 model that costs more than 0.01 IoU@0.8 or 0.2 dB of surface PSNR
against the same networks in float16 on that split. Nothing is written then.

Example:
  python run.py publish-model chair --category chair --data data/procedural-small \\
      --extra-train-data data/sweethome3d-small --real-test data/sweethome3d-small \\
      --shape runs/small/.../chair/shape-msfcel-* --color runs/small/.../chair/color-*
"""
from __future__ import annotations

import shlex
import sys

HELP = "publish trained networks into the model zoo (maintainers)"


def add_arguments(parser) -> None:
    from ..pretrained import WEIGHT_ENCODINGS
    from ..publish import QUANTIZATION_LIMITS, THRESHOLD

    parser.add_argument("name", help="the zoo name (e.g. car)")
    parser.add_argument("--category", required=True, help="the category trained on")
    parser.add_argument("--shape", nargs="+", required=True, metavar="RUN_DIR",
                        help="candidate shape-network run dirs (one is chosen on validation)")
    parser.add_argument("--color", nargs="+", required=True, metavar="RUN_DIR",
                        help="candidate color-network run dirs (one is chosen on validation)")
    parser.add_argument("--data", required=True,
                        help="the dataset the networks trained on: its val split chooses, its "
                             "test split scores")
    parser.add_argument("--extra-train-data", nargs="+", default=[], metavar="DIR",
                        help="other datasets they trained on (for the baselines and the "
                             "manifest's data and licences)")
    parser.add_argument("--real-test", nargs="+", default=None, metavar="DIR",
                        help="more test sets (real models held out by model), each scored "
                             "beside the same baselines: metrics 'real' for one, 'real "
                             "(<folder>)' for each of several")
    parser.add_argument("--color-t", type=float, choices=(0.2, 1.0), default=None,
                        help="fix the color blend's t (0.2: the release's recipe, 1: the "
                             "training blend) instead of choosing it on validation; needed "
                             "when --data has no validation split (the human set): then give "
                             "one --shape and one --color, chosen before any scoring")
    parser.add_argument("--weights", choices=WEIGHT_ENCODINGS, default="float16",
                        help=f"how the weights are stored (default float16). int8: one scale "
                             f"per kernel channel, about a third of the size; the networks are "
                             f"scored in both and refused if int8 costs more than "
                             f"{QUANTIZATION_LIMITS['iou']:g} IoU@{THRESHOLD:g} or "
                             f"{QUANTIZATION_LIMITS['psnr_rgb']:g} dB PSNR on --data's test "
                             f"split")
    parser.add_argument("--description", default="", help="one line for the manifest")
    parser.add_argument("--zoo", default=None, help="the zoo folder (default: pretrained/)")


def run(args) -> int:
    from ..publish import NotBetterThanBaselines, QuantizationTooCostly, publish

    try:
        model = publish(args.name, args.category, args.shape, args.color, args.data,
                        args.extra_train_data, args.real_test, zoo=args.zoo,
                        description=args.description, color_t=args.color_t,
                        weights=args.weights,
                        command="python run.py " + shlex.join(sys.argv[1:]))
    except (NotBetterThanBaselines, QuantizationTooCostly) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"published {model.name!r}: {model.bytes / 2**20:.1f} MiB, colors at t = "
          f"{model.color_t:g}")
    for label, m in model.metrics.items():
        print(f"  {label}: {m}")
    return 0
