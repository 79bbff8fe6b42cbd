"""Shape-space coverage: for each real test model, the IoU of its nearest training model.

For every real test car (the Sweet Home 3D test cars and the TORCS cars), chair and table: the
best surface-shell IoU any training model reaches on it (what a network that memorized its
training set could at best score), over the procedural training split alone and over the whole
training set (procedural + the Sweet Home 3D training models, + the TORCS training cars with
`--torcs-split by-model`), beside the mean training shape; and where the nearest procedural
model falls short (`im2avatar_tf.shape_coverage.descriptors`: box ratios, roof line,
roundness, wheel placement), with the descriptors on which a real model lies outside the
procedural family's 2.5-97.5 percentiles. Cars are measured for each `--car-families` (the
`classic` generator and the `wide` one side by side). Numpy only: the models are voxelized as
build-dataset would (same frame and grid), no views, no network.

    python run.py coverage --preset small --cache /tmp/coverage-cache
"""
from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from im2avatar_tf.registry import register

SETS = ("sweethome3d", "torcs")


def add_arguments(parser) -> None:
    from im2avatar_tf.commands.options import add_preset_argument, positive_int

    add_preset_argument(parser, default="small")
    parser.add_argument("--categories", nargs="+", default=["car", "chair", "table"],
                        help="categories to measure (default: car chair table)")
    parser.add_argument("--car-families", nargs="+", default=["classic", "wide"],
                        help="procedural car families to measure side by side "
                             "(default: classic wide)")
    parser.add_argument("--count", type=positive_int, default=None,
                        help="procedural models per category (default: the preset's; "
                             "the training split is 70%% of them, as build-dataset splits)")
    parser.add_argument("--torcs-split", choices=("test", "by-model"), default="by-model",
                        help="the TORCS cars: all test, or held out by car model with the "
                             "others in training (build-dataset --torcs-split; default by-model)")
    parser.add_argument("--seed", type=int, default=0,
                        help="procedural seed and split seed, as build-dataset's (default 0)")
    parser.add_argument("--cache", default="data/coverage-cache",
                        help="where voxelized sets are kept between runs")
    parser.add_argument("--results-dir", default="results",
                        help="results/coverage/<preset>[-<N>models]/ is written here (default: "
                             "results)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


# ------------------------------------------------------------------------------- the sets

def _code_hash(category: str) -> str:
    """Of the procedural generator's source for `category` (its module or package and the
    shared parts, texture and sampling modules): a cached set is remade when it changes."""
    from im2avatar_tf.building.sources import procedural

    root = Path(procedural.__file__).parent
    files = [root / f"{n}.py" for n in ("__init__", "parts", "sampling", "texture", category)]
    files += sorted((root / category).glob("*.py"))
    h = hashlib.sha256()
    for p in files:
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()[:12]


class Voxels:
    """Voxelized sets, cached as packed bits under `root`."""

    def __init__(self, root: str, resolution: int, say):
        self.root, self.r, self.say = Path(root), resolution, say

    def get(self, key: str, jobs: Sequence) -> Dict[str, np.ndarray]:
        """{model_id: (R, R, R) bool} of the jobs (a builder Job list) that load; the others are
        left out as build-dataset skips them."""
        from im2avatar_tf.building.meshes import MeshError
        from im2avatar_tf.shape_coverage import shell

        path = self.root / f"{key}-r{self.r}.npz"
        if path.is_file():
            z = np.load(path)
            ids = [str(i) for i in z["ids"]]
            bits = np.unpackbits(z["bits"], axis=1, count=self.r ** 3).astype(bool)
            return {i: b.reshape((self.r,) * 3) for i, b in zip(ids, bits)}
        out, t0 = {}, time.time()
        for n, job in enumerate(jobs):
            try:
                out[job.model_id] = shell(job.load(), self.r, job.up, job.front)
            except MeshError as e:
                self.say(f"  skipped {job.model_id}: {e}")
            if (n + 1) % 100 == 0:
                self.say(f"  {key}: {n + 1}/{len(jobs)} ({time.time() - t0:.0f} s)")
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, ids=np.array(list(out)), bits=np.packbits(
            np.stack([v.reshape(-1) for v in out.values()]), axis=1))
        tmp.replace(path)
        return out


def _split(ids, seed: int, category: str) -> Dict[str, str]:
    from im2avatar_tf.building.builder import split_ids

    train, val, test = split_ids(list(ids), seed, category)
    return {**{i: "train" for i in train}, **{i: "val" for i in val}, **{i: "test" for i in test}}


