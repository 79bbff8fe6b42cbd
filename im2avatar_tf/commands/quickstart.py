"""Quickstart: the whole method, end to end, on this CPU in minutes.

  1. data       build (or reuse) a small procedural dataset in the released layout
  2. train      the shape network (MSFCEL) and the color network, at the tiny preset
  3. evaluate   IoU at 0.8 and surface PSNR (the released color recipe, t = 0.2; regression
                only and the training blend too) on the held-out test models, beside
                trivial baselines fitted on the training models (mean shape; mean color)
  4. export     a SavedModel (any-size uint8 images in) and a .keras file
  5. reconstruct one held-out image -> a colored mesh + a preview PNG

Re-running reuses everything already done (dataset, trained networks). Everything goes under
--out (default outputs/quickstart).
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path

from .. import scoring
from .options import add_data_argument, add_preset_argument, positive_int

HELP = "data -> training -> metrics vs baselines -> SavedModel -> a colored mesh, in minutes"
QUICKSTART_EPOCHS = 200  # the tiny preset's 20 epochs (~40 steps) are too few to beat baselines


def add_arguments(parser) -> None:
    add_preset_argument(parser, default="tiny")
    add_data_argument(parser)
    parser.add_argument("--out", default="outputs/quickstart",
                        help="folder for the model, export, reconstruction and summary")
    parser.add_argument("--epochs", type=positive_int, default=QUICKSTART_EPOCHS,
                        help=f"training epochs per network (default {QUICKSTART_EPOCHS})")


def run(args) -> int:
    import json

    from .. import methods
    from ..forward import NETWORKS
    from ..inference import Im2Avatar
    from ..runs import train_or_reuse
    from .options import preset_from_args, resolve_data

    start = time.time()
    out = Path(args.out)
    preset = preset_from_args(args)  # with --epochs
    S, R = preset.model.image_size, preset.model.volume_size

    step("1/5 data")
    root = resolve_data(args.data, preset)
    print(f"{', '.join(preset.data.categories)} in {root}")

    step(f"2/5 train ({preset.name} preset: {S} px -> {R}^3, {args.epochs} epochs)")
    model_dir = out / "model"
    model = Im2Avatar(preset, *train_or_reuse(preset, NETWORKS, root, model_dir),
                      source=str(model_dir))

    step("3/5 evaluate on the held-out test models")
    cats = list(preset.data.categories)
    # One network for all the categories, so one pair of baselines fitted on all of them.
    scored = scoring.beside_baselines(
        methods.get("shape").predictor(model.shape, color=model.color), root, "test", cats,
        image_size=S, resolution=R, shape=model.shape, selections=SELECTIONS,
        per_category=False, iou_thresholds=(0.8,), blend_ts=(0.2, 1.0))
    ours = scored.result
    rows = metric_rows(scored)

    step("4/5 export")
    paths = model.export(out / "export")

    step("5/5 reconstruct one held-out image")
    from ..data.layout import VIEW_NAMES
    from ..data.pipeline import list_models
    from ..inference import Reconstructor
    from ..result import save_png

    test_entry = list_models(root, "test", cats, R)[0][0]
    image = test_entry.paths.view(VIEW_NAMES[1])
    result = Reconstructor.from_dir(paths.saved_model.parent).predict(image)
    try:
        written = result.save(out / "reconstruction.ply")
    except Exception as e:  # an empty prediction has no mesh: say so, keep the summary
        written = [f"(no mesh: {e})"]
    preview = save_png(out / "reconstruction_preview.png", result.preview())

    minutes = (time.time() - start) / 60
    summary = {"metrics": rows, "wall_minutes": round(minutes, 2), "model_dir": str(model_dir),
               "saved_model": str(paths.saved_model), "input_image": str(image),
               "reconstruction": [str(p) for p in written], "preview": str(preview)}
    from ..io import atomic_write_text

    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1))
    step("summary")
    for r in rows:
        print(f"  {r['metric']:<34s} model {r['model']:7.3f}   baseline {r['baseline']:7.3f} "
              f"({r['baseline_name']})   {r['verdict']}")
    print(f"  test models: {ours.n_models} x 12 views; empty predictions (no PSNR): "
          f"{int(ours.records[ours.records.metric == 'psnr_rgb'].value.isna().sum())} views")
    print(f"\n  model dir     {model_dir}\n  SavedModel    {paths.saved_model}\n"
          f"  input         {image}\n  reconstruction {', '.join(map(str, written))}\n"
          f"  preview       {preview}\n  summary       {out / 'summary.json'}")
    from ..machine import cpu_model
    from ..runtime import onednn_enabled

    print(f"\nwall time: {minutes:.1f} min, dataset build included "
          f"({cpu_model()}, {os.cpu_count()} cores, oneDNN {'on' if onednn_enabled() else 'off'})")
    return 0


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


SELECTIONS = [scoring.Selection("IoU (model at 0.8)", "iou", (("threshold", 0.8),))] + [
    scoring.Selection(f"PSNR {space}, {label}", metric, where)
    for metric, space in (("psnr_rgb", "RGB"), ("psnr_ycbcr", "YCbCr"))
    for label, where in (("released blend t=0.2", (("coloring", "blend"), ("t", 0.2))),
                         ("regression only", (("coloring", "regression"),)),
                         ("training blend t=1", (("coloring", "blend"), ("t", 1.0))))]
VERDICTS = {"supported": "beats it", "contradicted": "does NOT beat it",
            "not resolved": "not resolved (within 2 standard errors)"}


def metric_rows(scored) -> list:
    """The summary's rows: per selection, the mean over (test model, view) of the model and of
    its baseline, and the paired verdict (`scoring`: per test model, 2 standard errors)."""
    threshold = scored.baselines[scoring.ALL].baselines.shape_threshold
    rows = []
    for r in scored.verdicts.to_dict("records"):
        nothing = math.isnan(r["model"])
        rows.append({"metric": r["selection"], "model": r["model"], "baseline": r["baseline"],
                     "baseline_name": f"mean training shape > {threshold:.2f}"
                     if r["metric"] == "iou" else "mean training color",
                     "beats": r["verdict"] == "supported",
                     "verdict": "nothing to score (no voxel predicted at 0.8)" if nothing
                     else VERDICTS[r["verdict"]]})
    return rows
