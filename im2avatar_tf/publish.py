"""Publishing trained networks into the model zoo (`pretrained.py` reads it).

`publish` takes the run dirs of one category's candidate networks (e.g. one per seed),
chooses the shape network by its IoU on the **validation** split and the color network and
its blend threshold t by surface PSNR on the validation split, stores both as float16 (or int8
per channel: `pretrained.WEIGHT_ENCODINGS`), and scores the stored networks on each test set
beside the trivial baselines fitted on the training data (`score_test_set`, through
`scoring.beside_baselines`). A model that does not beat both baselines on the in-distribution
test set is refused (nothing is written); so is an int8 model that costs more than
`QUANTIZATION_LIMITS` against the same networks in float16 on that test set. The manifest
entry records the data and its licences, the schedule, the choice, the metrics, the command
and the git revision.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from . import pretrained
from .config import CONFIG_FILE, read_preset
from .forward import NETWORKS
from .pretrained import ZooModel

COLOR_TS = (0.2, 1.0)  # the released evaluation recipe and the training blend
THRESHOLD = 0.8  # the released occupancy threshold
# The most int8 weights may cost against float16 on the in-distribution test split (issue 29):
# IoU@THRESHOLD and surface PSNR RGB (dB) at the model's t, means over the test models.
QUANTIZATION_LIMITS = {"iou": 0.01, "psnr_rgb": 0.2}


class NotBetterThanBaselines(RuntimeError):
    """The candidate does not beat the trivial baselines in distribution."""


class QuantizationTooCostly(RuntimeError):
    """int8 weights cost more than QUANTIZATION_LIMITS against float16."""


def _scores(records, threshold: float) -> dict:
    """Mean over models of the IoU at `threshold` and the RGB surface PSNR of each blend t."""
    from .claims import model_means

    out = {"iou": float(model_means(records, metric="iou", threshold=threshold).mean())}
    for t in COLOR_TS:
        values = model_means(records, metric="psnr_rgb", coloring="blend", t=t)
        if len(values):
            out[f"psnr_rgb_t{t:g}"] = float(values.mean())
    return out


def _predictor(shape, color):
    """The shape network's predictor, with the color network's colors if one is given."""
    from . import methods

    return (methods.get("color").predictor(color, shape=shape) if color is not None
            else methods.get("shape").predictor(shape))


def _evaluate(shape, color, root, split: str, category: str, preset, progress: bool) -> dict:
    """The scores of the shape network (and the color network, if given) on a split."""
    from . import evaluation

    result = evaluation.evaluate(
        _predictor(shape, color), root, split, [category], image_size=preset.model.image_size,
        resolution=preset.model.volume_size, iou_thresholds=(THRESHOLD,), blend_ts=COLOR_TS,
        progress=progress, desc=f"{category}: {split} of {Path(root).name}")
    return dict(_scores(result.records, THRESHOLD), n_models=result.n_models)


# (metric, the claim as the manifest words it): "beats" is the paired verdict of `scoring`.
CLAIMS = (("iou", "beats the mean training shape (IoU)"),
          ("psnr_rgb", "beats the mean training color (PSNR RGB)"))


def score_test_set(nets: dict, root: Path, fit_roots: Sequence[Path], category: str, preset,
                   color_t: float, progress: bool = True) -> dict:
    """The networks' test scores on `root` beside the trivial baselines fitted on the
    training `fit_roots` (`scoring.beside_baselines`), and whether they beat them: IoU at
    THRESHOLD and RGB surface PSNR of the blend at `color_t`, each 'supported' when the mean
    per-model difference is more than 2 standard errors above zero."""
    from . import scoring

    selections = [scoring.Selection(f"IoU@{THRESHOLD:g}", "iou", (("threshold", THRESHOLD),)),
                  scoring.Selection(f"blend t = {color_t:g}", "psnr_rgb",
                                    (("coloring", "blend"), ("t", color_t)))]
    scored = scoring.beside_baselines(
        _predictor(nets["shape"], nets["color"]), root, "test", [category],
        image_size=preset.model.image_size, resolution=preset.model.volume_size,
        shape=nets["shape"], fit_root=fit_roots, selections=selections,
        iou_thresholds=(THRESHOLD,), blend_ts=COLOR_TS, progress=progress,
        desc=f"{category}: test of {Path(root).name}")
    [base] = scored.baselines.values()
    score = dict(_scores(scored.result.records, THRESHOLD), n_models=scored.result.n_models,
                 test_set=f"{Path(root).name} test split",
                 mean_shape_iou=float(base.model_means("iou").mean()),
                 mean_shape_threshold=base.baselines.shape_threshold,
                 mean_color_psnr_rgb=float(base.model_means("psnr_rgb").mean()))
    claims = []
    for metric, claim in CLAIMS:
        [row] = scored.verdicts[scored.verdicts.metric == metric].itertuples()
        claims.append({"claim": claim, "mean_difference": float(row.mean_difference),
                       "sem": float(row.sem), "n_models": int(row.n_models),
                       "verdict": row.verdict})
    score["beats_mean_shape"] = claims[0]["verdict"] == "supported"
    score["beats_mean_color"] = claims[1]["verdict"] == "supported"
    score["claims"] = claims
    return score


def quantization_cost(reference: dict, shipped: dict, root: Path, category: str, preset,
                      color_t: float, dtype: str, progress: bool = True) -> dict:
    """What encoding `dtype` costs: the `reference` networks (the same, in float16) scored on
    the test split of `root` against `shipped`'s scores there (`score_test_set`'s), per metric
    of QUANTIZATION_LIMITS; QuantizationTooCostly when a cost passes its limit."""
    ref = _evaluate(reference["shape"], reference["color"], root, "test", category, preset,
                    progress)
    psnr = f"psnr_rgb_t{color_t:g}"
    out = {"weights_dtype": dtype, "test_set": f"{Path(root).name} test split",
           "n_models": shipped["n_models"], "limits": dict(QUANTIZATION_LIMITS)}
    for metric, key in (("iou", "iou"), ("psnr_rgb", psnr)):
        out[metric] = {"float16": ref[key], dtype: shipped[key], "cost": ref[key] - shipped[key]}
    over = [f"{m} {out[m]['cost']:+.4f} (limit {limit:g})"
            for m, limit in QUANTIZATION_LIMITS.items()
            if not out[m]["cost"] <= limit]  # NaN (a metric lost) too
    if over:
        raise QuantizationTooCostly(
            f"{dtype} weights cost too much against float16 on {out['test_set']}: "
            f"{', '.join(over)}; publish with --weights float16")
    return out


def choose(shape_dirs: Sequence[Path], color_dirs: Sequence[Path], root: Path, category: str,
           progress: bool = True, color_t: Optional[float] = None
           ) -> Tuple[Path, Path, float, dict]:
    """-> (shape dir, color dir, color t, validation scores): the shape network with the best
    validation IoU@0.8, then the color network and t (`color_t` if given) with the best
    validation PSNR on its voxels. A dataset without a validation split (the human layout has
    train and test only) allows no choice: one candidate of each and a fixed `color_t`."""
    from .evaluation import has_split
    from .models import load_network, load_preset

    if color_t is not None and color_t not in COLOR_TS:
        raise ValueError(f"--color-t must be one of {COLOR_TS}, got {color_t}")
    if not has_split(root, "val", [category]):
        if len(shape_dirs) != 1 or len(color_dirs) != 1 or color_t is None:
            raise ValueError(
                f"--data {root} has no validation split for {category}, so nothing may be "
                f"chosen (the test split only scores): give one --shape, one --color and "
                f"--color-t (got {len(shape_dirs)} shape, {len(color_dirs)} color candidates, "
                f"--color-t {color_t})")
        _same_model(color_dirs[0], shape_dirs[0])
        return Path(shape_dirs[0]), Path(color_dirs[0]), float(color_t), {}

    val: Dict[str, dict] = {}
    best_shape, best_iou, shape_net = None, -math.inf, None  # a NaN score never wins
    for d in shape_dirs:
        preset, net = load_preset(d), load_network(Path(d) / "shape.keras")
        score = _evaluate(net, None, root, "val", category, preset, progress)
        val[str(d)] = score
        if best_shape is None or score["iou"] > best_iou:
            best_shape, best_iou, shape_net = Path(d), score["iou"], net
    best = (Path(color_dirs[0]), COLOR_TS[0], -math.inf)  # if no candidate colors any voxel
    for d in color_dirs:
        _same_model(d, best_shape)
        preset, net = load_preset(d), load_network(Path(d) / "color.keras")
        score = _evaluate(shape_net, net, root, "val", category, preset, progress)
        val[str(d)] = score
        for t in (COLOR_TS if color_t is None else (color_t,)):
            value = score.get(f"psnr_rgb_t{t:g}", -math.inf)  # absent: no voxel colored
            if value > best[2]:
                best = (Path(d), t, value)
    return best_shape, best[0], best[1], val


def _same_model(color_dir, shape_dir) -> None:
    """The color and shape networks must share one model configuration: the zoo stores one."""
    from .models import load_preset

    if load_preset(color_dir).model != load_preset(shape_dir).model:
        raise ValueError(f"the color network {color_dir} and the shape network {shape_dir} were "
                         f"built for different model configurations (image or volume size, "
                         f"widths, sampler): publish networks of one preset together")


def training_data(roots: Sequence[Path], category: str, resolution: int) -> List[dict]:
    """Per training root: its name, source, how many training models of `category`, and the
    licences of models that carry one in meta.json: real models (with their creators and ids)
    and generated ones whose generator names the licence of its assets (the human set)."""
    from .data.pipeline import list_models, resolve_categories

    out = []
    for root in roots:
        [cat] = resolve_categories(root, [category])
        entries, _ = list_models(root, "train", [cat], resolution)
        licences, creators, source, real = Counter(), Counter(), None, False
        for e in entries:
            meta = json.loads(e.paths.meta.read_text()) if e.paths.meta.exists() else {}
            src = meta.get("source", {})
            source = src.get("source", source)
            generator = src.get("generator")
            if "license" in src:  # a real model: its licence and creator, for attribution
                real = True
                licences[src["license"]] += 1
                creators[src.get("creator", "unknown")] += 1
            elif isinstance(generator, dict) and "licence" in generator:
                licences[generator["licence"]] += 1
        out.append({"root": Path(root).name, "source": source or "unknown",
                    "models": len(entries),
                    "licences": dict(licences), "creators": dict(creators),
                    "model_ids": [e.paths.model_id for e in entries] if real else None})
    return out


def _schedule(run_dir: Path) -> dict:
    """How a run dir's network was trained: its schedule (config.json) and the command, git
    revision and versions that trained it (run.json)."""
    train = read_preset(run_dir).train
    out = {k: getattr(train, k) for k in ("seed", "steps", "epochs", "batch_size",
                                          "learning_rate")}
    run = Path(run_dir) / "run.json"
    if run.exists():
        made = json.loads(run.read_text())
        out.update({f"trained_{k}": made.get(k)
                    for k in ("command", "git_revision", "date", "tensorflow", "keras")})
    return out


def publish(name: str, category: str, shape_dirs: Sequence[Path], color_dirs: Sequence[Path],
            data: Path, extra: Sequence[Path] = (), real_test=None, *,
            command: str = "", description: str = "", zoo: Optional[Path] = None,
            progress: bool = True, color_t: Optional[float] = None,
            weights: str = "float16") -> ZooModel:
    """Choose, store (in encoding `weights`), score and register one zoo model; see the module
    docstring.
    `real_test`: a real test set's folder, or several: metrics "real", or "real (<folder>)"
    each when there are several."""
    from . import evaluation
    from .io import atomic_dir, atomic_write_text
    from .models import load_network, load_preset
    from .rundir import git_revision

    if weights not in pretrained.WEIGHT_ENCODINGS:
        raise ValueError(f"weights must be one of {pretrained.WEIGHT_ENCODINGS}, got {weights!r}")
    zoo = Path(zoo) if zoo is not None else pretrained.zoo_dir()
    data = Path(data)
    reals = ([] if real_test is None else [Path(real_test)] if isinstance(real_test, (str, Path))
             else [Path(r) for r in real_test])
    for option, root in [("--data", data)] + [("--real-test", r) for r in reals]:
        if not Path(root).is_dir():
            raise FileNotFoundError(f"{option} {root} is not a folder")
    if not evaluation.has_split(data, "test", [category]):
        raise FileNotFoundError(f"--data {data} has no test split for {category}: the zoo "
                                f"scores every model on its in-distribution test split")
    shape_dir, color_dir, color_t, val = choose(shape_dirs, color_dirs, data, category, progress,
                                                color_t)
    preset = load_preset(shape_dir)
    roots = [data, *map(Path, extra)]

    with atomic_dir(zoo / name) as folder:
        atomic_write_text(folder / CONFIG_FILE, preset.to_json())
        nets, reference = {}, {}  # as stored; the same in float16 (to cost an int8 model)
        for network, d in zip(NETWORKS, (shape_dir, color_dir)):
            trained = load_network(Path(d) / f"{network}.keras")
            pretrained.save_weights(trained, folder / f"{network}.weights.npz", weights)
            nets[network] = pretrained.load_weights(
                pretrained.build_network(network, preset), folder / f"{network}.weights.npz")
            if weights != "float16":
                reference[network] = pretrained.as_stored(trained, network, preset, "float16")

        # Score what is shipped, the weights as stored and loaded back: in distribution first,
        # where it must beat the baselines (and int8 must cost little), then the real sets.
        ind = score_test_set(nets, data, roots, category, preset, color_t, progress)
        if not (ind["beats_mean_shape"] and ind["beats_mean_color"]):
            raise NotBetterThanBaselines(
                f"{name}: not published: on the in-distribution test split it does not beat "
                f"the trivial baselines ({json.dumps(ind)})")
        quantization = (None if weights == "float16" else quantization_cost(
            reference, ind, data, category, preset, color_t, weights, progress))
        metrics = {"in distribution": ind}
        for root in reals:
            label = "real" if len(reals) == 1 else f"real ({root.name})"
            if not evaluation.has_split(root, "test", [category]):
                print(f"note: {root} has no test {category} models: no {label} metrics")
                metrics[label] = {"test_set": f"{root.name} test split", "n_models": 0}
                continue
            metrics[label] = score_test_set(nets, root, roots, category, preset, color_t,
                                            progress)
        files = {}
        for f in sorted(folder.iterdir()):
            files[f.name] = {"sha256": pretrained.sha256(f), "bytes": f.stat().st_size}

    model = ZooModel(
        name=name, category=category, preset=preset.name, threshold=THRESHOLD,
        color_t=color_t, files=files,
        metrics=metrics, command=command, git_revision=git_revision(), description=description,
        training={
            "data": training_data(roots, category, preset.model.volume_size),
            "shape": dict(run=str(shape_dir), **_schedule(shape_dir)),
            "color": dict(run=str(color_dir), **_schedule(color_dir)),
            "chosen_on": ("validation split of " + data.name if val else
                          f"nothing chosen ({data.name} has no validation split): one "
                          f"candidate each, t = {color_t:g} fixed"),
            "validation": val,
            "weights_dtype": weights,
            **({"quantization": quantization} if quantization else {}),
        })
    manifest = pretrained.read_manifest(zoo)
    entry = model.to_dict()
    del entry["name"]
    manifest["models"][name] = entry
    _write_manifest(zoo, manifest)
    return model


def _schedule_text(training: dict) -> str:
    """'1000 steps of batch 32 per network', or each network's own when they differ (a color
    network trained at --color-batch-size)."""
    sched = {n: (training[n]["steps"], training[n]["batch_size"]) for n in ("shape", "color")}
    if sched["shape"] == sched["color"]:
        return "{} steps of batch {} per network".format(*sched["shape"])
    return ", ".join(f"{n} {steps} steps of batch {batch}" for n, (steps, batch) in sched.items())


def _write_manifest(zoo: Path, manifest: dict) -> None:
    """The manifest (models sorted by name), then the README made from it."""
    from .io import atomic_write_text

    manifest["models"] = dict(sorted(manifest["models"].items()))
    atomic_write_text(zoo / pretrained.MANIFEST, json.dumps(manifest, indent=1) + "\n")
    atomic_write_text(zoo / "README.md", readme(manifest, zoo))


def rename(old: str, new: str, zoo: Optional[Path] = None) -> ZooModel:
    """Give zoo model `old` the name `new` (its folder, manifest entry and README line), e.g.
    `chair` -> `chair-32` before a 64³ chair takes the name. The files move unchanged (git
    stores no new weights). The folder moves first, then the manifest and the README are
    rewritten; running the same rename again finishes one that was stopped (a folder already
    moved is checked against the manifest's sha256 first) and changes nothing after one that
    was not."""
    import os

    zoo = Path(zoo) if zoo is not None else pretrained.zoo_dir()
    manifest = pretrained.read_manifest(zoo)
    models = manifest["models"]
    if old not in models and new in models and (zoo / new).is_dir():
        entry = models[new]  # renamed already: the README may lag the manifest
    else:
        if old not in models:
            have = ", ".join(sorted(models)) or "none"
            raise KeyError(f"no zoo model called {old!r} in {zoo} (it has: {have})")
        if new in models:
            raise ValueError(f"the zoo already has a model called {new!r}; rename or remove "
                             f"it first")
        if not new or Path(new).name != new or new.startswith("."):
            raise ValueError(f"{new!r} is not a plain folder name")
        entry = models.pop(old)
        if (zoo / old).exists():
            if (zoo / new).exists():
                raise FileExistsError(f"{zoo / new} exists but is no zoo model: move it away "
                                      f"first")
            os.replace(zoo / old, zoo / new)
        elif not (zoo / new).is_dir():
            raise FileNotFoundError(f"{zoo / old} is missing; restore it with `git checkout "
                                    f"-- {zoo / old}`")
        else:  # moved by a rename that stopped before the manifest: is it that model?
            pretrained.verify(ZooModel(name=old, **entry), zoo / new)
        entry["training"].setdefault("renamed_from", old)  # the name it was published as
        models[new] = entry
    _write_manifest(zoo, manifest)
    return ZooModel(name=new, **entry)


def readme(manifest: dict, zoo: Path) -> str:
    """pretrained/README.md: the manifest as a page (written with it; the manifest rules).
    Each model's sizes come from its own config.json, the file loading it reads."""
    lines = ["# Pretrained models (the zoo)", "",
             "Made by `python run.py publish-model` from `manifest.json`, which holds everything "
             "below plus each file's sha256, the validation scores that chose the networks and "
             "the real training models' ids. Use a model with `python run.py reconstruct "
             "IMAGE --model NAME`, `Reconstructor.from_pretrained(NAME)`, `export --model NAME` "
             "or `demo`; `python run.py models --check` verifies the files.", "",
             "Metrics are on the test splits (never trained on), for the weights as shipped "
             "(float16, or int8 per channel where the size says so), beside the trivial "
             "baselines fitted on the training data: the mean training shape at its best training threshold, and the mean training color on "
             "the network's own voxels. PSNR is surface PSNR RGB in dB at the model's t.", "",
             "\"beats\" is the paired per-model verdict: supported when the mean per-model "
             "difference is more than 2 standard errors above zero.", "",
             "| model | preset | training data | test set | models | IoU@0.8 | mean shape "
             "| PSNR RGB | mean color | beats shape / color | size |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, m in manifest["models"].items():
        data = " + ".join(f"{d['models']} {d['source']}" for d in m["training"]["data"])
        size = sum(f["bytes"] for f in m["files"].values()) / 2**20
        dtype = m["training"].get("weights_dtype", "float16")
        size = f"{size:.1f} MiB" + ("" if dtype == "float16" else f", {dtype}")
        psnr = f"psnr_rgb_t{m['color_t']:g}"
        preset = read_preset(zoo / name, "the folder publish-model writes").model
        name_cells = f"{name} | {m['preset']} ({preset.image_size} px -> {preset.volume_size}³)"
        for label, s in m["metrics"].items():
            if not s.get("n_models"):
                lines.append(f"| {name_cells} | {data} | {label}: {s['test_set']} | 0 | no test "
                             f"models of this category | | | | | {size} |")
                continue
            lines.append(
                f"| {name_cells} | {data} | {label}: {s['test_set']} | {s['n_models']} | "
                f"{s['iou']:.3f} | {s['mean_shape_iou']:.3f} | "
                f"{s[psnr]:.2f} (t = {m['color_t']:g}) | "
                f"{s['mean_color_psnr_rgb']:.2f} | "
                + " / ".join(c["verdict"] for c in s.get("claims", []))
                + f" | {size} |")
    lines += ["", "## Training data and licences", ""]
    for name, m in manifest["models"].items():
        t = m["training"]
        lines.append(f"**{name}** (shape seed {t['shape']['seed']}, color seed "
                     f"{t['color']['seed']}, {_schedule_text(t)}; "
                     + (f"chosen on the {t['chosen_on']}" if t["validation"] else t["chosen_on"])
                     + f"; published at git {m['git_revision']}"
                     + (f" as `{t['renamed_from']}`" if t.get("renamed_from") else "") + "):")
        for d in t["data"]:
            lic = "; ".join(f"{n} under {k}" for k, n in d["licences"].items())
            lines.append(f"- {d['models']} {d['source']} models from `{d['root']}`"
                         + (f": {lic}" if lic else " (generated by this project)"))
            if d.get("creators"):
                lines.append("  - by " + ", ".join(
                    f"{who} ({n})" for who, n in sorted(d["creators"].items())))
        for net in NETWORKS:
            if t[net].get("trained_command"):
                lines.append(f"- {net} network trained by `python {t[net]['trained_command']}` "
                             f"at git {t[net]['trained_git_revision']} "
                             f"({t[net]['trained_date']}, TensorFlow "
                             f"{t[net]['trained_tensorflow']})")
        q = t.get("quantization")
        if q:
            lines.append(
                f"- weights {q['weights_dtype']} per channel, against the same networks in "
                f"float16 on the {q['test_set']} ({q['n_models']} models): IoU@{THRESHOLD:g} "
                f"{q['iou'][q['weights_dtype']]:.4f} vs {q['iou']['float16']:.4f} (cost "
                f"{q['iou']['cost']:+.4f}, limit {q['limits']['iou']:g}), PSNR RGB "
                f"{q['psnr_rgb'][q['weights_dtype']]:.3f} vs {q['psnr_rgb']['float16']:.3f} dB "
                f"(cost {q['psnr_rgb']['cost']:+.3f}, limit {q['limits']['psnr_rgb']:g})")
        lines += [f"- published by: `{m['command']}`", ""]
    return "\n".join(lines) + "\n"
