"""Trained networks, kept and reused: where a network of a configuration lives (run-dir keys)
and train-or-reuse, the same for `train`, `quickstart` and every experiment.

    out = run_dir("runs", preset, root, "shape", "car")
    # -> runs/tiny/toy-1a2b3c/car/shape-msfcel-4d5e6f
    [net] = train_or_reuse(network_preset(preset, "car"), ["shape"], root, out)

A run dir is keyed by what determines its network (the preset with its overrides, the dataset,
the category, the method and its shape loss), not by who asks, so `table2` and `views` reuse
`table1`'s MSFCEL shape network. `training.train` resumes an interrupted run and reuses a
finished one.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import List, Sequence

import numpy as np

from . import methods
from .config import subdict


def network_preset(preset, category: str, shape_loss: str = "msfcel"):
    """The exact preset a network of one category trains with (what its run dir is keyed on)."""
    return preset.replace(data={"categories": (category,)}, loss={"shape_loss": shape_loss})


# Fields added to the configuration after run dirs existed: left out of the key while they
# hold their defaults, so an older run dir keeps its name (and is resumed or reused).
LATER_FIELDS = {("train", "steps"): None, ("model", "decoder", "output_batchnorm"): True,
                ("train", "validate_every"): 0}


def config_key(preset) -> str:
    """Six hex digits naming a network's configuration in its run dir (`config.UNKEYED_FIELDS`
    are never in it)."""
    d = preset.training_dict()
    for path, default in LATER_FIELDS.items():
        *parents, name = path
        node = subdict(d, parents)
        if node.get(name, default) == default:
            node.pop(name, None)
    return hashlib.sha1(json.dumps(d, indent=2, sort_keys=True).encode()).hexdigest()[:6]


def run_dir(runs_dir: os.PathLike, preset, root: os.PathLike, network: str, category: str,
            shape_loss: str = "msfcel") -> Path:
    """runs/<preset>/<data>-<hash>/<category>/<method variant>-<config hash>: the same for
    everyone who needs this network."""
    from .data.pipeline import as_roots

    preset = network_preset(preset, category, shape_loss)
    roots = as_roots(root)  # several: trained on all their training splits together
    data_key = hashlib.sha1("\n".join(str(r.resolve()) for r in roots).encode()).hexdigest()[:6]
    cfg_key = config_key(preset)
    variant = methods.get(network).variant(preset.loss)
    data = f"{'+'.join(r.name for r in roots)}-{data_key}"
    return Path(runs_dir) / preset.name / data / category / f"{variant}-{cfg_key}"


def train_or_reuse(preset, networks: Sequence[str], root: os.PathLike, out: os.PathLike,
                   skip_bad: bool = False, cache: bool = True, resume: bool = True,
                   strategy=None, verbose: bool = True, label: str = "") -> List:
    """Train (or resume, or reuse) `networks` (method names), one after the other, on the
    training split of `root` (or of several roots together) at `preset`, into the run dir
    `out`; returns the networks."""
    from .data.pipeline import InputPipeline
    from .rundir import finished_marker, lock_folder
    from .training import train

    done = all(finished_marker(out, n).exists() for n in networks)
    # Held before the training cache is built, so a second process is refused at once (the
    # chief of a multi-worker run takes it in `train`: the other workers never do).
    busy = contextlib.nullcontext() if done or strategy == "multiworker" else lock_folder(out)
    with busy:
        pipe = InputPipeline.for_preset(preset, root, split="train", skip_bad=skip_bad,
                                        cache=cache, progress=verbose)
        validation = None if done else validation_pipeline(preset, root, skip_bad=skip_bad,
                                                           cache=cache, verbose=verbose)
        if verbose:
            _say_what_trains(preset, networks, root, out, pipe, label)
        return [train(preset, network, pipe, out, resume=resume, strategy=strategy,
                      verbose=1 if verbose else 0, validation=validation)
                for network in networks]


def _say_what_trains(preset, networks, root, out, pipe, label: str) -> None:
    from .recipe import with_steps_resolved

    names = ", ".join(f"{n} ({preset.loss.shape_loss})" if methods.get(n).uses_shape_loss
                      else n for n in networks)
    epochs = with_steps_resolved(preset, pipe).train.epochs
    steps = f" ({epochs * pipe.steps_per_epoch} steps)" if preset.train.steps else ""
    where = root if isinstance(root, (str, os.PathLike)) else " + ".join(map(str, root))
    print(f"{label}{names} on {', '.join(preset.data.categories)}: {len(pipe)} models from "
          f"{where}, {epochs} epochs of {pipe.steps_per_epoch} batches of "
          f"{preset.train.batch_size}{steps} -> {out}", flush=True)


def precise_bn(network, preset, root: os.PathLike, skip_bad: bool = False, cache: bool = True):
    """A copy of a trained network with its BatchNorm statistics recomputed (PreciseBN, not
    released: `models.precise_bn`) on one epoch of the batches it trained on: the training
    split of `root` (or of several roots) at its `preset` (a `network_preset`), every training
    model once in its epoch-0 view."""
    from .models.precise_bn import recalibrated_copy

    return recalibrated_copy(network, _epoch0_images(preset, root, skip_bad, cache))


def _epoch0_images(preset, root, skip_bad: bool, cache: bool):
    """The image batches of epoch 0 of the training split of `root` at `preset` (re-iterable)."""
    from .data.pipeline import InputPipeline

    pipe = InputPipeline.for_preset(preset, root, split="train", skip_bad=skip_bad, cache=cache,
                                    progress=False)
    return pipe(0).map(lambda batch: batch["image"])


BN_PARTS = ("reg", "flow", "blend")  # the color network's loss parts


def bn_statistics_losses(run_dir: os.PathLike, root, skip_bad: bool = False,
                         cache: bool = True) -> List[dict]:
    """The validation losses (`BN_PARTS`) of the color network of `run_dir` in inference mode
    with three BatchNorm statistics: as trained (the released moving averages), recomputed by
    `precise_bn` on the training split of `root` (or of several roots, as it trained), and
    each validation batch's own. One row each: run_dir, category, seed, steps, statistics,
    val_<part>. The run must have trained with validation losses (`validate_every`): the
    validation split (of the first root) is the one its log scored."""
    from .models import load_network, load_preset
    from .recipe import run_dataset

    run_dir = Path(run_dir)
    preset = load_preset(run_dir)
    pipe = validation_pipeline(preset, root, skip_bad=skip_bad, cache=cache, verbose=False)
    if pipe is None:
        raise ValueError(f"{run_dir} trained without validation losses (--validate-every), or "
                         f"{root} has no validation split: nothing to score")
    batches = list(run_dataset(pipe, 0, 1))
    objective = methods.get("color").objective(preset.loss)
    trained = load_network(run_dir / "color.keras")
    precise = precise_bn(trained, preset, root, skip_bad=skip_bad, cache=cache)

    def losses(network, training: bool) -> dict:
        parts = [objective(b, network(b["image"], training=training))[1] for b in batches]
        return {f"val_{k}": float(np.mean([p[k] for p in parts])) for k in BN_PARTS}

    rows = []
    for statistics, network, training in (
            ("moving averages (released)", trained, False),
            ("precise BN (not released)", precise, False),
            ("each validation batch's own", precise, True)):  # last: it moves the copy's
        rows.append({"run_dir": run_dir.name, "category": ",".join(preset.data.categories),
                     "seed": preset.train.seed, "steps": preset.train.steps,
                     "statistics": statistics, **losses(network, training)})
    return rows


PRECISE_BN_SIDECAR = "precise_bn.json"


def write_precise_bn_dir(model_dir: os.PathLike, out: os.PathLike, networks: Sequence[str],
                         root, skip_bad: bool = False, cache: bool = True,
                         command: str = "") -> List[str]:
    """A copy of the model dir `model_dir` at `out` (written whole or not at all) with the
    BatchNorm statistics of `networks` (of "shape", "color") recomputed by `precise_bn` on the
    training split of `root` (or several roots) at the model's own preset; its other files
    (config.json, run.json, the other networks) as they were, never checkpoints or logs, and
    PRECISE_BN_SIDECAR saying how. Returns the networks recomputed (those the dir holds)."""
    from .data.pipeline import as_roots
    from .io import atomic_dir, atomic_write_text, save_keras
    from .models import load_network, load_preset
    from .models.precise_bn import recalibrated_copy
    from .rundir import git_revision

    model_dir, out = Path(model_dir), Path(out)
    preset = load_preset(model_dir)
    done = [n for n in dict.fromkeys(networks) if (model_dir / f"{n}.keras").exists()]
    recomputed = {f"{n}.keras" for n in done} | {PRECISE_BN_SIDECAR}
    with atomic_dir(out) as tmp:
        for f in sorted(model_dir.iterdir()):
            if f.is_file() and f.suffix in (".json", ".keras") and f.name not in recomputed:
                shutil.copy2(f, tmp / f.name)
        if done:  # one epoch of training batches, read once for every network
            images = _epoch0_images(preset, root, skip_bad, cache)
        for name in done:
            save_keras(recalibrated_copy(load_network(model_dir / f"{name}.keras"), images),
                       tmp / f"{name}.keras")
        earlier = model_dir / PRECISE_BN_SIDECAR  # a copy of a copy keeps the first's record
        atomic_write_text(tmp / PRECISE_BN_SIDECAR, json.dumps({
            "source": str(model_dir.resolve()), "networks": done,
            "training_data": [str(r.resolve()) for r in as_roots(root)],
            "batch_size": preset.train.batch_size, "command": command,
            "git_revision": git_revision(), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            **({"source_precise_bn": json.loads(earlier.read_text())} if earlier.exists()
               else {}),
        }, indent=2))
    return done


def validation_pipeline(preset, root: os.PathLike, skip_bad: bool = False, cache: bool = True,
                        verbose: bool = True):
    """The validation split of `root` (the first root, when several are trained on: the others'
    splits stay held out) when `preset.train.validate_every` asks for validation losses, else
    None. A dataset without a validation split (the human layout) trains without them, with a
    note."""
    from .data.layout import read_split
    from .data.pipeline import InputPipeline, as_roots, resolve_categories
    from .evaluation import has_split

    if not preset.train.validate_every:
        return None
    first = as_roots(root)[0]
    if not has_split(first, "val", preset.data.categories):
        if verbose:
            print(f"note: {first} has no validation split for {list(preset.data.categories)}: "
                  f"no validation losses", flush=True)
        return None
    cats = resolve_categories(first, preset.data.categories)
    n = sum(len(read_split(first, "val", c, preset.model.volume_size)) for c in cats)
    if n < preset.train.batch_size:  # whole batches only: none to score
        if verbose:
            print(f"note: {first} has {n} validation models of {cats}, fewer than one batch of "
                  f"{preset.train.batch_size}: no validation losses", flush=True)
        return None
    return InputPipeline.for_preset(preset, first, split="val", skip_bad=skip_bad, cache=cache,
                                    progress=verbose)
