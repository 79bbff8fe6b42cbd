"""Chairs: seat (square or round, with or without cushion), a back of one of several styles and
heights, optional arms, and a base: 3 or 4 legs, an office star base (5 spokes on a column), a sled
frame or a cantilever frame. Units are metres; y up, the sitter faces +z.
"""

from __future__ import annotations

import numpy as np

from . import texture as tx
from .parts import CAP0, CAP1, WALL, Assembly, box, cylinder, prism, rod, rounded_path, slab, sphere, superellipse, tube
from .sampling import Sampler

BASES = ("legs", "office", "sled", "cantilever")
BACKS = ("straight", "curved", "slatted", "spindle", "none")
BACK_HEIGHTS = {"low": (0.2, 0.3), "medium": (0.34, 0.48), "high": (0.55, 0.8)}
FABRIC_PATTERNS = ("solid", "stripes", "checks", "gradient", "plaid", "quilted")


def sample(s: Sampler) -> dict:
    base = s.choice("base", BASES, [0.55, 0.2, 0.12, 0.13])
    legs = {"legs": 3 if s.rng.random() < 0.2 else 4, "office": 5, "sled": 0, "cantilever": 0}[base]
    s.set("legs", legs)
    s.choice("seat_shape", ("square", "round"), [0.3, 0.7] if legs == 3 else [0.75, 0.25])
    s.uniform("seat_width", 0.4, 0.56)
    s.uniform("seat_depth", 0.38, 0.52)
    s.uniform("seat_height", *((0.45, 0.52) if base == "office" else (0.4, 0.49)))
    s.uniform("seat_thickness", 0.025, 0.07)
    s.uniform("seat_roundness", 3.0, 10.0)  # superellipse power of square seats
    s.flag("cushion", 0.85 if base == "office" else 0.4)
    s.uniform("cushion_thickness", 0.035, 0.09)
    back = s.choice("back", BACKS, [3, 2, 1.5, 1.5, 0.3] if base == "legs" else [3, 2, 0, 0, 0] if base == "office" else [3, 2, 1.5, 1.5, 0])
    s.choice("back_height", tuple(BACK_HEIGHTS), [1, 2, 1.3] if back != "none" else None)
    s.uniform("back_height_m", *BACK_HEIGHTS[s.params["back_height"]])
    s.uniform("back_tilt", 0.0, 0.3)
    s.uniform("back_thickness", 0.02, 0.05)
    s.uniform("back_gap", 0.0, 0.12)  # open space between seat and back panel
    s.integer("slats", 2, 5)
    s.flag("arms", (0.6 if base == "office" else 0.3) if back != "none" else 0.0)
    s.uniform("arm_height", 0.17, 0.26)
    s.choice("leg_style", ("square", "round", "tapered"))
    s.uniform("leg_radius", 0.011, 0.035)
    s.uniform("splay", 0.0, 0.12)
    s.flag("stretchers", 0.35 if base == "legs" else 0.0)
    material = s.choice("frame_material", ("wood", "metal", "painted"), [0.5, 0.25, 0.25] if base == "legs" else [0.1, 0.6, 0.3])
    frame = s.color("frame", {"wood": "wood", "metal": "chrome" if s.rng.random() < 0.5 else "metal", "painted": "paint"}[material])
    seat_wood = material == "wood" and s.rng.random() < 0.6
    s.set("seat_material", "wood" if seat_wood else "plastic")
    s.color("seat", "wood" if seat_wood else "paint", light_p=0.08)
    s.color("fabric", "fabric")
    s.color("fabric2", "fabric" if s.rng.random() < 0.5 else "accent")
    s.choice("fabric_pattern", FABRIC_PATTERNS, [3, 2, 1.5, 1, 1, 1])
    s.flag("upholstered_back", 0.5 if s.params["cushion"] else 0.1)
    s.color("wood_dark", "dark")
    s.set("frame_is_light", tx.is_light(frame))
    s.integer("texture_seed", 0, 2**31 - 1)
    return s.params


