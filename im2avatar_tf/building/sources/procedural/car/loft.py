"""Lofted bodies: superellipse cross-sections strung along the car's length (z), closed by two
flat end caps. Rounded and curved shapes that the classic boxes of boxes cannot make.

Each section at z has a bottom y0, a top y1 and a half-width w; its upper half is a
superellipse of exponent `p_top` (2 = round, large = square shoulders), its lower half of
exponent `p_bot`. WALL UVs: u runs around the section from the bottom centre (0) over the
right side (+x, 0.25), the top (0.5) and the left side (0.75) back to the bottom (1); v runs
along the length, rear (0) to front (1). Caps: planar (x, y) over their bounding box.
"""
from __future__ import annotations

import numpy as np

from ..parts import CAP0, CAP1, WALL, Part, grid_piece, merge_pieces


def stations(z0: float, z1: float, n: int = 36) -> np.ndarray:
    """n positions from z0 to z1, denser at both ends (where the shape rounds off)."""
    s = np.linspace(0.0, 1.0, n)
    return z0 + (z1 - z0) * (1 - np.cos(np.pi * s)) / 2


def section_angles(n: int = 32) -> np.ndarray:
    """The ring's parameter t from -pi/2 (bottom centre) once around, closed (n + 1 values)."""
    return np.linspace(-np.pi / 2, 1.5 * np.pi, n + 1)


def ring(t, y0, y1, w, p_top, p_bot, ym=None) -> tuple:
    """(x, y) of a section's ring at angles t (see `section_angles`); widest at height ym
    (default: halfway), the upper half spanning ym..y1, the lower y0..ym."""
    c, s = np.cos(t), np.sin(t)
    c, s = np.where(np.abs(c) < 1e-9, 0.0, c), np.where(np.abs(s) < 1e-9, 0.0, s)  # exact seam
    p = np.where(s > 0, p_top, p_bot)
    x = w * np.sign(c) * np.abs(c) ** (2 / p)
    ym = (y0 + y1) / 2 if ym is None else ym
    y = ym + np.where(s > 0, y1 - ym, ym - y0) * np.sign(s) * np.abs(s) ** (2 / p)
    return x, y


def loft(z, y0, y1, w, p_top=3.0, p_bot=6.0, around: int = 32, x0: float = 0.0, ym=None) -> Part:
    """A closed lofted body through sections at z (increasing) of bottom y0, top y1,
    half-width w, widest at height ym (default halfway; arrays like z, or scalars), centred on
    x = x0."""
    z = np.asarray(z, float)
    ym = (np.asarray(y0, float) + np.asarray(y1, float)) / 2 if ym is None else ym
    y0, y1, w, pt, pb, ym = (np.broadcast_to(np.asarray(a, float), z.shape)
                             for a in (y0, y1, w, p_top, p_bot, ym))
    t = section_angles(around)
    x, y = ring(t[None, :], y0[:, None], y1[:, None], w[:, None], pt[:, None], pb[:, None],
                ym[:, None])
    pts = np.stack([x + x0, y, np.broadcast_to(z[:, None], x.shape)], -1)  # (stations, around+1, 3)
    u = (t + np.pi / 2) / (2 * np.pi)
    v = (z - z[0]) / max(z[-1] - z[0], 1e-9)
    wall_uv = np.stack(np.broadcast_arrays(u[None, :], v[:, None]), -1)
    pieces = [grid_piece(pts, wall_uv, WALL)]
    for i, slot in ((0, CAP0), (-1, CAP1)):
        rim = pts[i]
        centre = np.broadcast_to(np.array([x0, ym[i], z[i]]), rim.shape)
        cap = np.stack([centre, rim])
        lo, span = rim.min(0), np.maximum(np.ptp(rim, 0), 1e-9)
        cap_uv = (cap[..., :2] - lo[:2]) / span[:2]
        pieces.append(grid_piece(cap, cap_uv, slot, flip=slot == CAP1))
    return merge_pieces(pieces)


def keyframes(z: np.ndarray, points, values) -> np.ndarray:
    """Smoothly interpolate values given at fractions `points` (0 rear .. 1 front) of z's span."""
    f = (z - z[0]) / max(z[-1] - z[0], 1e-9)
    lin = np.interp(f, points, values)
    k = np.searchsorted(points, f, side="right").clip(1, len(points) - 1)
    a, b = np.asarray(points)[k - 1], np.asarray(points)[k]
    s = np.clip((f - a) / np.maximum(b - a, 1e-9), 0, 1)
    smooth = np.asarray(values)[k - 1] + (np.asarray(values)[k] - np.asarray(values)[k - 1]) * (
        3 * s**2 - 2 * s**3)
    return 0.5 * lin + 0.5 * smooth
