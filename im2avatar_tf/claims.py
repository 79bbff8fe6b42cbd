"""Does method A beat method B on our data? Per-model means, a paired verdict, and the one
loop every experiment runs: per category, then pooled over the categories.

    a = {cat: model_means(result_a.records, metric="iou", threshold=0.8) for cat ...}
    rows = compare(a, b, "MSFCEL beats cross-entropy (IoU)")   # claim dicts for claims.json
    rows = beats_baseline(a, {cat: scores[cat].model_means("iou")}, "CVN + MSFCEL", "iou")

Every method is also judged against the trivial baselines (`evaluation.score_baselines`,
fitted on the training split): the same paired rule, per category and pooled.
"""
from __future__ import annotations

import math
from typing import Dict, List


def model_means(records, **select):
    """Per-model means of one metric selection (`column=value`; NaN selects missing values):
    a Series indexed by model_id."""
    r = records
    for key, value in select.items():
        if isinstance(value, float) and math.isnan(value):
            r = r[r[key].isna()]
        else:
            r = r[r[key] == value]
    return r.groupby("model_id")["value"].mean()


def paired_claim(a, b, claim: str) -> dict:
    """Does method A beat method B? a, b: per-model means (Series). The verdict uses the mean
    per-model difference and its standard error over models: 'supported' if > 2 SE above 0,
    'contradicted' if > 2 SE below, else 'not resolved' (too few models or too close)."""
    both = a.index.intersection(b.index)
    d = (a[both] - b[both]).dropna()
    n = len(d)
    mean = float(d.mean()) if n else math.nan
    sem = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    return {"claim": claim, "mean_difference": mean, "sem": sem, "n_models": n,
            "verdict": verdict(mean, sem, 2.0, n)}


def verdict(mean: float, sem: float, critical: float, n: int) -> str:
    """'supported' if `mean` is more than `critical` standard errors above 0, 'contradicted'
    if that far below, else 'not resolved' (also with fewer than two samples)."""
    if n < 2 or not math.isfinite(sem):
        return "not resolved"
    if mean > critical * sem:
        return "supported"
    if mean < -critical * sem:
        return "contradicted"
    return "not resolved"


def compare(a: Dict[str, object], b: Dict[str, object], claim: str) -> List[dict]:
    """`paired_claim` per category (a, b: category -> per-model means, same categories in the
    same order), then over all categories pooled (category "all") when there are several."""
    import pandas as pd

    categories = list(a)
    rows = [{**paired_claim(a[c], b[c], claim), "category": c} for c in categories]
    if len(categories) > 1:
        pooled = [pd.concat([side[c] for c in categories]) for side in (a, b)]
        rows.append({**paired_claim(*pooled, claim), "category": "all"})
    return rows


BASELINE_OF_METRIC = {"iou": "mean training shape", "psnr_rgb": "mean training color",
                      "psnr_ycbcr": "mean training color"}


def beats_baseline(method: Dict[str, object], baseline: Dict[str, object], label: str,
                   metric: str, detail: str = "") -> List[dict]:
    """"<label> beats the trivial baseline" verdicts (`compare`, so per category and pooled):
    method, baseline: category -> per-model means of `metric` ("iou", "psnr_rgb",
    "psnr_ycbcr"), the baseline's from `evaluation.BaselineScores.model_means(metric)`.
    The rows carry `baseline` (which one) so tables can pick them out."""
    which = BASELINE_OF_METRIC[metric]
    text = f"{label} beats the {which} ({metric}{', ' + detail if detail else ''})"
    return [{**row, "baseline": which} for row in compare(method, baseline, text)]


def over_seeds(a: Dict[int, float], b: Dict[int, float], claim: str, margin: float = 0.0
               ) -> dict:
    """Does A beat B by more than `margin`, across training seeds? a, b: seed -> one score
    each (a test-set mean; b may be the same for every seed, as a fitted baseline is).

    With few seeds a 2-SE rule passes by chance too often, so the verdict uses the per-seed
    differences minus `margin` against Student's t: 'supported' if their mean is above
    t(0.975, n - 1) standard errors (12.7 SE for 2 seeds, 4.30 for 3, 2.78 for 5),
    'contradicted' if below minus that, else 'not resolved' (also with fewer than two seeds).
    The SE (spread with n - 1) measures how much training noise moves the difference."""
    from scipy.stats import t as student_t

    seeds = sorted(set(a) & set(b))
    d = [a[k] - b[k] - margin for k in seeds if math.isfinite(a[k] - b[k])]
    n = len(d)
    mean = sum(d) / n if n else math.nan
    sem = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1) / n) if n > 1 else math.nan
    critical = float(student_t.ppf(0.975, n - 1)) if n > 1 else math.nan
    return {"claim": claim, "mean_difference": mean + margin if n else math.nan, "sem": sem,
            "margin": margin, "n_seeds": n, "t_critical": critical,
            "verdict": verdict(mean, sem, critical, n)}
