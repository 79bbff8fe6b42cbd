"""List the pretrained models shipped in `pretrained/` (the zoo) with their test metrics beside
the trivial baselines: the mean training shape (IoU) and the mean training color (surface
PSNR RGB, on the network's own voxels). Any of them works as `--model NAME` in `reconstruct`,
`export` and `demo`, and as `Reconstructor.from_pretrained(NAME)` in Python.

Example: python run.py models            (add --check to verify every file's sha256)
"""
from __future__ import annotations

import sys

HELP = "list the pretrained models (the zoo) and their test metrics beside the baselines"


def add_arguments(parser) -> None:
    parser.add_argument("--check", action="store_true",
                        help="verify every zoo file against the manifest's sha256")
    parser.add_argument("--json", action="store_true", help="print the manifest entries as JSON")
    parser.add_argument("--rename", nargs=2, metavar=("OLD", "NEW"), default=None,
                        help="(maintainers) give zoo model OLD the name NEW: its folder, "
                             "manifest entry and README line; e.g. `--rename chair chair-32` "
                             "before a 64³ chair is published as chair")


def _row(name, model) -> list:
    lines = []
    for label, m in model.metrics.items():
        if not m.get("n_models"):
            lines.append(f"  {label:16s}    0 models  ({m['test_set']} has none of this category)")
            continue
        t = f"psnr_rgb_t{model.color_t:g}"
        verdicts = " / ".join(c["verdict"] for c in m.get("claims", []))
        lines.append(f"  {label:16s} {m['n_models']:4d} models  IoU@{model.threshold:g} "
                     f"{m['iou']:.3f} (mean shape {m['mean_shape_iou']:.3f})  PSNR RGB "
                     f"{m[t]:.2f} dB (mean color {m['mean_color_psnr_rgb']:.2f})  beats them: "
                     f"{verdicts}")
    return lines


def run(args) -> int:
    import json

    from .. import pretrained

    if args.rename:
        from ..publish import rename

        try:
            model = rename(*args.rename)
        except (KeyError, ValueError, OSError) as e:
            print(f"error: {e.args[0] if isinstance(e, KeyError) else e}", file=sys.stderr)
            return 1
        print(f"renamed {args.rename[0]!r} to {model.name!r} in {pretrained.zoo_dir()}")
        return 0
    names = pretrained.names()
    if not names:
        print(f"no pretrained models in {pretrained.zoo_dir()}")
        return 1
    models = [pretrained.get(n) for n in names]
    if args.json:
        print(json.dumps({m.name: m.to_dict() for m in models}, indent=1))
        return 0
    total = sum(m.bytes for m in models)
    print(f"{len(models)} pretrained models in {pretrained.zoo_dir()} "
          f"({total / 2**20:.1f} MiB)")
    bad = 0
    for m in models:
        data = " + ".join(f"{d['models']} {d['source']}" for d in m.training.get("data", []))
        print(f"\n{m.name}: {m.category}, preset {m.preset}, trained on {data} training models; "
              f"{m.bytes / 2**20:.1f} MiB of {m.weights_dtype} weights; colors at t = "
              f"{m.color_t:g}")
        for line in _row(m.name, m):
            print(line)
        if args.check:
            try:
                pretrained.verify(m)
                print("  files: sha256 ok")
            except pretrained.CorruptModelError as e:
                bad += 1
                print(f"  files: {e}")
    return 1 if bad else 0