def procedural_split(vox: Voxels, category: str, count: int, seed: int, family=None,
                     which: str = "train"):
    """The procedural training (or test) split of `count` models (build-dataset's split)."""
    import functools

    from im2avatar_tf.building.builder import Job
    from im2avatar_tf.building.sources.procedural import generate
    from im2avatar_tf.building.sources.procedural.jobs import procedural_model_id

    split = _split([procedural_model_id(i, seed) for i in range(count)], seed, category)
    kw = {"family": family} if family else {}
    jobs = [Job(category, procedural_model_id(i, seed),
                functools.partial(generate, category, i, seed=seed, **kw))
            for i in range(count) if split[procedural_model_id(i, seed)] == which]
    key = f"procedural-{category}-{family or 'default'}-seed{seed}-n{count}-{_code_hash(category)}"
    key += "" if which == "train" else f"-{which}"
    return vox.get(key, jobs)


def real_sets(vox: Voxels, category: str, seed: int, torcs_split: str):
    """{set: ({model_id: volume}, {model_id: split})} of the real sets holding `category`."""
    from im2avatar_tf.building.sources import sweethome3d, torcs

    out = {}
    if sweethome3d.available():
        v = vox.get(f"sweethome3d-{category}", sweethome3d.sweethome3d_jobs([category]))
        out["sweethome3d"] = (v, _split(v, seed, category))
    if category == "car" and torcs.available():
        cars = torcs.iter_cars()
        v = vox.get("torcs", torcs.torcs_jobs())
        out["torcs"] = (v, torcs.car_splits(cars, torcs_split, seed))
        if torcs_split != "test":  # every car too: the test-only set before the split
            out["torcs-all"] = (v, {i: "test" for i in v})
    return out


# ------------------------------------------------------------------------------- measuring

def measure(category, family, proc, real, say) -> List[dict]:
    """One row per real test model: its nearest model among the procedural training models,
    among them + the Sweet Home 3D training models (the training set before the TORCS cars
    joined), and among every training model (+ the TORCS training cars); the mean training
    shape; where the nearest procedural model falls short. "torcs-all" (every TORCS car, the
    test-only set) is measured against the first two only, the mean shape too."""
    from im2avatar_tf.shape_coverage import (DESCRIPTORS, GENERIC, descriptors, iou_matrix,
                                             mean_shape, nearest_iou, profile_distance,
                                             shortfalls)

    pools = {"procedural": list(proc.items())}
    pools["plus_sweethome3d"] = pools["procedural"] + [
        (i, x) for i, x in sorted(real.get("sweethome3d", ({}, {}))[0].items())
        if real["sweethome3d"][1].get(i) == "train"]
    pools["all"] = pools["plus_sweethome3d"] + [
        (i, x) for i, x in sorted(real.get("torcs", ({}, {}))[0].items())
        if real["torcs"][1].get(i) == "train"]
    stacked = {k: (np.stack([x for _, x in v]), [i for i, _ in v]) for k, v in pools.items()}
    ms, t = mean_shape(stacked["all"][0])
    ms_before, _ = mean_shape(stacked["plus_sweethome3d"][0])
    keys = DESCRIPTORS if category == "car" else GENERIC  # wheels: cars only
    fam = [descriptors(x) for x in stacked["procedural"][0]]
    rows = []
    for name, (v, split) in real.items():
        test_ids = [i for i in sorted(v) if split.get(i) == "test"]
        if not test_ids:
            continue
        tests = np.stack([v[i] for i in test_ids])
        best = {}
        for pool, (x, ids) in stacked.items():
            if pool == "all" and name == "torcs-all":
                best[pool] = (np.full(len(tests), np.nan), None)  # it holds some of them
                continue
            b, w = nearest_iou(tests, x)
            best[pool] = (b, [ids[j] for j in w])
        mean_iou = iou_matrix(tests, ms[None])[:, 0]
        mean_before = iou_matrix(tests, ms_before[None])[:, 0]
        if name == "torcs-all":  # some of them are training cars: the mean without them
            mean_iou = mean_before
        which_p = [stacked["procedural"][1].index(m) for m in best["procedural"][1]]
        for k, i in enumerate(test_ids):
            d, dn = descriptors(tests[k]), fam[which_p[k]]
            row = {"category": category, "family": family or "-", "set": name, "model": i}
            for pool, (b, w) in best.items():
                row[f"nn_{pool}_iou"] = float(b[k])
                row[f"nn_{pool}"] = w[k] if w else ""
            rows.append({
                **row, "mean_shape_iou": float(mean_iou[k]), "mean_shape_threshold": t,
                "mean_shape_plus_sweethome3d_iou": float(mean_before[k]),
                **{f"n_train_{pool}": len(x[1]) for pool, x in stacked.items()},
                "profile_rms_to_nn": profile_distance(d, dn),
                **{f"real_{key}": val for key, val in d.items()},
                **{f"nn_{key}": val for key, val in dn.items()},
                "outside_family": "; ".join(shortfalls(d, fam, keys)),
            })
        say(f"{category} {family or ''} {name}: {len(test_ids)} test models, nearest procedural "
            f"IoU {np.mean(best['procedural'][0]):.3f}, + Sweet Home 3D "
            f"{np.mean(best['plus_sweethome3d'][0]):.3f}, every training model "
            f"{np.nanmean(best['all'][0]) if name != 'torcs-all' else float('nan'):.3f}, "
            f"mean shape {np.mean(mean_iou):.3f}")
    return rows


