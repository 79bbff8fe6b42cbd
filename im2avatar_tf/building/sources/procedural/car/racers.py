"""Racers with the wheels out in the open: the open-wheel single-seater (a lofted monocoque
from gearbox to nose, sidepods, front and rear wings, a helmet in the cockpit, suspension arms)
and the off-road buggy (a rounded tub high on big wheels, a tube roll cage, the engine out at
the back). Units are metres; y up, front toward +z, width along x.
"""
from __future__ import annotations

import numpy as np

from .. import texture as tx
from ..parts import CAP0, CAP1, WALL, Assembly, box, rod, sphere
from ..sampling import Sampler
from . import details, livery
from .loft import keyframes, loft, stations

KINDS = ("open_wheel", "buggy")
_RANGES = {
    "open_wheel": dict(wheelbase=(2.7, 3.3), overhang_front=(0.65, 0.95), overhang_rear=(0.55, 0.8),
                       track=(1.7, 2.0), wheel_front=(0.28, 0.33), wheel_rear=(0.31, 0.36),
                       tire_front=(0.25, 0.32), tire_rear=(0.34, 0.42), clear=(0.04, 0.08),
                       cockpit=(0.55, 0.7), airbox=(0.8, 1.05), nose=(0.22, 0.42), mono=(0.3, 0.42),
                       pod=(0.5, 0.72), pod_height=(0.4, 0.58), wing_front=(0.85, 1.0), chord_front=(0.28, 0.42),
                       wing_rear=(0.85, 1.0), chord_rear=(0.3, 0.45), wing_span=(0.8, 1.0), p_top=(2.2, 3.5)),
    "buggy": dict(L=(3.2, 4.0), W=(1.55, 1.85), clear=(0.3, 0.45), wheel=(0.36, 0.46), tire_width=(0.28, 0.38),
                  wheel_out=(0.05, 0.2), overhang_front=(0.12, 0.2), overhang_rear=(0.1, 0.18),
                  tub=(0.35, 0.55), cage=(1.25, 1.55), tube=(0.03, 0.045), p_top=(2.0, 4.0), plan=(0.55, 0.85),
                  nose_drop=(0.1, 0.3)),
}


def sample(s: Sampler, kind: str) -> dict:
    for key, (lo, hi) in _RANGES[kind].items():
        s.uniform(key, lo, hi)
    if kind == "open_wheel":  # overall length and width, as the other types record them
        s.set("L", round(s.params["overhang_front"] + s.params["wheelbase"] + s.params["overhang_rear"], 4))
        s.set("W", s.params["track"])
    if kind == "buggy":
        s.flag("cage_diagonal", 0.6)
        s.flag("spare_wheel", 0.4)
    details.sample_wheels(s)
    livery.sample(s, "open_wheel" if kind == "open_wheel" else "rally")
    s.color("helmet", "accent")
    s.color("frame", "accent" if s.rng.random() < 0.4 else "dark")
    s.integer("texture_seed", 0, 2**31 - 1)
    return s.params


def build(p: dict) -> Assembly:
    return _open_wheel(p) if p["type"] == "open_wheel" else _buggy(p)


def _painted(a: Assembly, p: dict, name: str, length: float, height: float, seed: int, cockpit=None) -> dict:
    canvas = livery.side_canvas(p, aspect=length / max(2 * height, 0.3), seed=seed)
    wall = livery.wall_tile(p, canvas)
    if cockpit is not None:  # a dark opening over the top between these fractions of the length
        t = 2 * np.pi * tx.U - np.pi / 2
        m = (np.sin(t) > 0.55) & (tx.V > cockpit[0]) & (tx.V < cockpit[1])
        wall[m] = tx.rgb([25, 25, 28])
    end = tx.fill(p["colors"]["paint"])
    return {WALL: a.tile(name, wall), CAP0: a.tile(name + "_end", end), CAP1: name + "_end"}


