"""What every experiment does, so each experiment file only says what it compares.

    s = setup("table1", args)                         # preset, data, categories, output folder
    net = train_or_reuse(s, "shape", "car", shape_loss="bce")   # runs/<key>/..., resumable
    res = Results(s)
    res.add("CVN + cross-entropy", evaluate(s, "car", methods.get("shape").predictor(net)))
    res.claims += claims.compare(a, b, "MSFCEL beats cross-entropy (IoU)")
    base = baselines(s, "car", shape=net)             # mean training shape / color, fitted on
    res.add_baselines(base)                           # the training split, scored on the test
    res.claims += claims.beats_baseline(a, {"car": base.model_means("iou")}, "CVN", "iou")
    res.write(markdown_sections)                      # results/<exp>/<preset>/{csv, md}

With --real-test DIR... (`add_real_test_argument`) a network is also scored on each DIR's test
split: `evaluate_test_sets` and `baselines_test_sets` score on every test set holding the category
(one baselines fit), rows and claims carry a `dataset` column / field, and
`sections_per_test_set` repeats an experiment's tables under each real set's heading.

The library does the work: the run-dir keys and train-or-reuse (`im2avatar_tf.runs`, shared
with `train` and `quickstart`), the evaluation, the mean of the category means
(`evaluation.with_category_mean`), the trivial baselines (`evaluation.score_baselines`) and
the claims (`im2avatar_tf.claims`). Here: the options
every experiment takes, its output folder and its files. The CSV is tidy: one row per method x
category x metric x threshold (x color recipe), with the context columns the issue asks for.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from im2avatar_tf.commands.options import (add_categories_argument, add_data_argument,
                                           add_input_arguments, add_preset_argument,
                                           add_extra_train_data_argument,
                                           add_schedule_arguments, add_seed_argument,
                                           training_roots,
                                           positive_int, preset_from_args, resolve_data)
from im2avatar_tf.io import save_figure

# The paper's numbers on ShapeNet (64^3, 128 px, official splits): reference section 6, as
# reported by a 2021 thesis using the same splits; PSNR's color space is not stated.
PAPER = json.loads((Path(__file__).resolve().parent / "paper_numbers.json").read_text())
PAPER_SOURCE, PAPER_IOU, PAPER_PSNR = PAPER["source"], PAPER["iou"], PAPER["psnr"]
IN_DISTRIBUTION = "in distribution"  # the `dataset` of --data's own test split


# ------------------------------------------------------------------------------- tables
class TableExperiment:
    """An experiment that compares methods per category on every test set (--data's and each
    --real-test set's) beside the trivial baselines: table1, table2, unified. The options, the
    setup and the printed report are these; a subclass names itself (`NAME`, its results
    folder) and does its own work in `compare(s, res)`, returning `res.write(...)`'s paths."""

    NAME = ""

    @staticmethod
    def add_arguments(parser) -> None:
        add_arguments(parser)
        add_real_test_argument(parser)

    @classmethod
    def run(cls, args) -> int:
        s = setup(cls.NAME, args)
        paths = cls.compare(s, Results(s))
        print(open(paths["markdown"]).read())
        return 0

    @staticmethod
    def compare(s: Setup, res: Results) -> dict:
        raise NotImplementedError


# ------------------------------------------------------------------------------- setup

def add_real_test_argument(parser) -> None:
    """--real-test, for the experiments that score a second test set."""
    parser.add_argument("--real-test", nargs="+", default=None, metavar="DIR",
                        help="also score every network on the test split of these datasets "
                             "(e.g. real Sweet Home 3D models held out by model, the TORCS "
                             "cars), each beside the same baselines")


def add_arguments(parser, default_preset: str = "small", seed: bool = True) -> None:
    """The options every experiment takes (`seed`: its --seed, for those that train one seed)."""
    add_preset_argument(parser, default=default_preset)
    add_data_argument(parser)
    add_categories_argument(parser, "categories to run (default: the preset's; 'human' for the "
                                    "human layout)")
    add_extra_train_data_argument(parser)
    add_schedule_arguments(parser)  # an override changes the run dirs; results go to
    # results/<experiment>/<preset>-<E>epochs or -<S>steps
    if seed:
        add_seed_argument(parser)
    parser.add_argument("--max-test-models", type=positive_int, default=None,
                        help="evaluate only the first N test models of each category")
    parser.add_argument("--runs-dir", default="runs",
                        help="where trained networks are kept and reused (default: runs)")
    parser.add_argument("--results-dir", default="results",
                        help="results/<experiment>/<preset>/ is written here (default: results)")
    add_input_arguments(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


@dataclass
class Setup:
    """Everything an experiment run needs to know, resolved once from its arguments."""

    name: str
    preset: object  # config.Preset, with --epochs applied
    root: Path
    data_source: str  # "procedural" or the dataset folder's name
    categories: tuple
    runs_dir: Path
    out_dir: Path  # results/<experiment>/<preset>[-<E>epochs]
    max_test_models: Optional[int] = None
    skip_bad: bool = False
    cache: bool = True
    verbose: bool = True
    command: str = ""
    started: float = field(default_factory=time.time)
    n_test_models: Dict[str, int] = field(default_factory=dict)  # filled by `evaluate`
    # what the networks train on (and the baselines are fitted on): `root`, or it and the
    # --extra-train-data roots; and --real-test's datasets, more test sets
    train_root: object = None
    real_roots: Tuple[Path, ...] = ()

    def __post_init__(self):
        if self.train_root is None:
            self.train_root = self.root

    def test_sets(self) -> List[tuple]:
        """(label, root) of the test splits to score on: --data's, then --real-test's."""
        return [(IN_DISTRIBUTION, self.root)] + [(f"real ({r.name})", r) for r in self.real_roots]

    def test_sets_of(self, category: str) -> List[tuple]:
        """`test_sets` holding a test split of `category`: --data's always (a missing split
        is an error there), --real-test's only if it has one (a real set may lack a category)."""
        from im2avatar_tf.evaluation import has_split

        return [(label, root) for label, root in self.test_sets()
                if label == IN_DISTRIBUTION or has_split(root, "test", [category])]


def setup(name: str, args, data: Optional[str] = None,
          categories: Optional[Sequence[str]] = None) -> Setup:
    """Resolve an experiment's arguments; `data`: its default dataset instead of the preset's
    procedural one, `categories`: the categories it always runs."""
    from im2avatar_tf.config import get_preset
    from im2avatar_tf.data.pipeline import resolve_categories

    preset = preset_from_args(args)  # with --epochs and --categories
    if categories:
        preset = preset.replace(data={"categories": tuple(categories)})
    folder = preset.name  # results/<experiment>/<preset>[-<E>epochs|-<S>steps]: an override
    default = get_preset(args.preset).train  # keeps its results apart
    if (preset.train.steps, preset.train.epochs) != (default.steps, default.epochs):
        folder = (f"{preset.name}-{preset.train.steps}steps" if preset.train.steps else
                  f"{preset.name}-{preset.train.epochs}epochs")
    root = resolve_data(args.data or data, preset)  # --data, or the procedural set
    roots = training_roots(root, getattr(args, "extra_train_data", None),
                           resolve_categories(root, preset.data.categories)[0])
    if len(roots) > 1:  # networks trained on more data: their results are kept apart too
        folder += "-plus-" + "-".join(r.name for r in roots[1:])
    if preset.train.seed != default.seed:
        folder += f"-seed{preset.train.seed}"
    real = tuple(Path(r) for r in getattr(args, "real_test", None) or ())
    for r in real:
        if not r.is_dir():
            raise FileNotFoundError(f"--real-test {r} is not a folder: build it with "
                                    f"`python run.py build-dataset --source sweethome3d` (or "
                                    f"--source torcs) first")
    if len({r.name for r in real}) < len(real):
        raise ValueError(f"--real-test folders need distinct names (they label the results): "
                         f"{[str(r) for r in real]}")
    return Setup(name=name, preset=preset, root=root, data_source=data_source(root),
                 train_root=root if len(roots) == 1 else tuple(roots),
                 real_roots=real,
                 categories=resolve_categories(root, preset.data.categories),
                 runs_dir=Path(args.runs_dir),
                 out_dir=Path(args.results_dir) / name / folder,
                 max_test_models=args.max_test_models, skip_bad=args.skip_bad,
                 cache=not args.no_cache, verbose=not args.quiet,
                 command="python run.py " + " ".join(sys.argv[1:]))


def data_source(root: Path) -> str:
    """'procedural (folder)' etc. from our builder's meta.json, else the folder's name."""
    from im2avatar_tf.data.layout import SPLITS, layout_of

    layout = layout_of(root)
    for cat in layout.categories(root)[:1]:
        for split in SPLITS:
            try:
                first = layout.read_split(root, split, cat)[:1]
            except FileNotFoundError:
                continue
            for m in first:
                try:
                    source = json.loads(m.meta.read_text())["source"]["source"]
                    return f"{source} ({root.name})"
                except (OSError, ValueError, KeyError, TypeError):
                    pass
    return root.name


# ------------------------------------------------------------------------------- training

def run_dir(s: Setup, network: str, category: str, shape_loss: str = "msfcel",
            **changes) -> Path:
    """Where `train_or_reuse` keeps that network (its log_<network>.csv holds the curve)."""
    from im2avatar_tf import runs

    preset = s.preset.replace(**changes) if changes else s.preset
    return runs.run_dir(s.runs_dir, preset, s.train_root, network, category, shape_loss)


def train_or_reuse(s: Setup, network: str, category: str, shape_loss: str = "msfcel",
                   **changes):
    """Train (or resume, or reuse) one network on one category's training split, in the run
    dir every experiment shares for it (`im2avatar_tf.runs`). `changes`: a variant of the
    experiment's preset (`Preset.replace` arguments, e.g. train={"seed": 1}), which gets its
    own run dir."""
    from im2avatar_tf import runs

    preset = s.preset.replace(**changes) if changes else s.preset
    out = run_dir(s, network, category, shape_loss, **changes)
    [net] = runs.train_or_reuse(runs.network_preset(preset, category, shape_loss), [network],
                                s.train_root, out, skip_bad=s.skip_bad, cache=s.cache,
                                verbose=s.verbose, label=f"[{s.name}] ")
    return net


def precise_bn(s: Setup, network, category: str, **changes):
    """A copy of a trained network with its BatchNorm statistics recomputed on one epoch of
    the batches it trained on (`runs.precise_bn`: not released). `changes` as for
    train_or_reuse."""
    from im2avatar_tf import runs

    preset = runs.network_preset(s.preset.replace(**changes) if changes else s.preset, category)
    return runs.precise_bn(network, preset, s.train_root, skip_bad=s.skip_bad, cache=s.cache)


# ------------------------------------------------------------------------------- evaluation

def evaluate(s: Setup, category: str, predictor, split: str = "test", root=None, **kwargs):
    """Evaluate a predictor on one category's test split (or `split`) of --data (or `root`):
    an EvalResult."""
    from im2avatar_tf import evaluation

    result = evaluation.evaluate(
        predictor, root or s.root, split, [category], image_size=s.preset.model.image_size,
        resolution=s.preset.model.volume_size, max_models=s.max_test_models,
        skip_bad=s.skip_bad, progress=s.verbose, desc=f"evaluating {category} ({split})",
        **kwargs)
    if split == "test" and _is_data_root(s, root):
        s.n_test_models[category] = result.n_models
    for bad in result.skipped:
        print(f"[{s.name}] skipped test model {bad['model']}: {bad['reason']}")
    return result


def evaluate_test_sets(s: Setup, category: str, predictor, **kwargs) -> Dict[str, object]:
    """`evaluate` on the test split of every test set holding `category`
    (`Setup.test_sets_of`): test set label -> EvalResult."""
    return {dataset: evaluate(s, category, predictor, root=root, **kwargs)
            for dataset, root in s.test_sets_of(category)}


def _is_data_root(s: Setup, root) -> bool:
    """Whether `root` (None: --data's) is --data's dataset, whose test models the README counts."""
    return root is None or Path(root).resolve() == Path(s.root).resolve()


def baselines(s: Setup, category: str, shape=None, fitted=None, root=None, **kwargs):
    """The trivial baselines of one category (`evaluation.score_baselines`): fitted on what
    the networks train on (or `fitted`), scored on the test split of --data (or `root`); the
    mean color on the voxels `shape` (a shape network or predictor) predicts. BaselineScores."""
    from im2avatar_tf import evaluation

    scores = evaluation.score_baselines(
        root or s.root, "test", [category], image_size=s.preset.model.image_size,
        resolution=s.preset.model.volume_size, shape=shape, baselines=fitted,
        fit_root=s.train_root, max_models=s.max_test_models, skip_bad=s.skip_bad,
        progress=s.verbose, desc=f"baselines {category}", **kwargs)
    if _is_data_root(s, root):
        s.n_test_models[category] = scores.n_models
    for bad in scores.skipped:
        print(f"[{s.name}] skipped test model {bad['model']}: {bad['reason']}")
    return scores


def fit_baselines(s: Setup, category: str):
    """The trivial baselines of one category, fitted once on what the networks train on (its
    training split): the same fit is scored on every test set. evaluation.Baselines."""
    from im2avatar_tf import evaluation

    return evaluation.fit_baselines(s.train_root, [category], s.preset.model.volume_size,
                                    skip_bad=s.skip_bad)


def baselines_test_sets(s: Setup, category: str, fitted=None, **kwargs) -> Dict[str, object]:
    """`baselines` on every test set holding `category` (`Setup.test_sets_of`), fitted once
    (or `fitted`): test set label -> BaselineScores."""
    if fitted is None:
        fitted = fit_baselines(s, category)
    return {dataset: baselines(s, category, fitted=fitted, root=root, **kwargs)
            for dataset, root in s.test_sets_of(category)}


# ------------------------------------------------------------------------------- reporting

def column_label(dataset: str, category: str) -> str:
    """A table column (or plot group) of one category on one test set: the category alone on
    --data's test split, 'car, real (<name>)' on another."""
    return category if dataset == IN_DISTRIBUTION else f"{category}, {dataset}"


def sections_per_test_set(s: Setup, df, tables, notes: Sequence[str] = ()) -> List[str]:
    """The README sections of an experiment scored on several test sets: `tables(rows)`
    (markdown lines) of --data's test split and `notes`, then for each --real-test set a
    "## Real held-out test set (<name>, N models)" section saying its categories and test
    models, with `tables` of its rows (their headings one level down). df: `Results.table()`
    rows with a `dataset` column."""
    out = list(tables(df[df.dataset == IN_DISTRIBUTION])) + list(notes)
    for dataset, root in s.test_sets()[1:]:
        rows = df[(df.dataset == dataset) & (df.category != "mean")]
        counts = rows.groupby("category", sort=False)["n_models"].max()
        missing = [c for c in s.categories if c not in counts.index]
        out += ["", f"## Real held-out test set ({root.name}, {int(counts.sum())} models)", "",
                f"The test split of `{root}` (held out by model, never trained on), scored like "
                "the tables above, beside the same baselines (fitted on the training split). "
                "Test models: " + (", ".join(f"{c} {int(n)}" for c, n in counts.items()) or
                                   "none") +
                (f"; no test split for {', '.join(missing)}" if missing else "") + ".", ""]
        if len(counts):
            out += ["#" + line if line.startswith("## ") else line
                    for line in tables(df[df.dataset == dataset])]
    return out


def schedule_text(preset) -> str:
    """'2000 optimizer steps' or '30 epochs': how long each network trained."""
    t = preset.train
    return f"{t.steps} optimizer steps" if t.steps else f"{t.epochs} epochs"


def git_revision() -> str:
    from im2avatar_tf.rundir import git_revision as rev

    return rev()


def context(s: Setup) -> dict:
    """The columns every results.csv row carries: what made it."""
    return {
        "volume_resolution": s.preset.model.volume_size,
        "image_size": s.preset.model.image_size, "split": "test",
        "data_source": s.data_source,
        "train_data": " + ".join(str(r) for r in (
            [s.train_root] if isinstance(s.train_root, (str, os.PathLike)) else s.train_root)),
        # a step schedule's epochs depend on the data: the run dirs' config.json hold them
        "epochs": None if s.preset.train.steps else s.preset.train.epochs,
        "steps": s.preset.train.steps,
        "preset": s.preset.name, "git_revision": git_revision(),
        "date": time.strftime("%Y-%m-%d"), "command": s.command,
    }


class Results:
    """Collects summarized results of several methods and writes the experiment's files."""

    def __init__(self, s: Setup):
        self.s = s
        self.frames: List = []
        self.claims: List[dict] = []

    def add(self, method, result, by: Sequence[str] = ("category",), **fixed) -> None:
        """Summarize an EvalResult under a method name, or `method(row) -> name` for results
        holding several methods (e.g. colorings); extra constant columns in `fixed`."""
        from im2avatar_tf.evaluation import summarize

        df = summarize(result.records, by=by, add_mean=False)
        df.insert(0, "method", df.apply(method, axis=1) if callable(method) else method)
        for k, v in fixed.items():
            df[k] = v
        self.frames.append(df)

    def add_baselines(self, scores, by: Sequence[str] = ("category",),
                      color_label: Optional[str] = None, **fixed) -> None:
        """The baseline rows (`evaluation.MEAN_SHAPE`, `MEAN_COLOR` or `color_label`) of a
        BaselineScores, with `fixed` columns. The mean shape's IoU threshold is fitted per category: it goes
        in `fitted_threshold` (its `threshold` is left empty, so the categories' rows average
        into one "mean" row)."""
        from im2avatar_tf.evaluation import summarize

        for label, result in scores.results():
            if result is scores.color and color_label:
                label = color_label
            df = summarize(result.records, by=by, add_mean=False)
            df.insert(0, "method", label)
            if result is scores.shape:
                df["fitted_threshold"] = df["threshold"]
                df["threshold"] = np.nan
            for k, v in fixed.items():
                df[k] = v
            self.frames.append(df)

    def add_claims(self, rows: Sequence[dict], dataset: str = IN_DISTRIBUTION) -> None:
        """Claim rows (`claims.compare`, `claims.beats_baseline`) judged on one test set."""
        self.claims += [{**row, "dataset": dataset} for row in rows]

    def add_frame(self, df) -> None:
        self.frames.append(df)

    def table(self):
        """All rows so far, with a 'mean' category (mean of the category means, per test set
        where rows have a `dataset`) and context."""
        import pandas as pd

        from im2avatar_tf.evaluation import with_category_mean

        df = pd.concat(self.frames, ignore_index=True)
        if "dataset" in df:  # the mean of each test set's own categories
            df = pd.concat([with_category_mean(rows) for _, rows in
                            df.groupby("dataset", sort=False, dropna=False)], ignore_index=True)
        else:
            df = with_category_mean(df)
        for k, v in context(self.s).items():
            df[k] = v
        return df

    def write(self, sections: Sequence[str], plot=None, table=None) -> Dict[str, Path]:
        """Write results.csv (`table`, default `self.table()`), README.md (the given markdown
        sections + claims + context) and, when `plot(path)` is given, plot.png."""
        out = self.s.out_dir
        out.mkdir(parents=True, exist_ok=True)
        df = self.table() if table is None else table
        paths = {"csv": out / "results.csv", "markdown": out / "README.md"}
        from im2avatar_tf.io import atomic_write_text

        atomic_write_text(paths["csv"], df.to_csv(index=False, float_format="%.6g"))
        if plot is not None:
            paths["plot"] = out / "plot.png"
            plot(paths["plot"])
        atomic_write_text(paths["markdown"], self.markdown(sections, df))
        if self.claims:
            atomic_write_text(out / "claims.json", json.dumps(self.claims, indent=1))
        return paths

    def markdown(self, sections: Sequence[str], df) -> str:
        s = self.s
        minutes = (time.time() - s.started) / 60
        override = "" if s.out_dir.name == s.preset.name else f", {schedule_text(s.preset)}"
        lines = [f"# {s.name} at the `{s.preset.name}` preset{override}", ""]
        lines += list(sections)
        if self.claims:
            lines += ["", "## The paper's claims on our data, and the trivial baselines", "",
                      "Verdict from the per-model difference (mean +- standard error over test "
                      "models): supported if above 2 SE, contradicted if below -2 SE, else "
                      "not resolved. \"beats the mean training shape / color\": the method "
                      "against the trivial baselines, fitted on the training split only (the "
                      "mean training shape at its best training threshold; the mean training "
                      "color painted on the voxels the method's shape output predicts).", "",
                      "| claim | category | mean difference | SE | models | verdict |",
                      "|---|---|---|---|---|---|"]
            for c in self.claims:
                cell = column_label(c.get("dataset", IN_DISTRIBUTION), c.get("category", ""))
                lines.append(f"| {c['claim']} | {cell} | "
                             f"{c['mean_difference']:+.4f} | {c['sem']:.4f} | {c['n_models']} | "
                             f"{c['verdict']} |")
        lines += ["", "## Context", "",
                  f"- data: {s.data_source} (`{s.root}`), test split, 12 views per model; "
                  "test models: " + ", ".join(f"{c} {n}" for c, n in s.n_test_models.items()),
                  f"- preset `{s.preset.name}`: {s.preset.model.image_size} px images, "
                  f"{s.preset.model.volume_size}^3 volumes, {schedule_text(s.preset)}, "
                  f"batch {s.preset.train.batch_size}; one network per category",
                  f"- command: `{s.command}`",
                  f"- git revision {git_revision()}, {time.strftime('%Y-%m-%d %H:%M')}, "
                  f"wall time {minutes:.1f} min (training reused where run dirs existed)",
                  "- files: `results.csv` (tidy: one row per method x category x metric x "
                  "threshold), this README" + (", `plot.png`" if (s.out_dir / "plot.png").exists()
                                              else "")]
        return "\n".join(lines) + "\n"


def pivot_markdown(df, index: str, columns: str, value: str = "value", fmt: str = "{:.3f}",
                   paper: Optional[Dict[str, Dict[str, float]]] = None,
                   paper_label: str = "paper") -> str:
    """A markdown table of `value` with `index` rows and `columns` columns; the paper's rows
    (if any) are appended, labelled as the paper's."""
    cols = [c for c in dict.fromkeys(df[columns]) if c != "mean"]
    if "mean" in set(df[columns]):
        cols.append("mean")
    rows = list(dict.fromkeys(df[index]))
    out = ["| " + index + " | " + " | ".join(str(c) for c in cols) + " |",
           "|---" * (len(cols) + 1) + "|"]
    for r in rows:
        sub = df[df[index] == r].set_index(columns)[value]
        cells = [fmt.format(sub[c]) if c in sub.index and np.isfinite(sub[c]) else "-" for c in cols]
        out.append(f"| {r} | " + " | ".join(cells) + " |")
    for name, values in (paper or {}).items():
        cells = [fmt.format(values[c]) if c in values else "-" for c in cols]
        out.append(f"| *{paper_label}: {name}* | " + " | ".join(cells) + " |")
    return "\n".join(out)


def overall(df):
    """The rows of the 'mean' category if there is one, else all rows (one category)."""
    return df[df["category"] == "mean"] if (df["category"] == "mean").any() else df


def loss_curves(logs: Sequence[tuple], path: Path, batch_size: int, title: str) -> None:
    """Training loss against optimizer steps, one line per (label, seed, log_<network>.csv),
    one color per label: the curves behind a schedule, from the run dirs' logs. Runs trained
    with --validate-every add their validation loss (dashed, markers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    labels = list(dict.fromkeys(label for label, _, _ in logs))
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for label, seed, log in logs:
        if not Path(log).exists():
            continue
        df = pd.read_csv(log)
        color = f"C{labels.index(label)}"
        first = seed == min(sd for lb, sd, _ in logs if lb == label)
        ax.plot(df["samples"] / batch_size, df["loss"], color=color, lw=1,
                label=label if first else None)
        if "val_loss" in df and df["val_loss"].notna().any():
            val = df[df["val_loss"].notna()]
            ax.plot(val["samples"] / batch_size, val["val_loss"], color=color, lw=1, ls="--",
                    marker=".", ms=3, label=f"{label}: validation" if first else None)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (training: per epoch)")
    ax.set_yscale("log")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def bar_plot(df, path: Path, index: str, columns: str, ylabel: str, title: str,
             value: str = "value") -> None:
    """Grouped bars: one group per `columns` value (categories), one bar per `index` value."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(dict.fromkeys(df[columns]))
    series = list(dict.fromkeys(df[index]))
    width = 0.8 / max(1, len(series))
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(groups), 3.6))
    x = np.arange(len(groups))
    for i, name in enumerate(series):
        sub = df[df[index] == name].set_index(columns)[value]
        ax.bar(x + (i - (len(series) - 1) / 2) * width, [sub.get(g, np.nan) for g in groups],
               width, label=name)
    ax.set_xticks(x, groups)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
