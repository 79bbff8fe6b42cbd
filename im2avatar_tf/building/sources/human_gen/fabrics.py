"""Real-looking fabric colors as functions of 3D position in meters (torch-free numpy).

A `Fabric` is a kind and two colors. `color(fabric, pos)` gives the RGB of the fabric at
surface points `pos` (N, 3), so a garment painted in anny's UV layout (through each texel's
canonical position) and a garment mesh (through its vertices' positions) wear the same cloth,
and prints continue across UV seams. `tile` renders a flat square of it for the meshes that
carry their own texture (skirts, seats, bags); their UVs count tiles, wrapped when sampled.

What makes them look like cloth at the dataset's scale (128 px views: a pixel is about 1.5 cm
of a person) is mid-scale structure, not thread detail: mottled dye (value noise), fading
(denim lighter on the front of the thighs is left out: no normals here), wales, cable knit
ribs, tartan bands, a print of small flowers / dots, leather sheen noise, tweed flecks.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Tuple

import numpy as np

RGB = Tuple[int, int, int]
KINDS = ("denim", "jersey", "knit", "plaid", "stripes", "print", "leather", "tweed",
         "corduroy", "linen", "wood", "plastic", "cardboard", "hair")


@dataclass(frozen=True)
class Fabric:
    kind: str
    colors: Tuple[RGB, RGB]  # main color, second color (bands, print, flecks)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown fabric {self.kind!r}; choose from {KINDS}")

    def to_dict(self) -> dict:
        return asdict(self)


def _hash(ix, iy, iz, seed):
    h = (ix * 73856093) ^ (iy * 19349663) ^ (iz * 83492791) ^ (seed * 2654435761)
    h = (h ^ (h >> 13)) * 1274126177
    return ((h ^ (h >> 16)) & 0xFFFF).astype(np.float64) / 65535.0


def value_noise(pos: np.ndarray, cell: float, seed: int = 0) -> np.ndarray:
    """Smooth 3D value noise in [0, 1] with lattice spacing `cell` (meters); (N,)."""
    p = pos / cell
    i = np.floor(p).astype(np.int64)
    f = p - i
    f = f * f * (3 - 2 * f)
    out = np.zeros(len(p))
    for dx in (0, 1):
        for dy in (0, 1):
            for dz in (0, 1):
                w = (np.where(dx, f[:, 0], 1 - f[:, 0]) * np.where(dy, f[:, 1], 1 - f[:, 1])
                     * np.where(dz, f[:, 2], 1 - f[:, 2]))
                out += w * _hash(i[:, 0] + dx, i[:, 1] + dy, i[:, 2] + dz, seed)
    return out


def _fbm(pos, cell, seed, octaves=3):
    total, amp, norm = 0.0, 1.0, 0.0
    for o in range(octaves):
        total = total + amp * value_noise(pos, cell / 2 ** o, seed + o)
        norm += amp
        amp *= 0.5
    return total / norm


def color(fabric: Fabric, pos: np.ndarray, seed: int = 0) -> np.ndarray:
    """(N, 3) RGB in [0, 1] of `fabric` at points `pos` (N, 3) in meters."""
    a = np.asarray(fabric.colors[0], np.float64) / 255.0
    b = np.asarray(fabric.colors[1], np.float64) / 255.0
    pos = np.asarray(pos, np.float64)
    x, y, z = pos.T
    k = fabric.kind
    mottle = _fbm(pos, 0.06, seed) - 0.5  # dye and light variation, +-0.5
    mix = np.zeros(len(pos))
    shade = 1.0 + 0.12 * mottle
    if k == "denim":  # diagonal twill (visible as a faint grain) over a faded indigo
        twill = 0.5 + 0.5 * np.sin(2 * np.pi * (z + 0.6 * (x + y)) / 0.006)
        mix = np.clip(0.25 * twill + 0.5 * (value_noise(pos, 0.12, seed + 5) - 0.35), 0, 1)
        shade = 1.0 + 0.18 * mottle
    elif k == "jersey":
        shade = 1.0 + 0.08 * mottle
    elif k == "knit":  # vertical cable ribs, 1.6 cm apart
        rib = 0.5 + 0.5 * np.cos(2 * np.pi * (x + y) / 0.016)
        shade = 0.88 + 0.16 * rib + 0.08 * mottle
    elif k == "plaid":  # tartan: bands in the three axes, a thin accent line
        def band(t, period, width):
            return (np.mod(t / period, 1.0) < width).astype(np.float64)
        mix = np.clip(0.5 * band(z, 0.09, 0.35) + 0.5 * band(x + y, 0.09, 0.35)
                      + 0.6 * band(z + 0.03, 0.09, 0.06), 0, 1)
        shade = 1.0 + 0.08 * mottle
    elif k == "stripes":  # breton / shirting: horizontal bands of a random-ish width
        mix = (np.mod(z / 0.045, 1.0) < 0.4).astype(np.float64)
    elif k == "print":  # small flowers / dots in the second color on a jittered lattice
        cell = 0.045
        q = pos / cell
        i = np.floor(q)
        jitter = np.stack([_hash(i[:, 0].astype(np.int64), i[:, 1].astype(np.int64),
                                 i[:, 2].astype(np.int64), seed + d) for d in range(3)], 1)
        d = np.linalg.norm((q - i - 0.25 - 0.5 * jitter) * cell, axis=1)
        mix = (d < 0.011).astype(np.float64)
    elif k == "leather":
        shade = 0.85 + 0.3 * _fbm(pos, 0.02, seed, 2) + 0.1 * mottle
    elif k == "tweed":  # flecks of the second color
        fleck = value_noise(pos, 0.006, seed + 3)
        mix = (fleck > 0.78).astype(np.float64) * 0.8
        shade = 1.0 + 0.2 * mottle
    elif k == "corduroy":  # vertical wales, 4 mm
        wale = 0.5 + 0.5 * np.cos(2 * np.pi * (x + y) / 0.008)
        shade = 0.85 + 0.2 * wale + 0.1 * mottle
    elif k == "linen":  # slubby: streaks along z
        slub = value_noise(pos * np.array([1.0, 1.0, 0.15]), 0.01, seed + 7)
        shade = 0.92 + 0.14 * slub + 0.06 * mottle
    elif k == "wood":  # grain along x
        grain = np.sin(2 * np.pi * (y + z + 0.02 * value_noise(pos, 0.05, seed)) / 0.012)
        mix = 0.5 + 0.5 * grain
        mix = mix * 0.5
        shade = 1.0 + 0.1 * mottle
    elif k == "plastic":
        shade = 1.0 + 0.04 * mottle
    elif k == "cardboard":
        shade = 1.0 + 0.1 * mottle
    elif k == "hair":  # strands along the head's vertical, with lighter and darker locks
        strand = value_noise(pos * np.array([1.0, 1.0, 0.1]), 0.004, seed + 11)
        shade = 0.8 + 0.4 * strand + 0.1 * mottle
    rgb = (1 - mix)[:, None] * a + mix[:, None] * b
    return np.clip(rgb * shade[:, None], 0.0, 1.0)


def tile(fabric: Fabric, size: int = 128, meters: float = 0.25, seed: int = 0) -> np.ndarray:
    """(size, size, 3) uint8: a flat `meters`-wide square of `fabric` (its u along x, its v
    along z, front plane y = 0); periodic enough for wrapped UVs at 128 px views."""
    s = (np.arange(size) + 0.5) / size * meters
    u, v = np.meshgrid(s, s[::-1])
    pos = np.c_[u.ravel(), np.zeros(u.size), v.ravel()]
    return np.round(color(fabric, pos, seed).reshape(size, size, 3) * 255).astype(np.uint8)