def _fabric(p: dict, seed: int) -> np.ndarray:
    c1, c2 = p["colors"]["fabric"], p["colors"]["fabric2"]
    pat = p["fabric_pattern"]
    if pat == "stripes":
        img = tx.stripes(c1, c2, 6, "u", 0.5)
    elif pat == "checks":
        img = tx.checks(c1, c2, 6)
    elif pat == "gradient":
        img = tx.gradient(c2, c1, "v")
    elif pat == "plaid":
        img = tx.mix(tx.mix(c1, c2, ((tx.U * 5) % 1) < 0.3), c2, 0.5 * (((tx.V * 5) % 1) < 0.3))
    elif pat == "quilted":
        img = tx.fill(c1)
        m = (np.abs(((tx.U + tx.V) * 4) % 1 - 0.5) < 0.06) | (np.abs(((tx.U - tx.V) * 4) % 1 - 0.5) < 0.06)
        img[m] = tx.rgb(tx.shade(c1, 0.6))
    else:
        img = tx.fill(c1)
    return tx.noise(img, seed, 0.05)


def _frame_tile(a: Assembly, p: dict, seed: int) -> str:
    c = p["colors"]["frame"]
    if p["frame_material"] == "wood":
        img = tx.wood(c, tx.shade(c, 0.55), seed, axis="v", rings=3)
    elif p["frame_material"] == "metal":
        img = tx.gradient(tx.shade(c, 0.75), tx.shade(c, 1.25), "u")  # a highlight around the tube
    else:
        img = tx.noise(tx.fill(c), seed, 0.02)
    return a.tile("frame", img)


def _leg(p0, p1, p: dict) -> object:
    r = p["leg_radius"]
    style = p["leg_style"]
    return rod(p0, p1, r, square=style == "square", radius1=r * (0.55 if style == "tapered" else 1.0))


def build(p: dict) -> Assembly:
    a = Assembly()
    seed = p["texture_seed"]
    w, d, sh, st = p["seat_width"], p["seat_depth"], p["seat_height"], p["seat_thickness"]
    if p["seat_shape"] == "round":
        w = d = max(w, d)
    frame = _frame_tile(a, p, seed)
    seat_c = p["colors"]["seat"]
    if p["seat_material"] == "wood":
        seat_img = tx.wood(seat_c, tx.shade(seat_c, 0.6), seed + 1, axis="u", rings=6)
    else:
        seat_img = tx.noise(tx.fill(seat_c), seed + 1, 0.02)
    seat_tile = a.tile("seat", seat_img)
    fabric = a.tile("fabric", _fabric(p, seed + 2))
    edge = a.tile("seat_edge", tx.fill(tx.shade(seat_c, 0.8)))

    power = 2.0 if p["seat_shape"] == "round" else p["seat_roundness"]
    outline = superellipse(w / 2, d / 2, power)
    a.add("seat", slab(outline, (-w / 2, w / 2), st, base=sh - st), {CAP0: edge, WALL: edge, CAP1: seat_tile})
    top = sh
    if p["cushion"]:
        ct = p["cushion_thickness"]
        cush = superellipse(w / 2 - 0.012, d / 2 - 0.012, max(power, 2.5))
        a.add("cushion", slab(cush, (-w / 2 + 0.012, w / 2 - 0.012), ct, base=sh - 0.005), fabric)
        top = sh + ct - 0.005

    r_leg = p["leg_radius"]
    y_under = sh - st
    base = p["base"]
    back_z = -d / 2 + p["back_thickness"] / 2 + 0.005
    post_x = w / 2 - max(r_leg, 0.015) - 0.01
    if p["seat_shape"] == "round":
        post_x = 0.8 * w / 2
        back_z = -np.sqrt(max((d / 2) ** 2 - post_x**2 * (d / w) ** 2, 1e-4)) + p["back_thickness"] / 2 + 0.01

    if base == "legs":
        _legs(a, p, w, d, y_under, frame)
    elif base == "office":
        _office(a, p, y_under, frame)
    else:
        _tube_frame(a, p, w, d, y_under, back_z, frame)

    if p["back"] != "none":
        _back(a, p, w, top, y_under, back_z, post_x, frame, fabric if p["upholstered_back"] else seat_tile, edge)
    if p["arms"]:
        _arms(a, p, w, d, sh, y_under, frame)
    return a


