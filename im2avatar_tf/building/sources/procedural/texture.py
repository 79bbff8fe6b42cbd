"""Texture atlas, tile painters (stripes, checks, gradients, wood, emblems, digits) and palettes.

A tile is a (T, T, 3) float array in [0, 1]. Painters work in the tile's own UV frame: ``U`` grows
left to right, ``V`` bottom to top (trimesh's convention: v = 0 is the bottom row of the image), so
a part whose v runs along +y shows "vertical" gradients the right way up.
"""

from __future__ import annotations

import colorsys

import numpy as np

from ....images import to_uint8

TILE = 128
_PAD = 3  # pixels between a tile's edge and its UV rectangle, against bleeding when sampling


class Atlas:
    """Named square tiles packed row-major into one image."""

    def __init__(self, tile_px: int = TILE):
        self.tile_px = tile_px
        self._names: list[str] = []
        self._images: list[np.ndarray] = []

    def add(self, name: str, image: np.ndarray) -> None:
        if name in self._names:
            raise ValueError(f"duplicate tile {name!r}")
        assert image.shape == (self.tile_px, self.tile_px, 3), image.shape
        self._names.append(name)
        self._images.append(image)

    def pack(self) -> tuple[np.ndarray, dict[str, tuple[float, float, float, float]]]:
        """Return the uint8 atlas (H, W, 3) and each tile's UV rectangle (u0, v0, u1, v1)."""
        t, n = self.tile_px, len(self._images)
        cols = int(np.ceil(np.sqrt(n)))
        rows = int(np.ceil(n / cols))
        h, w = rows * t, cols * t
        atlas = np.zeros((h, w, 3), np.uint8)
        rects = {}
        for k, (name, img) in enumerate(zip(self._names, self._images)):
            r, c = divmod(k, cols)
            atlas[r * t : (r + 1) * t, c * t : (c + 1) * t] = to_uint8(img)
            # pixel centres x = u * (w - 1) (trimesh's uv_to_color), v = 0 at the bottom row
            x0, x1 = c * t + _PAD, (c + 1) * t - 1 - _PAD
            y0, y1 = r * t + _PAD, (r + 1) * t - 1 - _PAD  # image rows, top to bottom
            rects[name] = (x0 / (w - 1), 1 - y1 / (h - 1), x1 / (w - 1), 1 - y0 / (h - 1))
        return atlas, rects


# ----------------------------------------------------------------------------- tile painters
def uv_grid(t: int = TILE) -> tuple[np.ndarray, np.ndarray]:
    """U, V coordinates of each tile pixel centre; V = 1 at the top row."""
    c = (np.arange(t) + 0.5) / t
    return np.meshgrid(c, 1 - c)


U, V = uv_grid()


def rgb(c) -> np.ndarray:
    """Colour from 0-255 ints (as stored in params) to floats."""
    return np.asarray(c, float) / 255.0


def fill(c) -> np.ndarray:
    return np.broadcast_to(rgb(c), (TILE, TILE, 3)).copy()


def mix(a, b, t) -> np.ndarray:
    t = np.asarray(t, float)[..., None]
    return rgb(a) * (1 - t) + rgb(b) * t


def stripes(c1, c2, count: float, axis: str = "v", duty: float = 0.5, offset: float = 0.0) -> np.ndarray:
    s = {"u": U, "v": V, "d": (U + V) / 2}[axis]
    return mix(c1, c2, ((s * count + offset) % 1.0) < duty)


def checks(c1, c2, n: int, aspect: float = 1.0) -> np.ndarray:
    """n checks along u; along v as many as keep them square on a part of ``aspect`` = width / height."""
    nv = max(1, round(n / aspect))
    return mix(c1, c2, (np.floor(U * n) + np.floor(V * nv)) % 2)


def gradient(c1, c2, axis: str = "v", power: float = 1.0) -> np.ndarray:
    s = {"u": U, "v": V}[axis]
    return mix(c1, c2, s**power)


