"""Outfits of the wide human sets: drawn from a garment vocabulary, deterministic (torch-free).

An `Outfit` is what a person wears, with volume where paint alone cannot give the silhouette:

* top: ``tee``, ``tank``, ``longsleeve``, ``shirt`` (painted, tight), ``sweater``, ``hoodie``
  (a shell 1-1.5 cm thick over the torso and arms), or ``none`` under a dress;
* bottom: ``shorts``, ``jeans``, ``trousers`` (painted), ``wide`` trousers (a shell flaring to
  the hem), a ``skirt`` (a mesh hanging from the waist around both legs: ``mini``, ``knee``,
  ``midi``, ``maxi``), or a ``dress`` (painted bodice + the same skirt mesh);
* outer: none, a ``jacket`` (a 2.5 cm shell over torso and arms) or a ``coat`` (the jacket's
  shell plus a skirt-like mesh to the knee);
* hair as a mesh around the head: ``bald``, ``buzz`` (painted), ``short``, ``bob``, ``long``,
  ``curly`` (shells 1-5 cm thick), ``ponytail`` and ``bun`` (a shell plus a hanging or round
  mesh); hair colors from black to gray;
* shoes: ``sneakers``, ``shoes``, ``boots`` (boots a thin shell to mid-calf);
* fabrics (`fabrics.Fabric`): denim, jersey, knit, plaid, stripes, print, leather, tweed,
  corduroy, linen, in colors people wear (mostly muted, some bright).

`design_outfits(n, seed)` draws n outfits (outfit i does not depend on n); `Outfit.to_style()`
is the same outfit painted flat as the classic 16 styles are (the `poses` variety, where only
the poses widen), so the ablation compares like with like.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import List, Optional, Tuple

import numpy as np

from .fabrics import Fabric
from .styles import Garment, Style

RGB = Tuple[int, int, int]
TOPS = ("tee", "tank", "longsleeve", "shirt", "sweater", "hoodie", "none")
BOTTOMS = ("shorts", "jeans", "trousers", "wide", "skirt", "dress")
LENGTHS = ("mini", "knee", "midi", "maxi")  # skirts and dresses
OUTERS = ("none", "jacket", "coat")
HAIR = ("bald", "buzz", "short", "bob", "long", "curly", "ponytail", "bun")
SHOES = ("sneakers", "shoes", "boots")

# Colors people wear: neutrals most often, then muted, then bright.
NEUTRAL = ((30, 30, 32), (236, 234, 228), (120, 120, 124), (60, 62, 68), (200, 190, 170),
           (28, 40, 72), (110, 84, 60), (170, 150, 118))
MUTED = ((90, 110, 70), (120, 60, 60), (70, 96, 120), (150, 120, 150), (180, 140, 90),
         (80, 120, 120), (140, 90, 60), (160, 170, 190))
BRIGHT = ((200, 40, 40), (240, 200, 60), (40, 120, 200), (230, 120, 160), (240, 130, 40),
          (50, 160, 90), (130, 60, 170), (240, 240, 250))
DENIM_BLUES = ((52, 78, 120), (70, 100, 150), (36, 50, 80), (100, 130, 170), (40, 40, 46))
HAIR_COLORS = ((20, 16, 14), (48, 32, 22), (90, 60, 34), (140, 100, 60), (200, 166, 100),
               (150, 62, 28), (170, 166, 160), (220, 218, 212))
SHOE_COLORS = ((24, 24, 26), (90, 60, 40), (236, 236, 236), (140, 110, 80), (60, 60, 70))
CLOTH = {"top": ("jersey", "jersey", "knit", "stripes", "plaid", "print", "linen"),
         "bottom": ("denim", "denim", "jersey", "corduroy", "linen", "tweed", "plaid"),
         "skirt": ("print", "jersey", "denim", "plaid", "linen", "tweed", "stripes"),
         "outer": ("tweed", "leather", "denim", "jersey", "corduroy", "knit")}


@dataclass(frozen=True)
class Outfit:
    index: int
    top: str
    top_fabric: Fabric
    bottom: str
    bottom_fabric: Fabric  # of the trousers, the skirt, or the whole dress
    length: Optional[str]  # skirt / dress length, else None
    outer: str
    outer_fabric: Optional[Fabric]
    hair: str
    hair_color: RGB
    shoes: str
    shoe_color: RGB

    def __post_init__(self):
        if self.top not in TOPS or self.bottom not in BOTTOMS or self.outer not in OUTERS:
            raise ValueError(f"outfit {self.index}: bad top/bottom/outer "
                             f"{self.top}/{self.bottom}/{self.outer}")
        if (self.top == "none") != (self.bottom == "dress"):
            raise ValueError(f"outfit {self.index}: top 'none' goes with a dress and only then")
        if (self.length is not None) != (self.bottom in ("skirt", "dress")):
            raise ValueError(f"outfit {self.index}: a length is for skirts and dresses")
        if self.hair not in HAIR or self.shoes not in SHOES:
            raise ValueError(f"outfit {self.index}: bad hair/shoes {self.hair}/{self.shoes}")

    @property
    def name(self) -> str:
        bottom = f"{self.length}-{self.bottom}" if self.length else self.bottom
        parts = [self.top if self.top != "none" else None, bottom,
                 self.outer if self.outer != "none" else None, f"{self.hair}-hair"]
        return "-".join(p for p in parts if p)

    @property
    def meshed(self) -> List[str]:
        """The garments that get a mesh of their own (volume), in the `clothes` varieties."""
        out = []
        if self.top in ("sweater", "hoodie") and self.outer == "none":
            out.append(self.top)
        if self.bottom in ("skirt", "dress", "wide"):
            out.append(self.bottom)
        if self.outer != "none":
            out.append(self.outer)
        if self.hair not in ("bald", "buzz"):
            out.append("hair")
        if self.shoes == "boots":
            out.append("boots")
        return out

    def to_dict(self) -> dict:
        d = asdict(self)
        d["name"], d["meshed"] = self.name, self.meshed
        return d

    def to_style(self) -> Style:
        """The outfit painted flat, as a classic `Style` (garment regions, flat colors and the
        classic patterns): the clothing of the `poses` variety."""
        pattern = {"plaid": "checks", "stripes": "stripes", "print": "dots"}

        def garment(f: Fabric) -> Garment:
            return Garment(pattern.get(f.kind, "solid"), (f.colors[0], f.colors[1]))

        upper_fabric = self.outer_fabric if self.outer != "none" else (
            self.bottom_fabric if self.bottom == "dress" else self.top_fabric)
        if self.bottom == "dress":
            top, dress = "none", True
            bottom = "knee" if self.length in ("midi", "maxi") else "skirt"
        else:
            dress = False
            top = {"tank": "sleeveless", "tee": "short"}.get(self.top, "long")
            if self.outer != "none":
                top = "long"
            bottom = {"shorts": "shorts", "skirt": "skirt"}.get(self.bottom, "long")
            if self.bottom == "skirt" and self.length in ("midi", "maxi"):
                bottom = "knee"
        hair = {"bald": "bald", "buzz": "short", "short": "short", "bob": "medium",
                "curly": "medium", "bun": "medium", "long": "long", "ponytail": "long"}[self.hair]
        return Style(name=self.name, top=top, bottom=bottom, upper=garment(upper_fabric),
                     lower=garment(self.bottom_fabric), shoes="boots" if self.shoes == "boots"
                     else "shoes", shoe_color=self.shoe_color, hair=hair,
                     hair_color=self.hair_color, dress=dress)


def _color(rng: np.random.Generator) -> RGB:
    r = rng.random()
    pool = NEUTRAL if r < 0.5 else MUTED if r < 0.82 else BRIGHT
    c = np.array(pool[int(rng.integers(len(pool)))], np.float64)
    c = np.clip(c * rng.uniform(0.88, 1.12) + rng.normal(0, 6, 3), 0, 255)  # dye lot
    return tuple(int(v) for v in np.round(c))


def _fabric(rng: np.random.Generator, role: str) -> Fabric:
    kind = CLOTH[role][int(rng.integers(len(CLOTH[role])))]
    if kind == "denim":
        main = DENIM_BLUES[int(rng.integers(len(DENIM_BLUES)))]
        second = tuple(int(min(255, v * 1.5 + 30)) for v in main)
        return Fabric(kind, (main, second))
    main, second = _color(rng), _color(rng)
    while kind in ("plaid", "stripes", "print") and np.abs(np.subtract(main, second)).sum() < 120:
        second = _color(rng)
    return Fabric(kind, (main, second))


def _choice(rng, options, p):
    p = np.asarray(p, np.float64)
    return options[int(rng.choice(len(options), p=p / p.sum()))]


def draw_outfit(index: int, seed: int = 0) -> Outfit:
    """Outfit `index` of the design for `seed` (its own random stream)."""
    rng = np.random.default_rng([seed, 7121, index])
    bottom = _choice(rng, BOTTOMS, (0.12, 0.26, 0.18, 0.1, 0.18, 0.16))
    top = "none" if bottom == "dress" else _choice(rng, TOPS[:-1], (0.26, 0.1, 0.14, 0.14, 0.2, 0.16))
    length = _choice(rng, LENGTHS, (0.25, 0.35, 0.25, 0.15)) if bottom in ("skirt", "dress") else None
    outer = _choice(rng, OUTERS, (0.6, 0.22, 0.18))
    if bottom == "shorts":
        outer = "none" if rng.random() < 0.8 else "jacket"
    hair = _choice(rng, HAIR, (0.06, 0.1, 0.22, 0.14, 0.2, 0.1, 0.1, 0.08))
    shoes = _choice(rng, SHOES, (0.45, 0.35, 0.2))
    bottom_fabric = _fabric(rng, "skirt" if bottom in ("skirt", "dress") else "bottom")
    if bottom == "jeans" and bottom_fabric.kind != "denim":  # jeans are denim
        bottom_fabric = Fabric("denim", (DENIM_BLUES[index % len(DENIM_BLUES)],
                                         tuple(int(min(255, v * 1.5 + 30))
                                               for v in DENIM_BLUES[index % len(DENIM_BLUES)])))
    elif bottom == "trousers" and bottom_fabric.kind == "denim":  # trousers are not
        bottom_fabric = Fabric("jersey" if index % 2 else "tweed", bottom_fabric.colors)
    return Outfit(
        index=index, top=top, top_fabric=_fabric(rng, "top"), bottom=bottom,
        bottom_fabric=bottom_fabric,
        length=length, outer=outer,
        outer_fabric=_fabric(rng, "outer") if outer != "none" else None,
        hair=hair, hair_color=HAIR_COLORS[int(rng.integers(len(HAIR_COLORS)))],
        shoes=shoes, shoe_color=SHOE_COLORS[int(rng.integers(len(SHOE_COLORS)))])


def design_outfits(n: int, seed: int = 0) -> List[Outfit]:
    """The first `n` outfits for `seed` (prefix-stable)."""
    if n < 1:
        raise ValueError(f"need at least one outfit, got {n}")
    return [draw_outfit(i, seed) for i in range(n)]
