"""The body design of the human set: N deterministic bodies spread over anny's phenotypes
(torch-free).

Bodies alternate female / male and fill the other phenotypes with a shifted Halton sequence
(a low-discrepancy design: 40 bodies cover the range far more evenly than 40 random draws):
age 13-85 years (teens to elders), muscle, weight (thin to heavy), height (short to tall) and
proportions. Each body also gets a skin tone and a pose recipe (rest pose for every fifth body,
a random natural pose from its own seed otherwise). The same (n, seed) always gives the same
bodies, and body i does not depend on n.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import List, Tuple

import numpy as np

AGE_YEARS = (13.0, 85.0)
# Ranges inside anny's [0, 1] phenotype box (the extremes look like caricatures).
RANGES = {"muscle": (0.1, 0.9), "weight": (0.05, 0.95), "height": (0.05, 0.95),
          "proportions": (0.2, 0.8)}
# sRGB skin tones, light to dark.
SKIN_TONES: Tuple[Tuple[int, int, int], ...] = (
    (250, 218, 190), (238, 192, 160), (222, 170, 134), (196, 142, 102),
    (168, 114, 78), (140, 88, 56), (108, 66, 42), (78, 48, 32),
)
REST_EVERY = 5  # bodies 0, 5, 10, ... stand in anny's rest pose


@dataclass(frozen=True)
class Body:
    """One body: phenotype values (anny's, except age in years), skin tone, pose recipe."""

    index: int  # 0-based
    gender: float  # 0 male, 1 female (anny's convention)
    age_years: float
    muscle: float
    weight: float
    height: float
    proportions: float
    skin_tone: Tuple[int, int, int]
    pose: str  # "rest" or "random"
    pose_seed: int

    @property
    def name(self) -> str:
        """Folder name in the released human layout (1-based, as 'meshN_new')."""
        return f"mesh{self.index + 1}_new"

    def to_dict(self) -> dict:
        return asdict(self)


def _radical_inverse(i: int, base: int) -> float:
    f, r = 1.0, 0.0
    while i > 0:
        f /= base
        r += f * (i % base)
        i //= base
    return r


def design_bodies(n: int, seed: int = 0) -> List[Body]:
    """The first `n` bodies of the design for `seed` (prefix-stable: body i ignores n)."""
    if n < 1:
        raise ValueError(f"need at least one body, got {n}")
    rng = np.random.default_rng(seed)
    shift = rng.random(5)  # Cranley-Patterson rotation of the Halton points
    tone_order = rng.permutation(len(SKIN_TONES))
    bodies = []
    for i in range(n):
        u = [(_radical_inverse(i + 1, b) + s) % 1.0 for b, s in zip((2, 3, 5, 7, 11), shift)]
        jitter = (_radical_inverse(i + 1, 13) - 0.5) * 0.2
        gender = float(np.clip((i % 2) + (-jitter if i % 2 else jitter) * 0.7, 0.0, 1.0))
        vals = {k: float(lo + (hi - lo) * x) for (k, (lo, hi)), x in zip(RANGES.items(), u[1:])}
        bodies.append(Body(
            index=i,
            gender=round(gender, 4),
            age_years=round(float(AGE_YEARS[0] + (AGE_YEARS[1] - AGE_YEARS[0]) * u[0]), 2),
            **{k: round(v, 4) for k, v in vals.items()},
            skin_tone=SKIN_TONES[int(tone_order[(i * 3) % len(SKIN_TONES)])],
            pose="rest" if i % REST_EVERY == 0 else "random",
            pose_seed=int(seed) * 100_003 + i,
        ))
    return bodies


# -- the wide sets' bodies: anny's whole range -----------------------------------------------
# Age 6-90 years (children to elders), the phenotypes over nearly all of anny's box, gender
# mostly female / male with some in between, and skin tones continuous between the 8 anchors
# above (interpolated) with a small warm / cool undertone shift. The pose is drawn per
# (outfit, body) pair by the generator (`pose` = "per-pair").
WIDE_AGE_YEARS = (6.0, 90.0)
WIDE_RANGES = {"muscle": (0.0, 1.0), "weight": (0.0, 1.0), "height": (0.02, 0.98),
               "proportions": (0.1, 0.9)}


def skin_tone_at(t: float, undertone: float = 0.0) -> Tuple[int, int, int]:
    """sRGB skin tone at t in [0, 1] along SKIN_TONES (light to dark); `undertone` in
    [-1, 1] shifts it warm (+) or cool (-)."""
    x = np.clip(t, 0.0, 1.0) * (len(SKIN_TONES) - 1)
    i = min(int(np.floor(x)), len(SKIN_TONES) - 2)
    c = np.array(SKIN_TONES[i]) * (1 - (x - i)) + np.array(SKIN_TONES[i + 1]) * (x - i)
    c = c + undertone * np.array([6.0, 0.0, -8.0])
    return tuple(int(v) for v in np.clip(np.round(c), 0, 255))


def design_wide_bodies(n: int, seed: int = 0) -> List[Body]:
    """The first `n` bodies of the wide design for `seed` (prefix-stable)."""
    if n < 1:
        raise ValueError(f"need at least one body, got {n}")
    rng = np.random.default_rng([seed, 4099])
    shift = rng.random(8)
    bodies = []
    for i in range(n):
        u = [(_radical_inverse(i + 1, b) + s) % 1.0
             for b, s in zip((2, 3, 5, 7, 11, 13, 17, 19), shift)]
        gender = float(i % 2)
        if u[6] < 0.15:  # some androgynous bodies
            gender = 0.35 + 0.3 * u[6] / 0.15
        else:
            gender = abs(gender - 0.12 * u[6])
        vals = {k: float(lo + (hi - lo) * x) for (k, (lo, hi)), x in zip(WIDE_RANGES.items(), u[1:5])}
        bodies.append(Body(
            index=i, gender=round(gender, 4),
            age_years=round(float(WIDE_AGE_YEARS[0] + (WIDE_AGE_YEARS[1] - WIDE_AGE_YEARS[0]) * u[0]), 2),
            **{k: round(v, 4) for k, v in vals.items()},
            skin_tone=skin_tone_at(u[5], 2 * u[7] - 1),
            pose="per-pair", pose_seed=int(seed) * 100_003 + i,
        ))
    return bodies

