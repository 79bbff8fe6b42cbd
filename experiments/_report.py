"""What every experiment reports: its results (`Results`: results.csv, results.md, claims.json,
a plot), the markdown tables and plots, and the shell of the table experiments
(`TableExperiment`: table1, table2, unified). `_common` holds what they run."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from im2avatar_tf.config import read_preset
from im2avatar_tf.io import save_figure

from ._common import (IN_DISTRIBUTION, Setup, add_arguments, add_real_test_argument,
                      network_changes, setup)


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


def run_batch_size(run_dir: Path, default: int) -> int:
    """The batch a run dir's network trained with (its config.json), else `default`."""
    try:
        return read_preset(run_dir).train.batch_size
    except (OSError, ValueError):
        return default


def batch_text(s) -> str:
    """'batch 60', or with --color-batch-size 'batch 60 (the color networks: 40, 810 optimizer
    steps, the same samples)'."""
    text = f"batch {s.preset.train.batch_size}"
    color = network_changes(s, "color", {}).get("train")
    if color:
        steps = f", {color['steps']} optimizer steps" if "steps" in color else ""
        text += f" (the color networks: {color['batch_size']}{steps}, the same samples)"
    return text


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
        where rows have a `dataset`) and context: the setup's, where a row was not added with
        its own (e.g. another preset's rows beside this one's)."""
        import pandas as pd

        from im2avatar_tf.evaluation import with_category_mean

        df = pd.concat(self.frames, ignore_index=True)
        if "dataset" in df:  # the mean of each test set's own categories
            df = pd.concat([with_category_mean(rows) for _, rows in
                            df.groupby("dataset", sort=False, dropna=False)], ignore_index=True)
        else:
            df = with_category_mean(df)
        for k, v in context(self.s).items():  # a row's own (`add(..., preset=...)`) wins
            df[k] = df[k].where(df[k].notna(), v) if k in df else v
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
                  f"{batch_text(s)}; one network per category",
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
    one color per label: the curves behind a schedule, from the run dirs' logs. A run's steps
    are its samples over its own batch (its config.json: the color network may train at
    --color-batch-size), else over `batch_size`. Runs trained with --validate-every add their
    validation loss (dashed, markers)."""
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
        batch = run_batch_size(Path(log).parent, batch_size)
        color = f"C{labels.index(label)}"
        first = seed == min(sd for lb, sd, _ in logs if lb == label)
        ax.plot(df["samples"] / batch, df["loss"], color=color, lw=1,
                label=label if first else None)
        if "val_loss" in df and df["val_loss"].notna().any():
            val = df[df["val_loss"].notna()]
            ax.plot(val["samples"] / batch, val["val_loss"], color=color, lw=1, ls="--",
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
