"""What an experiment's paired claims on one test set are read from (`TestSetScores`): each
method's per-(model, view) records by category, and each category's trivial baselines. The
per-model means that `claims.compare` pairs up are derived from the records when a claim asks,
so an experiment collects its results once and states each claim in a line."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from im2avatar_tf import claims

from . import _common as common


@dataclass
class TestSetScores:
    """One test set's scores. records: method label -> category -> EvalResult records;
    where: label -> the rows selection that makes them that method (e.g. a coloring of the
    color network's records, a threshold); baselines: label (None: every method's) ->
    category -> BaselineScores."""

    records: Dict[str, Dict[str, object]] = field(default_factory=dict)
    where: Dict[str, dict] = field(default_factory=dict)
    baselines: Dict[Optional[str], Dict[str, object]] = field(default_factory=dict)

    def add(self, label: str, category: str, records, **where) -> None:
        self.records.setdefault(label, {})[category] = records
        self.where[label] = where

    def add_baselines(self, category: str, scores, label: Optional[str] = None) -> None:
        """The category's baselines, for every method or (`label`) for one: the mean color
        painted on that method's own voxels."""
        self.baselines.setdefault(label, {})[category] = scores

    def means(self, label: str, metric: str, **where) -> Dict[str, object]:
        """category -> per-model means of `label`'s rows of `metric` (its selection and
        `where`)."""
        select = {**self.where.get(label, {}), **where}
        return {cat: claims.model_means(r, metric=metric, **select)
                for cat, r in self._records(label).items()}

    def _records(self, label: str) -> Dict[str, object]:
        """label's records by category; none on a test set without the categories, a
        KeyError for a label never added where others were (a typo)."""
        if self.records and label not in self.records:
            raise KeyError(f"no method {label!r} on this test set: {sorted(self.records)}")
        return self.records.get(label, {})

    def compare(self, a: str, b: str, metric: str, claim: str, **where) -> List[dict]:
        """Does `a` beat `b` on `metric`, paired per test model (`claims.compare`: per
        category, then pooled)?"""
        return claims.compare(self.means(a, metric, **where), self.means(b, metric, **where),
                              claim)

    def beats_baselines(self, label: str, selections: Sequence[Tuple[str, dict]],
                        detail: str = "") -> List[dict]:
        """"<label> beats the trivial baseline" rows (`common.beats_baselines`), one per
        (metric, extra selection), against the label's own baselines if it has them."""
        bases = self.baselines.get(label, self.baselines.get(None, {}))
        where = self.where.get(label, {})
        return common.beats_baselines(list(self._records(label).values()), bases, label,
                                      [(metric, {**where, **extra})
                                       for metric, extra in selections], detail)


def per_test_set(s) -> Dict[str, TestSetScores]:
    """An empty TestSetScores for each of the setup's test sets."""
    return {dataset: TestSetScores() for dataset, _ in s.test_sets()}
