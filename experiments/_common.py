"""What every experiment runs, so each experiment file only says what it compares; what it
reports (results files, tables, plots) is `_report`'s.

    s = setup("table1", args)                         # preset, data, categories, output folder
    net = train_or_reuse(s, "shape", "car", shape_loss="bce")   # runs/<key>/..., resumable
    res = report.Results(s)
    result = evaluate(s, "car", methods.get("shape").predictor(net))
    res.add("CVN + cross-entropy", result)
    res.claims += claims.compare(a, b, "MSFCEL beats cross-entropy (IoU)")
    base = baselines(s, "car", shape=net)             # mean training shape / color, fitted on
    res.add_baselines(base)                           # the training split, scored on the test
    res.claims += beats_baselines([result.records], {"car": base}, "CVN + cross-entropy",
                                  [("iou", {"threshold": 0.8})])   # scoring.verdicts
    res.write(markdown_sections)                      # results/<exp>/<preset>/{csv, md}

With --real-test DIR... (`add_real_test_argument`) a network is also scored on each DIR's test
split: `evaluate_test_sets` and `baselines_test_sets` score on every test set holding the category
(one baselines fit), rows and claims carry a `dataset` column / field, and
`_report.sections_per_test_set` repeats an experiment's tables under each real set's heading.

The library does the work: the run-dir keys and train-or-reuse (`im2avatar_tf.runs`, shared
with `train` and `quickstart`), the evaluation, the mean of the category means
(`evaluation.with_category_mean`), the trivial baselines (`evaluation.score_baselines`) and
the claims (`im2avatar_tf.claims`; against the baselines `beats_baselines`, through
`im2avatar_tf.scoring.verdicts`, the call `evaluate`, `quickstart` and `publish` use). Here: the
options every experiment takes, its setup, its networks and its scores. The paper's numbers:
paper_numbers.json.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from im2avatar_tf.commands.options import (add_categories_argument, add_data_argument,
                                           add_input_arguments, add_preset_argument,
                                           add_extra_train_data_argument,
                                           add_schedule_arguments, add_seed_argument,
                                           training_roots,
                                           positive_int, preset_from_args, resolve_data)

# The paper's numbers on ShapeNet (64^3, 128 px, official splits): reference section 6, as
# reported by a 2021 thesis using the same splits; PSNR's color space is not stated.
PAPER = json.loads((Path(__file__).resolve().parent / "paper_numbers.json").read_text())
PAPER_SOURCE, PAPER_IOU, PAPER_PSNR = PAPER["source"], PAPER["iou"], PAPER["psnr"]
IN_DISTRIBUTION = "in distribution"  # the `dataset` of --data's own test split


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
    parser.add_argument("--color-batch-size", type=positive_int, default=None, metavar="B",
                        help="the color network's batch instead of the preset's (the other "
                             "networks keep it), its step budget scaled to the same number of "
                             "samples: for `paper` on a 24 GB machine, where the color network "
                             "at the released 60 does not fit (docs/training.md). Part of the "
                             "color run's configuration")
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
    color_batch_size: Optional[int] = None  # --color-batch-size (`network_changes`)

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
                 command="python run.py " + " ".join(sys.argv[1:]),
                 color_batch_size=getattr(args, "color_batch_size", None))


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

def network_changes(s: Setup, network: str, changes: dict) -> dict:
    """`changes` (Preset.replace arguments) with the network's own batch: --color-batch-size
    for the color network, its step budget scaled to the same samples (ceil), else as given."""
    if network != "color" or not s.color_batch_size:
        return changes
    train = dict(changes.get("train", {}))
    steps, batch = s.preset.train.steps, s.preset.train.batch_size
    train["batch_size"] = s.color_batch_size
    if steps:
        train["steps"] = -(-steps * batch // s.color_batch_size)
    return {**changes, "train": train}


def run_dir(s: Setup, network: str, category: str, shape_loss: str = "msfcel",
            **changes) -> Path:
    """Where `train_or_reuse` keeps that network (its log_<network>.csv holds the curve)."""
    from im2avatar_tf import runs

    changes = network_changes(s, network, changes)
    preset = s.preset.replace(**changes) if changes else s.preset
    return runs.run_dir(s.runs_dir, preset, s.train_root, network, category, shape_loss)


def train_or_reuse(s: Setup, network: str, category: str, shape_loss: str = "msfcel",
                   **changes):
    """Train (or resume, or reuse) one network on one category's training split, in the run
    dir every experiment shares for it (`im2avatar_tf.runs`). `changes`: a variant of the
    experiment's preset (`Preset.replace` arguments, e.g. train={"seed": 1}), which gets its
    own run dir."""
    from im2avatar_tf import runs

    out = run_dir(s, network, category, shape_loss, **changes)
    changes = network_changes(s, network, changes)
    preset = s.preset.replace(**changes) if changes else s.preset
    [net] = runs.train_or_reuse(runs.network_preset(preset, category, shape_loss), [network],
                                s.train_root, out, skip_bad=s.skip_bad, cache=s.cache,
                                verbose=s.verbose, label=f"[{s.name}] ")
    return net


def precise_bn(s: Setup, network, category: str, **changes):
    """A copy of a trained network with its BatchNorm statistics recomputed on one epoch of
    the batches it trained on (`runs.precise_bn`: not released). `changes` as for
    train_or_reuse."""
    from im2avatar_tf import runs

    changes = network_changes(s, "color", changes)  # PreciseBN is for the color networks
    preset = runs.network_preset(s.preset.replace(**changes) if changes else s.preset, category)
    return runs.precise_bn(network, preset, s.train_root, skip_bad=s.skip_bad, cache=s.cache)


# ------------------------------------------------------------------------------- evaluation

def evaluate(s: Setup, category: str, predictor, split: str = "test", root=None,
             resolution: Optional[int] = None, **kwargs):
    """Evaluate a predictor on one category's test split (or `split`) of --data (or `root`),
    at the preset's resolution (or `resolution`, e.g. a pooled predictor's): an EvalResult."""
    from im2avatar_tf import evaluation

    result = evaluation.evaluate(
        predictor, root or s.root, split, [category], image_size=s.preset.model.image_size,
        resolution=resolution or s.preset.model.volume_size, max_models=s.max_test_models,
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


def beats_baselines(records: Sequence[object], baselines: Dict[str, object], label: str,
                    selections: Sequence[tuple], detail: str = "") -> List[dict]:
    """"<label> beats the trivial baseline" claim rows of one test set, through the library's
    one verdict call (`scoring.verdicts`): `records`, the method's EvalResult records of each
    category; `baselines`, category -> BaselineScores; `selections`, (metric, {column: value})
    of the method's rows per verdict (e.g. ("iou", {"threshold": 0.8})); `detail` goes in the
    claim text after the metric."""
    import pandas as pd

    from im2avatar_tf import scoring

    if not records:  # a test set without these categories
        return []
    frame = scoring.verdicts(
        pd.concat(records, ignore_index=True), baselines,
        [scoring.Selection(label, metric, tuple(where.items()), detail=detail)
         for metric, where in selections], label=label)
    return scoring.claim_rows(frame)