def _legs(a: Assembly, p: dict, w: float, d: float, y_under: float, frame: str) -> None:
    r, splay = p["leg_radius"], p["splay"]
    if p["legs"] == 4:
        inset = r + 0.02
        tops = [(sx * (w / 2 - inset), sz * (d / 2 - inset)) for sx in (-1, 1) for sz in (-1, 1)]
        if p["seat_shape"] == "round":
            tops = [(sx * 0.33 * w, sz * 0.33 * d) for sx in (-1, 1) for sz in (-1, 1)]
    else:
        rad = 0.36 * min(w, d)
        tops = [(rad * np.cos(t), rad * np.sin(t)) for t in np.pi / 2 + 2 * np.pi * np.arange(3) / 3]
    feet = []
    for x, z in tops:
        n = np.hypot(x, z)
        dx, dz = (x / n, z / n) if n > 0 else (0, 0)
        foot = (x + dx * splay * y_under, 0.0, z + dz * splay * y_under)
        a.add("leg", _leg((x, y_under, z), foot, p), frame)
        feet.append(foot)
    if p["stretchers"]:
        y = 0.3 * y_under
        k = 1 - 0.3 * 1  # fraction of the way down at which the stretchers sit
        pts = [(x + (f[0] - x) * k, y, z + (f[2] - z) * k) for (x, z), f in zip(tops, feet)]
        order = [0, 1, 3, 2] if len(pts) == 4 else [0, 1, 2]
        for i in range(len(order)):
            a.add("stretcher", rod(pts[order[i]], pts[order[(i + 1) % len(order)]], 0.6 * r, square=p["leg_style"] == "square"), frame)


def _office(a: Assembly, p: dict, y_under: float, frame: str) -> None:
    metal = a.tile("office_metal", tx.gradient([40, 40, 44], [90, 90, 96], "u"))
    a.add("column", cylinder(0.028, 0.08, y_under, segments=20), metal)
    a.add("column", cylinder(0.045, 0.06, 0.25, segments=20), frame)
    a.add("mechanism", box((0.2, 0.05, 0.2), (0, y_under - 0.025, 0)), metal)
    reach = 0.3
    for k in range(5):
        t = np.pi / 2 + 2 * np.pi * k / 5
        end = (reach * np.cos(t), 0.05, reach * np.sin(t))
        a.add("star_base", rod((0, 0.09, 0), end, 0.022, square=True, radius1=0.016), frame)
        a.add("caster", sphere(0.03, (end[0], 0.03, end[2]), segments=12), metal)


def _tube_frame(a: Assembly, p: dict, w: float, d: float, y_under: float, back_z: float, frame: str) -> None:
    r = max(0.011, 0.6 * p["leg_radius"])
    x = w / 2 - 0.03
    tilt, bh = p["back_tilt"], p["back_height_m"]
    top_y = y_under + 0.05 + bh
    back_top = (back_z - np.sin(tilt) * (top_y - y_under), top_y)
    for sx in (-1, 1):
        if p["base"] == "sled":
            pts = [(back_z, y_under), (back_z - 0.03, 0.012), (d / 2 - 0.02, 0.012), (d / 2 - 0.06, y_under)]
        else:  # cantilever: from the seat rear forward, down at the front, back along the floor
            pts = [(back_z, y_under), (d / 2 - 0.03, y_under), (d / 2 + 0.02, 0.012), (-d / 2 + 0.02, 0.012)]
        pts = [back_top] + pts if p["back"] != "none" else pts
        path = rounded_path([(sx * x, yy, zz) for zz, yy in pts], 0.07, steps=6)
        a.add("frame", tube(path, r, sides=12), frame)
    a.add("frame", rod((-x, y_under - r, 0.0), (x, y_under - r, 0.0), r), frame)