def _open_wheel(p: dict) -> Assembly:
    a = Assembly()
    seed = p["texture_seed"]
    zf = p["overhang_front"] + p["wheelbase"] / 2
    zr = zf - p["wheelbase"]
    z_nose, z_tail = zf + p["overhang_front"], zr - p["overhang_rear"]
    L = z_nose - z_tail
    z = stations(z_tail + 0.15, z_nose, 44)
    #            gearbox  engine  airbox  cockpit  bulkhead  nose tip
    at = [0.0, 0.22, 0.4, 0.52, 0.72, 1.0]
    top = keyframes(z, at, [0.42, p["airbox"] * 0.72, p["airbox"], p["cockpit"], p["cockpit"] * 0.85, p["nose"]])
    bottom = keyframes(z, at, [0.14, p["clear"] + 0.04, p["clear"] + 0.04, p["clear"] + 0.04, p["clear"] + 0.1,
                               p["nose"] - 0.14])
    width = keyframes(z, at, [0.14, 0.26, 0.24, p["mono"], p["mono"] * 0.7, 0.09])
    f_cockpit = ((0.5 * L) / L, 0.62)  # fractions of the monocoque's length
    a.add("monocoque", loft(z, bottom, top, width, p["p_top"], 4.0),
          _painted(a, p, "monocoque", L, p["cockpit"], seed, cockpit=f_cockpit))
    zp = stations(zr + 0.45, zf - 0.75, 20)
    pod_w = keyframes(zp, [0, 0.2, 0.75, 1], [0.3, p["pod"] * 0.9, p["pod"], p["pod"] * 0.6])
    pod_top = keyframes(zp, [0, 0.3, 1], [0.3, p["pod_height"], p["pod_height"] * 0.9])
    a.add("sidepods", loft(zp, p["clear"] + 0.05, pod_top, pod_w, 3.0, 6.0),
          _painted(a, p, "sidepods", zp[-1] - zp[0], p["pod_height"], seed + 1))
    z_cockpit = z[0] + (f_cockpit[0] + f_cockpit[1]) / 2 * (z[-1] - z[0])
    a.add("helmet", sphere(0.13, (0, p["cockpit"] + 0.06, z_cockpit - 0.05), segments=16),
          a.tile("helmet", tx.stripes(p["colors"]["helmet"], tx.shade(p["colors"]["helmet"], 0.4), 3, "v", 0.75)))

    wheel = details.wheel_tiles(a, p, seed + 2)
    half = p["track"] / 2
    details.add_wheels(a, wheel, [(zf, p["wheel_front"], p["tire_front"], half),
                                  (zr, p["wheel_rear"], p["tire_rear"], half)])
    trim = details.trim_tile(a, p, seed + 3)
    # no part wears it, but its place in the atlas keeps built datasets' textures unchanged
    a.tile("frame", tx.fill(p["colors"]["frame"]))
    for zw, R, tw in ((zf, p["wheel_front"], p["tire_front"]), (zr, p["wheel_rear"], p["tire_rear"])):
        for sx in (-1, 1):  # wishbones: body to hub, upper and lower
            for dy in (-0.08, 0.08):
                a.add("suspension", rod((sx * 0.2, R + dy, zw - 0.15 * np.sign(zw)), (sx * (half - tw + 0.02), R + dy, zw),
                                        0.02), trim)
    wing = a.tile("wings", tx.stripes(p["colors"]["secondary"], p["colors"]["paint"], 2, "u", 0.5))
    span_f = p["track"] * p["wing_front"]
    zw = z_nose - p["chord_front"] / 2 - 0.02
    a.add("front_wing", box((span_f, 0.04, p["chord_front"]), (0, 0.1, zw), caps="y"), wing)
    for sx in (-1, 1):
        a.add("front_wing", box((0.02, 0.2, p["chord_front"]), (sx * span_f / 2, 0.16, zw), caps="x"), trim)
        a.add("front_wing", box((0.03, max(p["nose"] - 0.2, 0.06), 0.08), (sx * 0.08, (p["nose"] + 0.06) / 2, zw),
                                caps="x"), trim)
    span_r = p["track"] * 0.55 * p["wing_span"]
    zrw = z_tail + p["chord_rear"] / 2
    y = p["wing_rear"]
    a.add("rear_wing", box((span_r, 0.05, p["chord_rear"]), (0, y, zrw), caps="y"), wing)
    a.add("rear_wing", box((span_r, 0.03, p["chord_rear"] * 0.6), (0, y - 0.16, zrw + 0.05), caps="y"), wing)
    for sx in (-1, 1):
        a.add("rear_wing", box((0.02, 0.4, p["chord_rear"] * 1.1), (sx * span_r / 2, y - 0.12, zrw), caps="x"), trim)
    a.add("rear_wing", box((0.04, y - 0.3, 0.1), (0, (y + 0.3) / 2, zrw + 0.05), caps="x"), trim)
    return a