def wood(base, dark, seed: int, axis: str = "u", rings: float = 9.0) -> np.ndarray:
    """Wood grain: wavy bands running along ``axis`` (the board's length)."""
    rng = np.random.default_rng(seed)
    along, across = (U, V) if axis == "u" else (V, U)
    ph = rng.uniform(0, 2 * np.pi, 3)
    warp = 0.05 * np.sin(along * 5 + ph[0]) + 0.02 * np.sin(along * 13 + ph[1])
    g = 0.5 + 0.5 * np.sin((across + warp) * rings * 2 * np.pi + ph[2])
    streaks = rng.random((TILE, 1)) if axis == "u" else rng.random((1, TILE))  # constant along the grain
    g = g**3 + 0.15 * streaks
    return mix(base, dark, np.clip(0.55 * g, 0, 1))


def noise(img: np.ndarray, seed: int, amount: float = 0.03) -> np.ndarray:
    """Fine speckle (fabric, paint); amount is the std of a per-pixel brightness factor."""
    rng = np.random.default_rng(seed)
    return np.clip(img * (1 + amount * rng.standard_normal((TILE, TILE, 1))), 0, 1)


def rect(img, u0, v0, u1, v1, c) -> np.ndarray:
    m = (U >= u0) & (U <= u1) & (V >= v0) & (V <= v1)
    img[m] = rgb(c)
    return img


def disc(img, cu, cv, r, c, aspect: float = 1.0, inner: float = 0.0) -> np.ndarray:
    """Filled disc (or ring when inner > 0) of radius r in v units; aspect = tile width / height of the part."""
    d = np.hypot((U - cu) * aspect, V - cv)
    img[(d <= r) & (d >= inner)] = rgb(c)
    return img


def star(img, cu, cv, r, c, aspect: float = 1.0, points: int = 5) -> np.ndarray:
    x, y = (U - cu) * aspect, V - cv
    ang = np.arctan2(x, y)
    rad = np.hypot(x, y)
    k = np.abs(((ang * points / (2 * np.pi)) % 1.0) - 0.5) * 2  # 1 at tips, 0 between
    img[rad <= r * (0.45 + 0.55 * k)] = rgb(c)
    return img


_SEGMENTS = {  # seven-segment digits: a b c d e f g
    0: "abcdef", 1: "bc", 2: "abdeg", 3: "abcdg", 4: "bcfg", 5: "acdfg", 6: "acdefg", 7: "abc", 8: "abcdefg", 9: "abcdfg",
}


def digit(img, d: int, cu, cv, h, c, aspect: float = 1.0) -> np.ndarray:
    """A seven-segment digit of height h (v units) centred at (cu, cv)."""
    w, s = 0.55 * h / aspect, 0.14 * h  # width in u units, stroke in v units
    su = s / aspect
    x0, x1, y0, y1, ym = cu - w / 2, cu + w / 2, cv - h / 2, cv + h / 2, cv
    seg = {
        "a": (x0, y1 - s, x1, y1), "g": (x0, ym - s / 2, x1, ym + s / 2), "d": (x0, y0, x1, y0 + s),
        "f": (x0, ym, x0 + su, y1), "b": (x1 - su, ym, x1, y1), "e": (x0, y0, x0 + su, ym), "c": (x1 - su, y0, x1, ym),
    }
    for k in _SEGMENTS[int(d) % 10]:
        rect(img, *seg[k], c)
    return img


def number(img, value: int, cu, cv, h, c, aspect: float = 1.0) -> np.ndarray:
    text = str(int(value))
    step = 0.75 * h / aspect
    start = cu - step * (len(text) - 1) / 2
    for i, ch in enumerate(text):
        digit(img, int(ch), start + i * step, cv, h, c, aspect)
    return img


