"""Liveries of the lofted cars: paint, two-tone, stripes, racing numbers, sponsor blocks, checks.

The side of the car is painted on a *side canvas* (a tile in the usual U, V frame with U along
the car, V up its side, so `texture`'s painters write numbers upright), which `wall_tile` maps
onto a loft's wall (u around the section, v along the length, see `loft.py`), once for each
side so that numbers read left to right from both; stripes over the top are painted on the
wall directly.
"""
from __future__ import annotations

import numpy as np

from .. import texture as tx
from ..sampling import Sampler

LIVERIES = ("solid", "two_tone", "stripes", "side_stripe", "number", "sponsors", "racing",
            "gradient", "checks")
# weights per car type: racers mostly carry numbers and sponsors, road cars mostly plain paint
_WEIGHTS = {
    "road": (5, 1.5, 1, 1, 0.5, 0.5, 0.3, 0.8, 0.2),
    "racing": (0.5, 0.8, 1, 0.5, 1.5, 1.5, 4, 0.3, 0.4),
}
RACING_TYPES = ("touring", "open_wheel", "rally")


def sample(s: Sampler, kind: str) -> None:
    """Draw the livery and its colours into the params."""
    racing = kind in RACING_TYPES or (kind == "sports" and s.rng.random() < 0.35)
    livery = s.choice("livery", LIVERIES, _WEIGHTS["racing" if racing else "road"])
    paint = s.color("paint", "paint", light_p=0.1)
    s.color("secondary", "accent" if livery in ("stripes", "side_stripe") else "paint",
            light_p=0.25)
    for k in range(3):
        s.color(f"sponsor{k}", "accent" if k else "light")
    s.integer("number", 1, 99)
    s.uniform("two_tone_at", 0.35, 0.6)
    s.flag("number_box", 0.4)  # a square panel instead of a roundel
    s.set("sponsor_at", sorted(round(float(x), 3) for x in s.rng.uniform(0.12, 0.88, 3)))
    s.set("light_body", tx.is_light(paint))


def side_canvas(p: dict, aspect: float, seed: int) -> np.ndarray:
    """The side as seen from beside the car: U along it (reading direction), V up it."""
    c = p["colors"]
    paint, sec, liv = c["paint"], c["secondary"], p["livery"]
    img = tx.noise(tx.fill(paint), seed, 0.02)
    if liv in ("two_tone", "racing") and (liv == "two_tone" or p["number"] % 3 == 0):
        img[tx.V < p["two_tone_at"]] = tx.rgb(sec)
    if liv == "gradient":
        img = tx.gradient(tx.shade(paint, 0.45), paint, "v", 0.8)
    if liv in ("side_stripe", "racing") and (liv == "side_stripe" or p["number"] % 2 == 0):
        tx.rect(tx.rect(img, 0, 0.62, 1, 0.67, sec), 0, 0.56, 1, 0.58, sec)
    if liv == "checks":
        band = tx.checks([20, 20, 20], [240, 240, 235], 28, aspect=aspect * 0.12)
        m = (tx.V > 0.42) & (tx.V < 0.52)
        img[m] = band[m]
    if liv in ("sponsors", "racing"):
        for k, u in enumerate(p["sponsor_at"][: 2 if liv == "racing" else 3]):
            if liv == "racing" and abs(u - 0.5) < 0.2:
                u = u + 0.3 if u < 0.5 else u - 0.3  # leave the door to the number
            col = c[f"sponsor{k}"]
            w, h = 0.07 + 0.03 * k, 0.08
            tx.rect(img, u - w, 0.38, u + w, 0.38 + h, col)
            tx.rect(img, u - 0.8 * w, 0.405, u + 0.8 * w, 0.415, tx.contrast(col))  # "lettering"
            tx.rect(img, u - 0.5 * w, 0.43, u + 0.6 * w, 0.44, tx.contrast(col))
    if liv in ("number", "racing"):
        back = tx.contrast(paint)
        if p["number_box"]:
            tx.rect(img, 0.5 - 0.17 / aspect * 1.3, 0.4, 0.5 + 0.17 / aspect * 1.3, 0.74, back)
        else:
            tx.disc(img, 0.5, 0.57, 0.17, back, aspect=aspect)
        ink = sec if not tx.is_light(sec) and back[0] > 128 else tx.contrast(back)
        tx.number(img, p["number"], 0.5, 0.57, 0.2, ink, aspect=aspect)
    return img


def wall_tile(p: dict, canvas: np.ndarray, top_stripes: bool = True) -> np.ndarray:
    """A loft wall tile from the side canvas: the +x side reads towards -z, the -x side towards
    +z (both left to right seen from beside the car); `top_stripes`: the livery's stripes over
    the top."""
    t = 2 * np.pi * tx.U - np.pi / 2
    up = (1 + np.sin(t)) / 2
    along = np.where(np.cos(t) >= 0, 1 - tx.V, tx.V)
    n = canvas.shape[0] - 1
    img = canvas[np.round((1 - up) * n).astype(int), np.round(along * n).astype(int)].copy()
    if top_stripes and p["livery"] in ("stripes", "racing"):
        across = np.cos(t)
        on_top = np.sin(t) > 0.3
        sec = tx.rgb(p["colors"]["secondary"] if p["livery"] == "stripes" else
                     p["colors"]["sponsor0"])
        stripe = on_top & (((np.abs(across) > 0.05) & (np.abs(across) < 0.16)) |
                           ((p["livery"] == "stripes") & (np.abs(across) < 0.02)))
        img[stripe] = sec
    return img


def end_tile(p: dict, front: bool, seed: int) -> np.ndarray:
    """A loft's flat nose (grille, headlights) or tail (tail lights, a dark valance) cap."""
    c = p["colors"]
    img = tx.noise(tx.fill(c["paint"]), seed, 0.02)
    dark = tx.shade(c.get("trim", [30, 30, 32]), 1.0)
    if front:
        tx.rect(img, 0.3, 0.12, 0.7, 0.45, tx.shade(dark, 0.7))
        for u in (0.06, 0.76):
            tx.rect(img, u, 0.52, u + 0.18, 0.72, p["headlight"])
    else:
        tx.rect(img, 0.0, 0.0, 1.0, 0.16, dark)
        for u in (0.05, 0.75):
            tx.rect(img, u, 0.55, u + 0.2, 0.75, p["taillight"])
    return img
