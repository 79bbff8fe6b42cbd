"""The 16 named clothing styles of the human set (torch-free).

A style is a fixed outfit: the same style id always paints the same clothes on any body (the
skin tone is the body's own). Styles are written out by hand rather than drawn at random so
that together they cover every option the paper's set shows and the issue asks for:

* top: ``none`` (only under a dress), ``sleeveless``, ``short`` or ``long`` sleeves;
* bottom: ``shorts``, ``knee`` (knee-length trousers), ``long`` trousers, ``skirt``;
* a dress paints the torso and the skirt as one garment;
* shoes (low shoes or boots), a belt or none;
* hair: a color and a length region (``short``, ``medium``, ``long``; ``bald`` = none);
* patterns: ``solid``, ``stripes``, ``checks``, ``gradient``, ``dots`` (small prints), ``logo``.

Clothing is painted on the body surface (texture only): a skirt has no volume of its own.
Colors are sRGB 0-255.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import List, Optional, Tuple

RGB = Tuple[int, int, int]

TOPS = ("none", "sleeveless", "short", "long")
BOTTOMS = ("shorts", "knee", "long", "skirt")
PATTERNS = ("solid", "stripes", "checks", "gradient", "dots", "logo")
HAIR = ("bald", "short", "medium", "long")
SHOES = ("shoes", "boots")


@dataclass(frozen=True)
class Garment:
    """A painted garment: pattern over two colors (`colors[1]` is the pattern's second color,
    unused by `solid`)."""

    pattern: str
    colors: Tuple[RGB, RGB]

    def __post_init__(self):
        if self.pattern not in PATTERNS:
            raise ValueError(f"unknown pattern {self.pattern!r}; choose from {PATTERNS}")


@dataclass(frozen=True)
class Style:
    """One outfit. `top` is ``none`` exactly when `dress` is set (the dress is the top)."""

    name: str
    top: str
    bottom: str
    upper: Garment  # the top, or the dress
    lower: Garment  # trousers / shorts / skirt (ignored for a dress: it continues `upper`)
    shoes: str
    shoe_color: RGB
    hair: str
    hair_color: RGB
    dress: bool = False
    belt: Optional[RGB] = None

    def __post_init__(self):
        if self.top not in TOPS or self.bottom not in BOTTOMS:
            raise ValueError(f"style {self.name}: bad top/bottom {self.top}/{self.bottom}")
        if (self.top == "none") != self.dress:
            raise ValueError(f"style {self.name}: top 'none' goes with a dress and only then")
        if self.dress and self.bottom not in ("skirt", "knee"):
            raise ValueError(f"style {self.name}: a dress ends as a skirt")
        if self.shoes not in SHOES or self.hair not in HAIR:
            raise ValueError(f"style {self.name}: bad shoes/hair {self.shoes}/{self.hair}")

    def to_dict(self) -> dict:
        return asdict(self)


# Named colors, to keep the table readable.
WHITE, BLACK, NAVY, RED = (236, 236, 232), (28, 28, 30), (30, 44, 92), (190, 30, 38)
DENIM, KHAKI, OLIVE, GRAY = (58, 86, 132), (186, 164, 118), (92, 98, 52), (128, 128, 130)
YELLOW, GREEN, SKY, PINK = (236, 196, 48), (40, 140, 72), (110, 170, 220), (226, 120, 160)
ORANGE, PURPLE, BROWN, TEAL = (234, 120, 32), (110, 60, 140), (104, 66, 40), (24, 128, 128)
CREAM, MAROON, CHARCOAL, MINT = (240, 228, 196), (110, 24, 40), (58, 60, 64), (160, 220, 190)
HAIR_BLACK, HAIR_DARK, HAIR_BROWN = (22, 18, 16), (52, 34, 22), (102, 66, 36)
HAIR_BLOND, HAIR_RED, HAIR_GRAY = (206, 170, 100), (150, 62, 28), (176, 172, 166)


def _g(pattern: str, a: RGB, b: RGB = WHITE) -> Garment:
    return Garment(pattern, (a, b))


STYLES: Tuple[Style, ...] = (
    Style("white-tee-jeans", "short", "long", _g("solid", WHITE), _g("solid", DENIM),
          "shoes", WHITE, "short", HAIR_BROWN, belt=BROWN),
    Style("red-stripes-shorts", "short", "shorts", _g("stripes", RED, WHITE), _g("solid", KHAKI),
          "shoes", NAVY, "short", HAIR_BLACK),
    Style("navy-long-chinos", "long", "long", _g("solid", NAVY), _g("solid", KHAKI),
          "shoes", BROWN, "medium", HAIR_DARK, belt=BLACK),
    Style("yellow-dress-dots", "none", "skirt", _g("dots", YELLOW, WHITE), _g("solid", YELLOW),
          "shoes", RED, "long", HAIR_BLOND, dress=True),
    Style("green-checks-shirt", "long", "long", _g("checks", GREEN, CREAM), _g("solid", CHARCOAL),
          "boots", BROWN, "short", HAIR_RED),
    Style("sky-tank-skirt", "sleeveless", "skirt", _g("solid", SKY), _g("stripes", NAVY, WHITE),
          "shoes", WHITE, "long", HAIR_BROWN),
    Style("orange-logo-tee", "short", "knee", _g("logo", ORANGE, WHITE), _g("solid", OLIVE),
          "shoes", GRAY, "bald", HAIR_BLACK),
    Style("purple-gradient-sweater", "long", "long", _g("gradient", PURPLE, PINK),
          _g("solid", BLACK), "boots", BLACK, "medium", HAIR_BLACK),
    Style("black-tank-shorts", "sleeveless", "shorts", _g("solid", BLACK), _g("checks", RED, BLACK),
          "shoes", RED, "short", HAIR_BLOND),
    Style("teal-dress-stripes", "none", "knee", _g("stripes", TEAL, MINT), _g("solid", TEAL),
          "boots", CHARCOAL, "medium", HAIR_DARK, dress=True),
    Style("pink-tee-skirt", "short", "skirt", _g("solid", PINK), _g("dots", NAVY, WHITE),
          "shoes", BLACK, "long", HAIR_BLACK),
    Style("maroon-gradient-knee", "sleeveless", "knee", _g("gradient", MAROON, ORANGE),
          _g("solid", DENIM), "shoes", WHITE, "short", HAIR_GRAY),
    Style("gray-logo-hoodie", "long", "shorts", _g("logo", GRAY, YELLOW), _g("solid", NAVY),
          "shoes", ORANGE, "short", HAIR_DARK),
    Style("cream-checks-knee", "short", "knee", _g("checks", CREAM, BROWN), _g("stripes", BROWN, CREAM),
          "boots", BROWN, "medium", HAIR_BROWN),
    Style("mint-dots-trousers", "long", "long", _g("dots", MINT, CHARCOAL), _g("gradient", GRAY, BLACK),
          "shoes", CHARCOAL, "long", HAIR_RED),
    Style("white-red-skirt-suit", "long", "skirt", _g("stripes", WHITE, NAVY), _g("solid", RED),
          "shoes", BLACK, "medium", HAIR_GRAY, belt=BLACK),
)
assert len({s.name for s in STYLES}) == len(STYLES) == 16


def style(index: int) -> Style:
    """Style by 0-based id; a clear error past the table."""
    if not 0 <= index < len(STYLES):
        raise ValueError(f"style id {index} out of range: there are {len(STYLES)} styles (0-{len(STYLES) - 1})")
    return STYLES[index]


def coverage() -> dict:
    """Which options the table covers (for docs and tests)."""
    pats = {s.upper.pattern for s in STYLES} | {s.lower.pattern for s in STYLES if not s.dress}
    return {
        "tops": sorted({s.top for s in STYLES}),
        "bottoms": sorted({s.bottom for s in STYLES}),
        "patterns": sorted(pats),
        "hair": sorted({s.hair for s in STYLES}),
        "shoes": sorted({s.shoes for s in STYLES}),
    }


def names(count: Optional[int] = None) -> List[str]:
    return [s.name for s in STYLES[:count]]