# ----------------------------------------------------------------------------- colours
# Hue ranges / saturation / value for the colour families; colours are stored as 0-255 ints.
_PAINTS = {  # name: (hue, sat, val, weight)
    "red": ((0.97, 1.02), (0.65, 0.95), (0.55, 0.9), 3),
    "blue": ((0.57, 0.67), (0.55, 0.95), (0.35, 0.85), 3),
    "black": ((0.0, 1.0), (0.0, 0.2), (0.06, 0.18), 2),
    "gray": ((0.55, 0.65), (0.02, 0.12), (0.35, 0.65), 2),
    "green": ((0.25, 0.42), (0.45, 0.85), (0.3, 0.7), 2),
    "yellow": ((0.12, 0.16), (0.75, 1.0), (0.75, 0.95), 1),
    "orange": ((0.05, 0.09), (0.75, 1.0), (0.75, 0.95), 1),
    "teal": ((0.45, 0.52), (0.5, 0.9), (0.4, 0.75), 1),
    "purple": ((0.75, 0.85), (0.4, 0.8), (0.3, 0.7), 1),
    "brown": ((0.05, 0.1), (0.5, 0.8), (0.25, 0.5), 1),
}


def _hsv(h, s, v) -> list[int]:
    return [int(round(255 * x)) for x in colorsys.hsv_to_rgb(h % 1.0, s, v)]


def color(rng: np.random.Generator, kind: str, light_p: float = 0.06) -> list[int]:
    """Sample an RGB colour (0-255) of a family.

    kind: "paint" (saturated car/guitar paints, some black and gray; white/cream only with
    probability ``light_p``, since white objects vanish on the near-white background), "wood",
    "fabric", "metal", "chrome", "dark", "light", "glass", "accent" (bright, for stripes/logos).
    """
    if kind in ("paint", "fabric") and rng.random() < light_p:
        kind = "light"
    if kind == "paint":
        names = list(_PAINTS)
        w = np.array([_PAINTS[n][3] for n in names], float)
        h, s, v, _ = _PAINTS[names[rng.choice(len(names), p=w / w.sum())]]
        return _hsv(rng.uniform(*h), rng.uniform(*s), rng.uniform(*v))
    if kind == "fabric":
        return _hsv(rng.random(), rng.uniform(0.25, 0.8), rng.uniform(0.25, 0.75))
    if kind == "wood":
        return _hsv(rng.uniform(0.05, 0.1), rng.uniform(0.45, 0.75), rng.uniform(0.3, 0.75))
    if kind == "metal":
        return _hsv(rng.uniform(0.55, 0.65), rng.uniform(0.0, 0.1), rng.uniform(0.2, 0.55))
    if kind == "chrome":
        return _hsv(0.6, rng.uniform(0.0, 0.06), rng.uniform(0.6, 0.78))
    if kind == "dark":
        return _hsv(rng.random(), rng.uniform(0.0, 0.3), rng.uniform(0.05, 0.18))
    if kind == "light":
        return _hsv(rng.uniform(0.08, 0.16), rng.uniform(0.03, 0.2), rng.uniform(0.85, 0.96))
    if kind == "glass":
        return _hsv(rng.uniform(0.5, 0.65), rng.uniform(0.2, 0.5), rng.uniform(0.12, 0.3))
    if kind == "accent":
        return _hsv(rng.random(), rng.uniform(0.7, 1.0), rng.uniform(0.8, 1.0))
    raise ValueError(kind)


def contrast(c) -> list[int]:
    """A colour that stands out on c: near-black on light colours, near-white on dark ones."""
    lum = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
    return [25, 25, 28] if lum > 140 else [235, 232, 220]


def shade(c, k: float) -> list[int]:
    """Darken (k < 1) or lighten (k > 1) a colour."""
    return [int(np.clip(round(x * k), 0, 255)) for x in c]


def is_light(c, threshold: int = 215) -> bool:
    """Near-white: every channel above the threshold (blends into the (245,245,245) background)."""
    return min(c) > threshold
