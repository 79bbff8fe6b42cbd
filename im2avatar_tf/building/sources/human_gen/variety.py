"""What a human set widens: the `--human-variety` switch (torch-free).

Four values, so one can ablate what moves the real-people numbers:

| value | bodies | poses | clothing | split |
|---|---|---|---|---|
| `classic` | 40-body design, 8 skin tones | A-pose every 5th body, else a natural random pose, one per body | the 16 painted styles | held-out bodies or styles |
| `poses` | wide design | photo poses, one per (outfit, body) pair: standing, walking, sitting (seats), arms crossed, holding things, lying | outfits painted flat (`Outfit.to_style`) | held out by body and by outfit |
| `clothes` | wide design | the classic distribution, drawn per pair | outfits with volume (skirts, coats, hair meshes) and fabric textures | held out by body and by outfit |
| `wide` (default) | wide design | photo poses | outfits with volume and fabric textures | held out by body and by outfit |

`poses`, `clothes` and `wide` share their bodies, outfits (colors, garments) and split for a
given seed, so they differ only in what their name says. `classic` is the earlier generator,
byte for byte (its own bodies, styles and split).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict


@dataclass(frozen=True)
class Variety:
    name: str
    bodies: str  # "classic" (bodies.design_bodies) | "wide" (bodies.design_wide_bodies)
    poses: str  # "classic" (per body) | "natural" (classic distribution, per pair) | "photo"
    clothes: str  # "styles" (16 painted) | "painted" (outfits, flat) | "meshed" (outfits)
    split: str  # "body-or-style" (plan.make_plan) | "body-and-outfit" (plan.make_heldout_plan)
    bodies_default: int
    styles_default: int
    pairs_default: int

    @property
    def outfits(self) -> bool:
        return self.clothes != "styles"

    def to_dict(self) -> dict:
        return asdict(self)


VARIETIES: Dict[str, Variety] = {
    "classic": Variety("classic", "classic", "classic", "styles", "body-or-style", 40, 16, 367),
    "poses": Variety("poses", "wide", "photo", "painted", "body-and-outfit", 80, 48, 367),
    "clothes": Variety("clothes", "wide", "natural", "meshed", "body-and-outfit", 80, 48, 367),
    "wide": Variety("wide", "wide", "photo", "meshed", "body-and-outfit", 80, 48, 367),
}
DEFAULT = "wide"


def variety(name: str) -> Variety:
    if name not in VARIETIES:
        raise ValueError(f"unknown human variety {name!r}; choose from {', '.join(VARIETIES)}")
    return VARIETIES[name]


def design(name: str, bodies: int, seed: int):
    """The body design of a variety."""
    from .bodies import design_bodies, design_wide_bodies

    return (design_bodies if variety(name).bodies == "classic" else design_wide_bodies)(bodies, seed)


def pair_seed(seed: int, style_id: int, body_id: int) -> int:
    """The seed of a (style / outfit, body) pair's pose and props."""
    return (int(seed) * 1_000_003 + int(style_id) * 10_007 + int(body_id) * 101 + 17) % (2 ** 31)