def _buggy(p: dict) -> Assembly:
    a = Assembly()
    seed = p["texture_seed"]
    L, W, clear = p["L"], p["W"], p["clear"]
    z = stations(-L / 2 + 0.1, L / 2, 36)
    f = (z - z[0]) / (z[-1] - z[0])
    top = clear + p["tub"] - p["nose_drop"] * np.clip((f - 0.7) / 0.3, 0, 1) ** 1.5
    bottom = clear + 0.12 * np.clip((f - 0.8) / 0.2, 0, 1) ** 2
    width = W / 2 * 0.8 * (1 - (1 - p["plan"]) * np.clip((f - 0.75) / 0.25, 0, 1) ** 2)
    a.add("tub", loft(z, bottom, top, width, p["p_top"], 4.0), _painted(a, p, "tub", L, p["tub"], seed))
    frame = a.tile("frame", tx.noise(tx.fill(p["colors"]["frame"]), seed + 1, 0.03))
    r, hw = p["tube"], W / 2 * 0.62
    y_top = clear + p["tub"] - 0.02
    zs = (-0.55, 0.1, 0.45)  # rear hoop, roof front, windshield foot (fractions of L / 2)
    roof_y = p["cage"]
    for sx in (-1, 1):
        x = sx * hw
        a.add("cage", rod((x, y_top, zs[0] * L / 2), (x * 0.9, roof_y, zs[0] * L / 2 + 0.15), r), frame)  # rear post
        a.add("cage", rod((x, y_top, zs[2] * L / 2), (x * 0.9, roof_y, zs[1] * L / 2), r), frame)  # A-pillar
        a.add("cage", rod((x * 0.9, roof_y, zs[0] * L / 2 + 0.15), (x * 0.9, roof_y, zs[1] * L / 2), r), frame)
        a.add("cage", rod((x, y_top, zs[0] * L / 2), (x * 0.7, clear + 0.1, -L / 2 + 0.1), r), frame)  # rear brace
    for zz in (zs[0] * L / 2 + 0.15, zs[1] * L / 2):
        a.add("cage", rod((-hw * 0.9, roof_y, zz), (hw * 0.9, roof_y, zz), r), frame)
    if p["cage_diagonal"]:
        a.add("cage", rod((-hw, y_top, zs[0] * L / 2), (hw * 0.9, roof_y, zs[0] * L / 2 + 0.15), r), frame)
    metal = a.tile("engine", tx.stripes([70, 72, 75], [40, 40, 42], 8, "v", 0.5))
    a.add("engine", box((W * 0.45, 0.4, 0.45), (0, clear + 0.25, -L / 2 + 0.25), caps="z"), metal)
    wheel = details.wheel_tiles(a, p, seed + 2)
    R, tw = p["wheel"], p["tire_width"]
    x_out = W / 2 + p["wheel_out"]
    axles = (L / 2 - p["overhang_front"] * L, -L / 2 + p["overhang_rear"] * L)
    details.add_wheels(a, wheel, [(zw, R, tw, x_out) for zw in axles])
    if p["spare_wheel"]:
        a.add("spare", details.cylinder(R * 0.85, y_top, y_top + tw * 0.8, axis="y", segments=24,
                                        center=(0, 0, -0.1 * L)), wheel)
    return a
