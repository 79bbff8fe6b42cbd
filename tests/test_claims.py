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


def test_few_seeds_need_students_t_not_two_standard_errors():
    # differences 0.10, 0.02, 0.06: mean 0.06, SE 0.0231 -> 2.6 SE: past a 2-SE rule, but
    # within t(0.975, 2) = 4.30 SE, so not resolved with 3 seeds
    a, b = {1: 0.60, 2: 0.52, 3: 0.56}, {1: 0.5, 2: 0.5, 3: 0.5}
    row = claims.over_seeds(a, b, "A beats B")
    assert 2 < row["mean_difference"] / row["sem"] < 4.30 < row["t_critical"] + 0.01
    assert row["verdict"] == "not resolved"
    # the same spread over 6 seeds (t(0.975, 5) = 2.57) is enough
    six = {k: v for k, v in zip(range(6), [0.60, 0.52, 0.56, 0.60, 0.52, 0.56])}
    assert claims.over_seeds(six, {k: 0.5 for k in range(6)}, "")["verdict"] == "supported"


def test_precise_bn_rows_get_their_own_verdicts():
    """--precise-bn rows: judged against the same coloring with the moving averages and against
    the mean training color, per seed; without them, no such verdict."""
    import pandas as pd

    from experiments import claims as study
    from im2avatar_tf.evaluation import MEAN_COLOR

    rows = []
    for seed, noise in zip((1, 2, 3), (0.0, 0.1, -0.1)):
        for name, value in ((study.RELEASED, 14.0), (study.TRAINING_BLEND, 15.0),
                            (study.precise(study.RELEASED), 14.5),
                            (study.precise(study.TRAINING_BLEND), 17.0), (MEAN_COLOR, 14.0)):
            rows.append(dict(dataset="in distribution", category="chair", seed=seed,
                             method=name, metric="psnr_rgb", threshold_mode="",
                             value=value + noise * (name != MEAN_COLOR)))
    df = pd.DataFrame(rows)
    got = {v["claim"]: (round(v["mean_difference"], 6), v["verdict"])
           for v in study.study_claims(df) if study.PRECISE_BN in v["claim"]}
    t02, t1 = study.precise(study.RELEASED), study.precise(study.TRAINING_BLEND)
    assert got == {
        f"{t02} beats the moving averages (PSNR RGB; not a claim of the paper)": (0.5, "supported"),
        f"{t02} beats the mean training color by 1 dB (PSNR RGB)": (0.5, "contradicted"),
        f"{t1} beats the moving averages (PSNR RGB; not a claim of the paper)": (2.0, "supported"),
        f"{t1} beats the mean training color by 1 dB (PSNR RGB)": (3.0, "supported")}
    plain = study.study_claims(df[~df.method.str.contains(study.PRECISE_BN, regex=False)])
    assert not [v for v in plain if study.PRECISE_BN in v["claim"]]
