"""Parts every car type shares: wheels (tyre and rim texture), rear wings, ducktails, splitters,
roof bars. Units are metres; y up, front toward +z, width along x."""
from __future__ import annotations

import numpy as np

from .. import texture as tx
from ..parts import CAP0, CAP1, WALL, Assembly, box, cylinder
from ..sampling import Sampler


def wheel_tiles(a: Assembly, p: dict, seed: int) -> dict:
    c = p["colors"]
    rad = np.hypot(tx.U - 0.5, tx.V - 0.5) * 2
    ang = np.arctan2(tx.V - 0.5, tx.U - 0.5)
    face = tx.fill(c["tire"])
    rim = p["rim_size"]
    face[rad < rim] = tx.rgb(c["rim"])
    holes = (rad < rim * 0.85) & (rad > 0.3) & (np.cos(ang * p["spokes"]) < -0.2)
    face[holes] = tx.rgb(tx.shade(c["tire"], 0.7))
    face[rad < 0.15] = tx.rgb(tx.shade(c["rim"], 0.7))
    tread = tx.stripes(c["tire"], tx.shade(c["tire"], 1.6), 36, "u", 0.3)
    return {CAP0: a.tile("wheel_face", face), CAP1: "wheel_face", WALL: a.tile("tire", tx.noise(tread, seed, 0.05))}



def sample_wheels(s: Sampler, spokes=(4, 10)) -> None:
    """Tyre and rim looks (the sizes belong to each type)."""
    s.integer("spokes", *spokes)
    s.uniform("rim_size", 0.55, 0.8)
    s.color("tire", "dark")
    s.color("rim", "chrome" if s.rng.random() < 0.6 else "dark" if s.rng.random() < 0.6 else "accent")
    s.color("trim", "dark" if s.rng.random() < 0.8 else "chrome")
    s.set("headlight", tx.shade(tx.color(s.rng, "light"), 1.02))
    s.set("taillight", [int(s.rng.integers(170, 230)), int(s.rng.integers(10, 50)), int(s.rng.integers(10, 40))])


def add_wheels(a: Assembly, tiles: dict, axles, segments: int = 28) -> None:
    """axles: (z, radius, tyre width, x of the tyre's outer face) per axle; two wheels each."""
    for z, radius, width, x_out in axles:
        for sx in (-1, 1):
            a.add("wheel", cylinder(radius, sx * (x_out - width), sx * x_out, axis="x", segments=segments,
                                    center=(0, radius, z)), tiles)


def add_wing(a: Assembly, tile: str, z: float, y: float, span: float, chord: float, height: float,
             y_base: float, endplates: bool) -> None:
    """A rear wing: a flat blade of `span` x `chord` at height y on two struts down to y_base."""
    a.add("wing", box((span, 0.04, chord), (0, y, z), caps="y"), tile)
    h = max(y - y_base, 0.04)
    for sx in (-1, 1):
        a.add("wing", box((0.04, h + 0.02, min(0.12, chord)), (sx * span * 0.3, y_base + h / 2, z), caps="x"), tile)
        if endplates:
            a.add("wing", box((0.02, 0.16, chord * 1.1), (sx * span / 2, y, z), caps="x"), tile)


def add_splitter(a: Assembly, tile: str, z_front: float, y: float, width: float, depth: float) -> None:
    """A thin plate under the nose, sticking out ahead of it."""
    a.add("splitter", box((width, 0.03, depth), (0, y, z_front - depth / 2 + 0.06), caps="y"), tile)


def add_ducktail(a: Assembly, tile: str, z_rear: float, y: float, width: float) -> None:
    a.add("spoiler", box((width, 0.07, 0.18), (0, y, z_rear + 0.14), caps="y"), tile)


def trim_tile(a: Assembly, p: dict, seed: int) -> str:
    return a.tile("trim", tx.noise(tx.fill(p["colors"]["trim"]), seed, 0.03))
