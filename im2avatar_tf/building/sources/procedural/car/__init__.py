"""Cars: a family of body types, each drawn with its own parameters (`describe("car", i)`).

    FAMILIES["wide"]      # the body types the default build draws from, with their weights
    sample(s, "classic")  # the generator before issue 34: boxes of boxes, six bodies

Families: `classic` (`classic.py`: sedan, hatchback, van, SUV, pickup, sports as extruded side
profiles; its cars are the same as before, parameter for parameter) and `wide` (the default),
which draws a type first: `classic` itself, the lofted road cars of `road.py` (saloon, sports,
touring, rally, suv, pickup, van: rounded superellipse sections, spoilers, splitters, varied
wheels, track and ride height, liveries) or the racers of `racers.py` (open-wheel, buggy).
`params["family"]` and `params["type"]` say which; `build(params)` dispatches on the type.
"""
from __future__ import annotations

from ..parts import Assembly
from ..sampling import Sampler
from . import classic, racers, road

# type -> (module, weight in the wide family)
TYPES = {
    "classic": (classic, 2.0),
    "saloon": (road, 2.5),
    "sports": (road, 2.0),
    "touring": (road, 1.5),
    "rally": (road, 1.0),
    "suv": (road, 1.0),
    "pickup": (road, 0.75),
    "van": (road, 0.75),
    "open_wheel": (racers, 1.0),
    "buggy": (racers, 0.5),
}
FAMILIES = {"classic": {"classic": 1.0}, "wide": {k: w for k, (_, w) in TYPES.items()}}
DEFAULT_FAMILY = "wide"


def sample(s: Sampler, family: str = DEFAULT_FAMILY) -> dict:
    if family not in FAMILIES:
        raise ValueError(f"unknown car family {family!r}; expected one of {sorted(FAMILIES)}")
    if family == "classic":  # the same draws as the generator before the wide family
        params = classic.sample(s)
        params.update(family="classic", type="classic")
        return params
    types = list(FAMILIES[family])
    kind = s.choice("type", types, [FAMILIES[family][k] for k in types])
    s.set("family", family)
    return TYPES[kind][0].sample(s, kind) if kind != "classic" else classic.sample(s)


def build(p: dict) -> Assembly:
    kind = p.get("type", "classic")
    return classic.build(p) if kind == "classic" else TYPES[kind][0].build(p)
