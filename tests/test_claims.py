"""Verdicts over training seeds (the claims study's rule; the study itself runs end to end in
tests/test_experiments.py)."""
from __future__ import annotations

import numpy as np

from im2avatar_tf import claims


def test_verdicts_over_seeds_use_the_spread_between_seeds():
    # differences 0.10, 0.12, 0.11: mean 0.11, SE 0.00577 -> supported, and by the 0.05 margin
    a, b = {1: 0.60, 2: 0.62, 3: 0.61}, {1: 0.5, 2: 0.5, 3: 0.5}
    row = claims.over_seeds(a, b, "A beats B")
    assert row["verdict"] == "supported" and row["n_seeds"] == 3
    assert np.isclose(row["mean_difference"], 0.11)
    assert np.isclose(row["sem"], np.std([0.10, 0.12, 0.11], ddof=1) / np.sqrt(3))
    assert claims.over_seeds(a, b, "", margin=0.05)["verdict"] == "supported"
    assert claims.over_seeds(a, b, "", margin=0.2)["verdict"] == "contradicted"
    # noisy seeds: not resolved; one seed: never a verdict
    assert claims.over_seeds({1: 0.9, 2: 0.3, 3: 0.6}, b, "")["verdict"] == "not resolved"
    assert claims.over_seeds({1: 0.9}, {1: 0.1}, "")["verdict"] == "not resolved"
