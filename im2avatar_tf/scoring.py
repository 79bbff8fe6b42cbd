"""A predictor scored beside the trivial baselines, with paired verdicts: one call for
`evaluate`, `quickstart` and `publish`.

    scored = scoring.beside_baselines(predictor, root, "test", ["car"], image_size=S,
                                      resolution=R, shape=shape_network)
    scored.verdicts   # a tidy frame, one row per (selection, category)

The baselines (`evaluation.score_baselines`): the mean training shape at its best training
threshold, and the mean training color on the voxels the predictor predicts (given `shape`),
fitted on the `baseline_split` of each category, or of all categories together
(`per_category=False`). The verdict is the one rule of every table (`claims.beats_baseline`):
the per-test-model difference, 'supported' beyond 2 standard errors above 0, 'contradicted'
beyond 2 below, else 'not resolved'; the pooled row (category "all") pairs every test model.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from . import claims, evaluation

ALL = "all"  # the pooled row's category, and the one group of baselines fitted on everything


@dataclass(frozen=True)
class Selection:
    """The rows of the predictor's records one verdict compares with the baseline: `metric`
    ("iou", "psnr_rgb", "psnr_ycbcr") where each (column, value) of `where` holds."""

    label: str
    metric: str
    where: Tuple[Tuple[str, object], ...] = ()
    detail: Optional[str] = None  # what the claim text adds after the metric (default: label)

    @property
    def claim_detail(self) -> str:
        return self.label if self.detail is None else self.detail


def standard_selections(blend_t: float = 0.2, colors: bool = True) -> List[Selection]:
    """IoU at the released 0.8 and, with `colors`, surface PSNR (RGB, YCbCr) of the blend at
    `blend_t`: what `evaluate` judges."""
    out = [Selection("IoU@0.8", "iou", (("threshold", 0.8),))]
    if colors:
        out += [Selection(f"blend t = {blend_t:g}", metric,
                          (("coloring", "blend"), ("t", blend_t)))
                for metric in ("psnr_rgb", "psnr_ycbcr")]
    return out


@dataclass
class Scored:
    """The predictor's `evaluation.EvalResult`, its baselines (group -> BaselineScores: a
    category, or ALL) and the verdicts: columns selection, metric, category, model and
    baseline (means over the (test model, view) rows), mean_difference, sem, n_models (of the
    paired per-model means), verdict, claim, baseline_name."""

    result: evaluation.EvalResult
    baselines: Dict[str, evaluation.BaselineScores]
    verdicts: object  # pandas.DataFrame

    def records(self):
        """The predictor's rows (method "model") and the baselines' (their labels), one frame."""
        import pandas as pd

        return pd.concat([self.result.records.assign(method="model")]
                         + [r.records.assign(method=label) for b in self.baselines.values()
                            for label, r in b.results()], ignore_index=True)


def beside_baselines(predictor, root, split: str, categories: Sequence[str], *,
                     image_size: Optional[int], resolution: int, shape=None,
                     selections: Optional[Sequence[Selection]] = None,
                     per_category: bool = True, baseline_split: str = "train",
                     fit_root=None, max_models: Optional[int] = None, skip_bad: bool = False,
                     progress: bool = True, **evaluate_kwargs) -> Scored:
    """Score `predictor` on `split` of `root` (`evaluation.evaluate`, with `evaluate_kwargs`)
    and the trivial baselines beside it; `shape` (a shape network or Predictor) gives the
    mean color its voxels (no color baseline without it, or when the predictor scores no
    colors). `fit_root`: the root(s) whose `baseline_split` the baselines are fitted on
    (default `root`), e.g. a model's training roots when `root` is another test set.
    `selections`: default `standard_selections()` (colors when there are some)."""
    from .data.pipeline import resolve_categories

    kw = dict(image_size=image_size, resolution=resolution, max_models=max_models,
              skip_bad=skip_bad)
    result = evaluation.evaluate(predictor, root, split, categories, progress=progress,
                                 **kw, **evaluate_kwargs)
    if not (result.records.metric != "iou").any():
        shape = None  # no colors scored: no color baseline either
    groups = ({c: [c] for c in resolve_categories(root, categories)} if per_category
              else {ALL: list(categories)})
    baselines = {}
    for group, cats in groups.items():
        fitted = evaluation.fit_baselines(root if fit_root is None else fit_root, cats,
                                          resolution, split=baseline_split, skip_bad=skip_bad)
        baselines[group] = evaluation.score_baselines(
            root, split, cats, shape=shape, baselines=fitted, progress=progress, **kw)
    if selections is None:
        selections = standard_selections(colors=shape is not None)
    return Scored(result, baselines, verdicts(result.records, baselines, selections))


def verdicts(records, baselines: Dict[str, evaluation.BaselineScores],
             selections: Sequence[Selection], label: str = "the model"):
    """The tidy verdict frame of `Scored` (see there): per selection, per group of
    `baselines` and, with several groups, pooled. Colour selections are left out when the
    baselines hold no color scores. `records`: one predictor's (`EvalResult.records`, of
    every group's category), named `label` in the claims ("<label> beats the mean training
    shape (iou, <selection's detail>)"). The experiments, which score several predictors
    beside one baseline fit, call this for each (`claim_rows` gives their claims.json rows)."""
    import pandas as pd

    rows = []
    for sel in selections:
        if sel.metric != "iou" and any(b.color is None for b in baselines.values()):
            continue
        mine = {g: _rows(records, g, sel) for g in baselines}
        theirs = {g: _baseline_rows(b, sel.metric) for g, b in baselines.items()}
        judged = claims.beats_baseline(
            {g: r.groupby("model_id")["value"].mean() for g, r in mine.items()},
            {g: b.model_means(sel.metric) for g, b in baselines.items()},
            label, sel.metric, sel.claim_detail)
        for row in judged:
            g = row["category"]
            model = mine[g] if g in mine else pd.concat(mine.values())
            base = theirs[g] if g in theirs else pd.concat(theirs.values())
            rows.append({"selection": sel.label, "metric": sel.metric, "category": g,
                         "model": float(model.value.mean()), "baseline": float(base.value.mean()),
                         **{k: row[k] for k in ("mean_difference", "sem", "n_models", "verdict",
                                                "claim")},
                         "baseline_name": row["baseline"]})
    return pd.DataFrame(rows)


CLAIM_COLUMNS = ("claim", "mean_difference", "sem", "n_models", "verdict", "category")


def claim_rows(frame) -> List[dict]:
    """A verdict frame as the claim rows of claims.json (`claims.beats_baseline`'s form:
    the paired claim, its category and which baseline)."""
    return [{**{k: row[k] for k in CLAIM_COLUMNS}, "baseline": row["baseline_name"]}
            for row in frame.to_dict("records")]


def _rows(records, group: str, sel: Selection):
    """The predictor's rows of one selection in one group (a category, or ALL)."""
    r = records if group == ALL else records[records.category == group]
    r = r[r.metric == sel.metric]
    for column, value in sel.where:
        missing = isinstance(value, float) and math.isnan(value)  # as claims.model_means
        r = r[r[column].isna()] if missing else r[r[column] == value]
    return r


def _baseline_rows(scores: evaluation.BaselineScores, metric: str):
    """The baseline's rows of `metric`: the mean shape's IoU, the mean color's PSNR."""
    result = scores.shape if metric == "iou" else scores.color
    return result.records[result.records.metric == metric]
