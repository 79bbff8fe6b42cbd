"""Which (style, body) pairs the human set holds, and their split (torch-free).

The paper's set has 367 of the 16 x 40 possible pairs, 330 for training and 37 for testing.
We keep those counts and make the test split a real generalization test: some bodies and some
styles are held out, i.e. never seen in training (recorded in every model's metadata and in
`human_plan.json`):

* held-out bodies: about 10 % of the bodies; held-out styles: about 1 in 8 styles;
* train pairs use only seen bodies and seen styles, balanced so every seen body and style
  appears about equally often;
* test pairs (about 10 % of all pairs) all involve a held-out body or a held-out style:
  unseen body in a seen style, seen body in an unseen style, and both unseen; every held-out
  body and style appears at least once when the count allows.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import List, Sequence, Tuple

import numpy as np

Pair = Tuple[int, int]  # (style id, body id), 0-based


def clothes_name(style_id: int) -> str:
    """Folder name of a style in the released layout (1-based, 'clothesK')."""
    return f"clothes{style_id + 1}"


def mesh_name(body_id: int) -> str:
    """Folder name of a body in the released layout (1-based, 'meshN_new')."""
    return f"mesh{body_id + 1}_new"


def entry(pair: Pair) -> str:
    """A split-list line: 'clothesK meshN_new'."""
    return f"{clothes_name(pair[0])} {mesh_name(pair[1])}"


@dataclass(frozen=True)
class Plan:
    bodies: int
    styles: int
    seed: int
    train: List[Pair] = field(default_factory=list)
    test: List[Pair] = field(default_factory=list)
    held_out_bodies: List[int] = field(default_factory=list)
    held_out_styles: List[int] = field(default_factory=list)

    @property
    def pairs(self) -> List[Pair]:
        return list(self.train) + list(self.test)

    def split_of(self, pair: Pair) -> str:
        return "test" if tuple(pair) in {tuple(p) for p in self.test} else "train"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["train"] = [list(p) for p in self.train]
        d["test"] = [list(p) for p in self.test]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Plan":
        return cls(bodies=d["bodies"], styles=d["styles"], seed=d["seed"],
                   train=[tuple(p) for p in d["train"]], test=[tuple(p) for p in d["test"]],
                   held_out_bodies=list(d["held_out_bodies"]),
                   held_out_styles=list(d["held_out_styles"]))


def _round_robin(bodies: Sequence[int], styles: Sequence[int], rng: np.random.Generator) -> List[Pair]:
    """All (style, body) pairs of `bodies` x `styles` in an order whose every prefix is
    balanced: round r gives each body one style, styles rotated so they spread evenly."""
    bodies = list(rng.permutation(bodies))
    styles = list(rng.permutation(styles))
    order = []
    for r in range(len(styles)):
        for j, b in enumerate(bodies):
            order.append((int(styles[(j + r) % len(styles)]), int(b)))
    return order


def make_plan(bodies: int, styles: int, pairs: int, seed: int = 0,
              test_fraction: float = 0.1) -> Plan:
    """Choose `pairs` (style, body) pairs and their split; deterministic in `seed`."""
    total = bodies * styles
    if not 1 <= pairs <= total:
        raise ValueError(f"--pairs must be between 1 and bodies x styles = {total}, got {pairs}")
    rng = np.random.default_rng(seed + 7919)
    n_test = int(round(test_fraction * pairs)) if pairs >= 2 else 0
    n_test = max(n_test, 1) if pairs >= 2 else 0
    k_bodies = max(1, int(round(0.1 * bodies))) if bodies >= 2 and n_test else 0
    k_styles = max(1, int(round(styles / 8))) if styles >= 2 and n_test else 0
    held_b = sorted(int(b) for b in rng.choice(bodies, k_bodies, replace=False)) if k_bodies else []
    held_s = sorted(int(s) for s in rng.choice(styles, k_styles, replace=False)) if k_styles else []
    seen_b = [b for b in range(bodies) if b not in held_b]
    seen_s = [s for s in range(styles) if s not in held_s]

    n_train = pairs - n_test
    train_pool = _round_robin(seen_b, seen_s, rng) if seen_b and seen_s else []
    if n_train > len(train_pool):
        raise ValueError(
            f"{pairs} pairs leave {n_train} for training, but only {len(train_pool)} pairs avoid "
            f"the held-out bodies {held_b} and styles {held_s}: ask for fewer pairs")
    train = sorted(train_pool[:n_train])

    # Test: one pair per held-out body and style first (coverage), then a fill cycling over
    # unseen body (A), unseen style (B) and both unseen (C), so each kind is well represented.
    pools = {
        "A": [p for p in _round_robin(held_b, seen_s, rng)] if held_b and seen_s else [],
        "B": [p for p in _round_robin(seen_b, held_s, rng)] if seen_b and held_s else [],
        "C": [p for p in _round_robin(held_b, held_s, rng)] if held_b and held_s else [],
    }
    everything = pools["A"] + pools["B"] + pools["C"]
    test: List[Pair] = []
    for b in held_b:
        test.append(next(p for p in everything if p[1] == b and p not in test))
    for s in held_s:
        test.append(next(p for p in everything if p[0] == s and p not in test))
    test = test[:n_test]
    cycle = ["A", "B", "A", "B", "C"]
    k = 0
    while len(test) < n_test and any(p not in test for p in everything):
        pool = pools[cycle[k % len(cycle)]]
        k += 1
        nxt = next((p for p in pool if p not in test), None)
        if nxt is not None:
            test.append(nxt)
    if len(test) < n_test:
        raise ValueError(f"only {len(test)} test pairs possible, {n_test} asked")
    return Plan(bodies=bodies, styles=styles, seed=seed, train=train, test=sorted(test),
                held_out_bodies=held_b, held_out_styles=held_s)


def make_heldout_plan(bodies: int, styles: int, pairs: int, seed: int = 0,
                      test_fraction: float = 0.1) -> Plan:
    """The wide sets' plan: the test split is held out by body AND by outfit. About 10 % of
    the bodies and 1 in 8 outfits (more if needed to fill the test split) are never trained
    on, and every test pair is a held-out body in a held-out outfit: no test person shares
    a body or an outfit with any training person. Balanced round-robin orders as in
    `make_plan`; deterministic in `seed`."""
    total = bodies * styles
    if not 2 <= pairs <= total:
        raise ValueError(f"--pairs must be between 2 and bodies x styles = {total}, got {pairs}")
    if bodies < 2 or styles < 2:
        raise ValueError("a split held out by body and by outfit needs at least 2 bodies and "
                         "2 outfits")
    rng = np.random.default_rng(seed + 104729)
    n_test = max(1, int(round(test_fraction * pairs)))
    k_b = min(bodies - 1, max(1, int(round(0.1 * bodies))))
    k_s = min(styles - 1, max(1, int(round(styles / 8))))
    while k_b * k_s < n_test and (k_b < bodies - 1 or k_s < styles - 1):
        # widen whichever is held out in the smaller share
        if (k_b / bodies <= k_s / styles and k_b < bodies - 1) or k_s >= styles - 1:
            k_b += 1
        else:
            k_s += 1
    if k_b * k_s < n_test:
        raise ValueError(f"{n_test} test pairs need more held-out bodies x outfits than "
                         f"{bodies} bodies and {styles} outfits allow")
    held_b = sorted(int(b) for b in rng.choice(bodies, k_b, replace=False))
    held_s = sorted(int(s) for s in rng.choice(styles, k_s, replace=False))
    seen_b = [b for b in range(bodies) if b not in held_b]
    seen_s = [s for s in range(styles) if s not in held_s]
    n_train = pairs - n_test
    train_pool = _round_robin(seen_b, seen_s, rng)
    if n_train > len(train_pool):
        raise ValueError(f"{pairs} pairs leave {n_train} for training, but only "
                         f"{len(train_pool)} pairs avoid the held-out bodies and outfits: ask "
                         f"for fewer pairs or more bodies / outfits")
    test = sorted(_round_robin(held_b, held_s, rng)[:n_test])
    return Plan(bodies=bodies, styles=styles, seed=seed, train=sorted(train_pool[:n_train]),
                test=test, held_out_bodies=held_b, held_out_styles=held_s)


def most_heldout_pairs(bodies: int, styles: int, wanted: int) -> int:
    """The largest pair count <= `wanted` that a split held out by body and by outfit allows
    (`make_heldout_plan` needs its training pairs to avoid every held-out body and outfit):
    what `--pairs` defaults to for small designs, e.g. 8 bodies x 4 outfits -> 20 (18 + 2)."""
    for n in range(min(wanted, bodies * styles), 1, -1):
        try:
            make_heldout_plan(bodies, styles, n)
            return n
        except ValueError:
            continue
    raise ValueError(f"{bodies} bodies x {styles} outfits are too few for a split held out by "
                     f"body and by outfit")