def _back(a: Assembly, p: dict, w: float, top: float, y_under: float, back_z: float, post_x: float, frame: str, panel: str, edge: str) -> None:
    bh, bt, tilt, gap = p["back_height_m"], p["back_thickness"], p["back_tilt"], p["back_gap"]
    style = p["back"]
    pieces = []  # (name, part, tile) built upright with the pivot at y = 0, z = 0
    y0, y1 = (top - y_under) + gap, (top - y_under) + bh
    bw = 2 * post_x
    if style == "straight":
        pieces.append(("back", box((bw, y1 - y0, bt), (0, (y0 + y1) / 2, 0), caps="z"), {CAP0: edge, WALL: edge, CAP1: panel}))
    elif style == "curved":
        phi = 0.9
        rc = bw / 2 / np.sin(phi / 2)
        psi = np.linspace(-phi / 2, phi / 2, 24)
        outer = np.stack([(rc + bt / 2) * np.sin(psi), rc - (rc + bt / 2) * np.cos(psi)], -1)
        inner = np.stack([(rc - bt / 2) * np.sin(psi), rc - (rc - bt / 2) * np.cos(psi)], -1)
        pieces.append(("back", prism(outer, inner, (y0, y1), axis="y"), {CAP0: edge, CAP1: edge, WALL: panel}))
    elif style == "slatted":
        n = p["slats"]
        sh_ = (y1 - y0) / (2 * n)
        for k in range(n):
            yc = y1 - sh_ / 2 - k * 2 * sh_ * 0.9
            pieces.append(("slat", box((bw, sh_, bt * 0.7), (0, yc, 0), caps="z"), frame))
    elif style == "spindle":
        rail_h = 0.06
        pieces.append(("back", box((bw, rail_h, bt), (0, y1 - rail_h / 2, 0), caps="z"), frame))
        n = p["slats"] + 1
        for k in range(n):
            x = -bw / 2 + bw * (k + 1) / (n + 1)
            pieces.append(("spindle", rod((x, y0, 0), (x, y1 - rail_h / 2, 0), 0.011), frame))
    if p["base"] in ("legs", "office") or style in ("spindle", "slatted"):
        pr = max(0.012, 0.7 * p["leg_radius"])
        sq = p["leg_style"] == "square"
        if p["base"] == "office":
            pieces.append(("back_post", rod((0, -0.02, -bt), (0, (y0 + y1) / 2, -bt), 0.025, square=True), frame))
        else:
            for sx in (-1, 1):
                pieces.append(("back_post", rod((sx * post_x, 0.0, -0.005), (sx * post_x, y1 + 0.01, -0.005), pr, square=sq), frame))
    for name, part, tile in pieces:
        a.add(name, part.rotated("x", -tilt).moved((0, y_under, back_z)), tile)


def _arms(a: Assembly, p: dict, w: float, d: float, sh: float, y_under: float, frame: str) -> None:
    ah = sh + p["arm_height"]
    length = 0.85 * d
    aw = 0.05
    for sx in (-1, 1):
        x = sx * (w / 2 + aw / 2 - 0.005)
        z0 = -d / 2
        a.add("arm", box((aw, 0.03, length), (x, ah, z0 + length / 2)), frame)
        a.add("arm", rod((x, y_under, z0 + length - 0.04), (x, ah, z0 + length - 0.04), 0.015, square=p["leg_style"] == "square"), frame)
        a.add("arm", rod((x, y_under, z0 + 0.06), (x, ah, z0 + 0.06), 0.014), frame)
