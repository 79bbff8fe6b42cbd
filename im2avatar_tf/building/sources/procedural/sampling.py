"""Recording parameter sampler: every draw lands, JSON-ready, in the dict that describe() returns."""

from __future__ import annotations

import hashlib

import numpy as np

from . import texture


def rng_for(category: str, index: int, seed: int) -> np.random.Generator:
    """A generator that depends only on (category, index, seed), never on call order."""
    digest = hashlib.sha256(f"im2avatar-procedural/{category}/{int(index)}/{int(seed)}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


class Sampler:
    """Draws named parameters from a Generator and records them (floats rounded to 4 decimals)."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.params: dict = {}

    def uniform(self, name: str, lo: float, hi: float) -> float:
        return self.set(name, round(float(self.rng.uniform(lo, hi)), 4))

    def integer(self, name: str, lo: int, hi: int) -> int:
        """Integer in [lo, hi], both ends included."""
        return self.set(name, int(self.rng.integers(lo, hi + 1)))

    def choice(self, name: str, options, weights=None):
        w = None if weights is None else np.asarray(weights, float) / np.sum(weights)
        return self.set(name, options[int(self.rng.choice(len(options), p=w))])

    def flag(self, name: str, p: float) -> bool:
        return self.set(name, bool(self.rng.random() < p))

    def color(self, name: str, kind: str, **kw) -> list[int]:
        """A colour of a family (see texture.color), recorded under params["colors"][name]."""
        value = texture.color(self.rng, kind, **kw)
        self.params.setdefault("colors", {})[name] = value
        return value

    def set(self, name: str, value):
        self.params[name] = value
        return value