# ------------------------------------------------------------------------------- report

def _fmt(x, nd=3):
    return "" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.{nd}f}"


def summary_table(df) -> List[str]:
    g = df.groupby(["category", "set", "family"], sort=False)
    lines = ["| category | test set | car family | test models | nearest procedural | "
             "nearest procedural or Sweet Home 3D | nearest training model | mean training "
             "shape | room above the mean shape | training models (procedural / + Sweet Home "
             "3D / all) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for (cat, name, fam), sub in g:
        best = sub.nn_all_iou if name != "torcs-all" else sub.nn_plus_sweethome3d_iou
        lines.append(f"| {cat} | {name} | {fam} | {len(sub)} | "
                     f"{_fmt(sub.nn_procedural_iou.mean())} | "
                     f"{_fmt(sub.nn_plus_sweethome3d_iou.mean())} | "
                     f"{_fmt(sub.nn_all_iou.mean())} | {_fmt(sub.mean_shape_iou.mean())} | "
                     f"{(best - sub.mean_shape_iou).mean():+.3f} | "
                     f"{sub.n_train_procedural.iloc[0]} / {sub.n_train_plus_sweethome3d.iloc[0]}"
                     f" / {sub.n_train_all.iloc[0]} |")
    return lines


def before_after(df, before: str, after: str) -> List[str]:
    """Cars: the training set before issue 34 (the `before` family + the Sweet Home 3D training
    cars) against after it (the `after` family + Sweet Home 3D + the TORCS training cars)."""
    cars = df[df.category == "car"]
    lines = ["| test set | test cars | nearest training car, before | after | nearest procedural "
             "car, before | after | mean training shape, before | after |",
             "|---|---|---|---|---|---|---|---|"]
    for name, sub in cars.groupby("set", sort=False):
        b, a = sub[sub.family == before], sub[sub.family == after]
        if not len(b) or not len(a):
            continue
        after_all = a.nn_all_iou if name != "torcs-all" else a.nn_plus_sweethome3d_iou
        lines.append(f"| {name} | {len(a)} | {_fmt(b.nn_plus_sweethome3d_iou.mean())} | "
                     f"{_fmt(after_all.mean())} | {_fmt(b.nn_procedural_iou.mean())} | "
                     f"{_fmt(a.nn_procedural_iou.mean())} | "
                     f"{_fmt(b.mean_shape_plus_sweethome3d_iou.mean())} | "
                     f"{_fmt(a.mean_shape_iou.mean())} |")
    return lines


def car_table(df, families) -> List[str]:
    cars = df[(df.category == "car") & df.set.isin(["sweethome3d", "torcs"])]
    head = ("| car | set |" + "".join(f" nearest procedural ({f}) |" for f in families) +
            "".join(f" nearest training model ({f}) |" for f in families) + " mean shape |")
    lines = [head, "|---|---|" + "---|" * (2 * len(families) + 1)]
    for (name, model), sub in cars.groupby(["set", "model"], sort=False):
        by = {r.family: r for r in sub.itertuples()}
        cells = [_fmt(by[f].nn_procedural_iou) if f in by else "" for f in families]
        cells += [_fmt(by[f].nn_all_iou) + (f" ({by[f].nn_all})" if not
                                            by[f].nn_all.startswith("proc") else "")
                  if f in by else "" for f in families]
        lines.append(f"| {model} | {name} | " + " | ".join(cells) +
                     f" | {_fmt(sub.mean_shape_iou.iloc[-1])} |")
    return lines


def torcs_table(df, families, splits) -> List[str]:
    """Every TORCS car (the test-only set): its split with --torcs-split and the nearest
    procedural model of each family."""
    cars = df[(df.category == "car") & (df.set == "torcs-all")]
    lines = ["| car | split (by model) |" + "".join(f" nearest procedural ({f}) |" for f in families),
             "|---|---|" + "---|" * len(families)]
    for model, sub in cars.groupby("model", sort=True):
        by = {r.family: r for r in sub.itertuples()}
        lines.append(f"| {model} | {splits.get(model, '')} | " + " | ".join(
            f"{_fmt(by[f].nn_procedural_iou)} ({by[f].nn_procedural})" if f in by else ""
            for f in families) + " |")
    return lines


def shortfall_table(df, car: bool) -> List[str]:
    cols = ("width_over_length", "height_over_length", "front_fill", "side_fill") + (
        ("wheelbase", "track") if car else ())
    lines = ["| model | set | nearest procedural (IoU) | " + " | ".join(
        f"{c}: real / nearest" for c in cols) + " | roof-line RMS | outside the family |",
        "|---|---|---|" + "---|" * len(cols) + "---|---|"]
    for r in df.to_dict("records"):
        cells = [f"{_fmt(r['real_' + c], 2)} / {_fmt(r['nn_' + c], 2)}" for c in cols]
        lines.append(f"| {r['model']} | {r['set']} | {r['nn_procedural']} "
                     f"({_fmt(r['nn_procedural_iou'])}) | " + " | ".join(cells) +
                     f" | {_fmt(r['profile_rms_to_nn'], 3)} | {r['outside_family'] or '-'} |")
    return lines


def outside_counts(df) -> List[str]:
    """How many real models lie outside the family on each descriptor."""
    lines = []
    real = df[df.set != "procedural-test"]
    if (real.set == "torcs-all").any():  # every TORCS car once
        real = real[real.set != "torcs"]
    for (cat, fam), sub in real.groupby(["category", "family"], sort=False):
        counts = {}
        for text in sub.outside_family:
            for item in filter(None, text.split("; ")):
                key = item.split(" ")[0] + (" low" if " < " in item else " high")
                counts[key] = counts.get(key, 0) + 1
        top = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
        lines.append(f"- {cat}{' (' + fam + ')' if fam != '-' else ''}, {len(sub)} real test models: "
                     f"{top or 'none outside'}")
    return lines


@register("coverage")
class Coverage:
    """Shape-space coverage of the real test models by the training set (nearest-neighbour IoU).

    For each real test car (Sweet Home 3D test cars, TORCS cars), chair and table: the best IoU
    of any training model (the ceiling of a memorizing network), beside the mean training
    shape, and where the nearest procedural model falls short (ratios, roof line, roundness,
    wheels). Numpy only."""

    add_arguments = staticmethod(add_arguments)

    @staticmethod
    def run(args) -> int:
        import pandas as pd

        from im2avatar_tf.config import get_preset
        from im2avatar_tf.io import atomic_write_text
        from experiments._report import git_revision

        say = (lambda m: None) if args.quiet else (lambda m: print(m, flush=True))
        preset = get_preset(args.preset)
        r = preset.model.volume_size
        vox = Voxels(args.cache, r, say)
        started = time.time()
        rows, torcs_splits = [], {}
        for cat in args.categories:
            count = args.count or preset.data.count(cat)
            real = real_sets(vox, cat, args.seed, args.torcs_split)
            if "torcs" in real:
                torcs_splits = real["torcs"][1]
            for fam in (args.car_families if cat == "car" else [None]):
                proc = procedural_split(vox, cat, count, args.seed, fam)
                held = procedural_split(vox, cat, count, args.seed, fam, "test")
                own = {"procedural-test": (held, {i: "test" for i in held})}  # the contrast
                rows += measure(cat, fam, proc, {**real, **own}, say)
        df = pd.DataFrame(rows)
        command = "python run.py " + " ".join(sys.argv[1:])
        df["resolution"], df["git_revision"] = r, git_revision()
        df["date"], df["command"] = time.strftime("%Y-%m-%d"), command
        folder = args.preset + (f"-{args.count}models" if args.count else "")  # apart
        out = Path(args.results_dir) / "coverage" / folder
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "results.csv", df.to_csv(index=False, float_format="%.6g"))
        fams = list(args.car_families) if "car" in args.categories else []
        md = [f"# coverage at the `{args.preset}` preset ({r}³ surface shells)", "",
              "The best surface-shell IoU of any training model on each real test model (the "
              "most a network that memorized its training set could score): over the "
              "procedural training split alone, over it and the Sweet Home 3D training models "
              "(the training set before the TORCS cars joined), and over every training model"
              + (" (+ the TORCS training cars, held out by car body: `build-dataset --source "
                 "torcs --torcs-split by-model`)" if args.torcs_split == "by-model" else "") +
              "; beside the mean training shape (cut at its best training threshold). Same "
              "frame and grid as build-dataset. Procedural training split: 70 % of the "
              "preset's models, as build-dataset splits them. Test sets: `procedural-test` the "
              "procedural test split of the same family (the in-distribution contrast); "
              "`sweethome3d` its "
              "test cars, chairs and tables (held out by model); `torcs` the TORCS cars in the "
              "test split" + (" by model; `torcs-all` every TORCS car (measured against the "
                              "procedural and Sweet Home 3D models only)"
                              if args.torcs_split == "by-model" else "") + ".", "",
              ]
        if {"classic", "wide"} <= set(fams):
            md += ["## Cars before and after", "",
                   "Before: the classic procedural family + the Sweet Home 3D training cars (the "
                   "TORCS cars all in test). After: the wide family + the Sweet Home 3D training "
                   "cars + the TORCS training cars" + (" (held out by car body)" if
                                                       args.torcs_split == "by-model" else "") +
                   ". Mean IoU of each real test car's nearest model (`torcs-all`: every TORCS "
                   "car, against procedural + Sweet Home 3D only, both times, the mean shape too); the mean training "
                   "shape is fitted on the training models of each (before: no TORCS car).", ""]
            md += before_after(df, "classic", "wide") + [""]
        md += ["## Mean over the real test models", "",
               "Room above the mean shape: the nearest training model's IoU minus the mean "
               "training shape's, per test model, averaged (what a perfect memorizer would gain "
               "over the trivial baseline; `torcs-all` without the TORCS training cars).", ""]
        md += summary_table(df)
        if fams:
            md += ["", "## Every real test car, per procedural car family", "",
                   "The Sweet Home 3D test cars and the TORCS cars held out by car model; the "
                   "nearest training model is named where it is a real one.", ""]
            md += car_table(df, fams)
            if (df.set == "torcs-all").any():
                md += ["", "Every TORCS car (the test-only set before the split), against the "
                       "procedural training cars alone:", ""]
                md += torcs_table(df, fams, torcs_splits)
        md += ["", "## Where the nearest procedural model falls short", "",
               "Descriptors of the real model / of its nearest procedural model "
               "(`im2avatar_tf.shape_coverage.descriptors`: box ratios over the length, the "
               "share of the silhouette's box it fills from the front and the side (1 = box), "
               "wheelbase over length and the ground contact's span over the width from the "
               "lowest voxel layer, the roof line's RMS difference in lengths), and the "
               "descriptors on which the real model lies outside the procedural family's "
               "2.5-97.5 percentiles.", "", "Count of real test models outside the family, "
               "per descriptor:", ""] + outside_counts(df)
        for cat in args.categories:
            for fam in (fams if cat == "car" else [None]):
                sub = df[(df.category == cat) & (df.family == (fam or "-")) &
                         (df.set != "procedural-test")]
                if (sub.set == "torcs-all").any():  # every TORCS car once
                    sub = sub[sub.set != "torcs"]
                if len(sub):
                    md += ["", f"### {cat}" + (f", {fam} family" if fam else ""), ""]
                    md += shortfall_table(sub, cat == "car")
        md += ["", "## Command", "", f"`{command}` ({(time.time() - started) / 60:.1f} min, "
               f"git {git_revision()}, {time.strftime('%Y-%m-%d')}); CSV: results.csv (one "
               "row per real test model and car family)."]
        atomic_write_text(out / "README.md", "\n".join(md) + "\n")
        print("\n".join(md))
        return 0
