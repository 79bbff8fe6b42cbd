"""Tables: a top (round, square, rectangular or oval; thin or thick) on a pedestal, 3 or 4 legs, or
a trestle; coffee, dining or bar height; optional apron and lower shelf. Finishes: wood planks,
paint, a checkerboard, stone, a painted top with an inlaid border. Units are metres; y up, the
long side of the top runs along x, its front faces +z.
"""

from __future__ import annotations

import numpy as np

from . import texture as tx
from .parts import CAP0, CAP1, WALL, Assembly, box, cylinder, revolve, rod, slab, superellipse
from .sampling import Sampler

TOPS = ("round", "square", "rectangular", "oval")
SUPPORTS = ("pedestal", "legs3", "legs4", "trestle")
HEIGHTS = {"coffee": (0.38, 0.48), "dining": (0.7, 0.78), "bar": (0.95, 1.08)}
FINISHES = ("wood", "painted", "checkered", "stone", "inlay")


def sample(s: Sampler) -> dict:
    top = s.choice("top_shape", TOPS, [3, 2, 4, 1])
    round_top = top in ("round", "oval")
    support = s.choice("support", SUPPORTS, [2.5, 1.5, 3, 1] if round_top else [1, 0.3, 5, 2])
    s.set("legs", {"pedestal": 1, "legs3": 3, "legs4": 4, "trestle": 2}[support])
    hc = s.choice("height_class", tuple(HEIGHTS), [1.5, 4, 1])
    s.uniform("height", *HEIGHTS[hc])
    small = hc != "dining"
    if top == "round":
        s.uniform("length", *((0.5, 0.9) if small else (0.75, 1.3)))
        s.set("depth", s.params["length"])
    elif top == "square":
        s.uniform("length", *((0.5, 0.9) if small else (0.7, 1.1)))
        s.set("depth", s.params["length"])
    else:
        s.uniform("length", *((0.8, 1.4) if small else (1.1, 2.0)))
        s.uniform("depth", 0.5 * s.params["length"], min(0.75 * s.params["length"], 1.05))
    s.uniform("top_thickness", 0.02, 0.08)
    s.uniform("corner_power", 5.0, 30.0)
    s.flag("apron", 0.5 if support in ("legs3", "legs4") else 0.0)
    s.flag("shelf", 0.3 if support in ("legs4", "trestle") else 0.0)
    s.uniform("shelf_height", 0.12, 0.3)
    s.choice("leg_style", ("square", "round", "tapered", "turned"))
    s.uniform("leg_radius", 0.014, 0.045)
    s.uniform("leg_inset", 0.03, 0.12)
    s.uniform("pedestal_radius", 0.035, 0.09)
    s.choice("pedestal_foot", ("disc", "cross"))
    finish = s.choice("finish", FINISHES, [5, 2, 0.8, 1, 1.2])
    wood = s.color("wood", "wood")
    s.color("paint", "paint", light_p=0.1)
    s.color("accent", "accent")
    s.set("top_color", wood if finish == "wood" else s.params["colors"]["paint"])
    leg_mat = s.choice("leg_material", ("same", "metal", "painted"), [3, 1, 1])
    s.color("leg_metal", "chrome" if s.rng.random() < 0.5 else "dark")
    s.set("leg_color", {"same": s.params["top_color"], "metal": s.params["colors"]["leg_metal"], "painted": s.params["colors"]["paint"]}[leg_mat])
    s.integer("planks", 3, 7)
    s.set("top_is_light", tx.is_light(s.params["top_color"]))
    s.integer("texture_seed", 0, 2**31 - 1)
    return s.params


def _top_tile(p: dict, seed: int, aspect: float) -> np.ndarray:
    c, fin = p["top_color"], p["finish"]
    if fin == "wood":
        img = tx.wood(c, tx.shade(c, 0.55), seed, axis="u", rings=7)
        for k in range(1, p["planks"]):  # plank seams along the grain
            tx.rect(img, 0, k / p["planks"] - 0.006, 1, k / p["planks"] + 0.006, tx.shade(c, 0.45))
        return img
    if fin == "checkered":
        return tx.checks(tx.shade(c, 0.35), tx.shade(c, 1.2), 8, aspect=aspect)
    if fin == "stone":
        rng = np.random.default_rng(seed)
        veins = np.abs(np.sin(12 * (tx.U + 0.4 * tx.V) + 3 * np.sin(7 * tx.V + rng.uniform(0, 6)))) < 0.08
        img = tx.noise(tx.fill(c), seed, 0.08)
        img[veins] = tx.rgb(tx.shade(c, 0.6))
        return img
    img = tx.noise(tx.fill(c), seed, 0.02)
    if fin == "inlay":
        b = 0.09
        ring = ~((tx.U > b / aspect) & (tx.U < 1 - b / aspect) & (tx.V > b) & (tx.V < 1 - b))
        inner = ~((tx.U > 1.6 * b / aspect) & (tx.U < 1 - 1.6 * b / aspect) & (tx.V > 1.6 * b) & (tx.V < 1 - 1.6 * b))
        img[inner & ~ring] = tx.rgb(p["colors"]["accent"])
        if p["top_shape"] in ("round", "oval"):  # a circular band instead
            img = tx.noise(tx.fill(c), seed, 0.02)
            tx.disc(img, 0.5, 0.5, 0.42, p["colors"]["accent"], inner=0.36)
            tx.star(img, 0.5, 0.5, 0.14, p["colors"]["accent"])
    return img


def _leg(a: Assembly, p: dict, top_pt, foot_pt, tile: str, name: str = "leg") -> None:
    r, style = p["leg_radius"], p["leg_style"]
    if style == "turned":  # a lathe-turned leg: revolve a bulging profile
        h = top_pt[1] - foot_pt[1]
        t = np.linspace(0, 1, 12)
        radius = r * (0.7 + 0.35 * np.sin(np.pi * t * 3) ** 2 + 0.3 * (t > 0.85))
        a.add(name, revolve(np.concatenate([[0], radius, [0]]), np.concatenate([[0], t * h, [h]]), segments=16, center=foot_pt), tile)
    else:
        a.add(name, rod(top_pt, foot_pt, r, square=style == "square", radius1=r * (0.55 if style == "tapered" else 1.0)), tile)


def build(p: dict) -> Assembly:
    a = Assembly()
    seed = p["texture_seed"]
    L, D, H, tt = p["length"], p["depth"], p["height"], p["top_thickness"]
    shape = p["top_shape"]
    power = 2.0 if shape in ("round", "oval") else p["corner_power"]
    outline = superellipse(L / 2, D / 2, power)
    top = a.tile("top", _top_tile(p, seed, aspect=L / D))
    lc = p["leg_color"]
    edge = a.tile("top_edge", tx.fill(tx.shade(p["top_color"], 0.75)) if p["finish"] != "wood" else tx.wood(p["top_color"], tx.shade(p["top_color"], 0.5), seed + 1, "u", 2))
    legs = a.tile("legs", tx.wood(lc, tx.shade(lc, 0.55), seed + 2, "v", 3) if p["leg_material"] == "same" and p["finish"] == "wood" else tx.gradient(tx.shade(lc, 0.8), tx.shade(lc, 1.15), "u"))
    a.add("top", slab(outline, (-L / 2, L / 2), tt, base=H - tt), {CAP0: edge, WALL: edge, CAP1: top})
    y_under = H - tt
    sup = p["support"]

    if sup == "pedestal":
        _pedestal(a, p, y_under, legs)
    elif sup == "trestle":
        _trestle(a, p, L, D, y_under, legs)
    else:
        inset = p["leg_inset"] + p["leg_radius"]
        if sup == "legs4":
            if shape in ("round", "oval"):
                c = np.cos(np.pi / 4)
                pts = [(sx * (L / 2 * c - inset), sz * (D / 2 * c - inset)) for sx in (-1, 1) for sz in (-1, 1)]
            else:
                pts = [(sx * (L / 2 - inset), sz * (D / 2 - inset)) for sx in (-1, 1) for sz in (-1, 1)]
        else:
            ang = np.pi / 2 + 2 * np.pi * np.arange(3) / 3
            pts = [((L / 2 - inset) * np.cos(t), (D / 2 - inset) * np.sin(t)) for t in ang]
        for x, z in pts:
            _leg(a, p, (x, y_under, z), (x, 0.0, z), legs)
        if p["apron"]:
            ah = min(0.1, 0.2 * H)
            if shape in ("round", "oval") or sup == "legs3":
                ro = min(np.hypot(*pts[0]), 0.5 * min(L, D) - 0.03)
                a.add("apron", cylinder(ro, y_under - ah, y_under, segments=40), edge)
            else:
                xs, zs = abs(pts[0][0]), abs(pts[0][1])
                for sz in (-1, 1):
                    a.add("apron", box((2 * xs, ah, 0.025), (0, y_under - ah / 2, sz * zs), caps="z"), edge)
                for sx in (-1, 1):
                    a.add("apron", box((0.025, ah, 2 * zs), (sx * xs, y_under - ah / 2, 0), caps="x"), edge)
        if p["shelf"]:
            xs, zs = max(abs(x) for x, _ in pts), max(abs(z) for _, z in pts)
            sp = 2.0 if shape in ("round", "oval") else power
            a.add("shelf", slab(superellipse(xs + 0.01, zs + 0.01, sp), (-xs - 0.01, xs + 0.01), 0.025, base=p["shelf_height"] * H), {CAP0: edge, WALL: edge, CAP1: top})
    return a


def _pedestal(a: Assembly, p: dict, y_under: float, tile: str) -> None:
    rc = p["pedestal_radius"]
    foot_r = min(0.45 * min(p["length"], p["depth"]), max(0.22, 4 * rc))
    h = np.array([0.0, 0.0, 0.03, 0.05, 0.15, 0.5 * y_under, y_under - 0.06, y_under - 0.03, y_under])
    if p["pedestal_foot"] == "disc":
        r = np.array([0.0, foot_r, foot_r, 1.3 * rc, rc, 1.25 * rc, rc, 2.2 * rc, 2.2 * rc])
    else:
        r = np.array([0.0, 1.3 * rc, 1.3 * rc, 1.3 * rc, rc, 1.25 * rc, rc, 2.2 * rc, 2.2 * rc])
        for k in range(4):
            t = np.pi / 4 + k * np.pi / 2
            a.add("foot", box((foot_r, 0.05, 0.06), (0.5 * foot_r * np.cos(t), 0.025, 0.5 * foot_r * np.sin(t)), caps="z").rotated("y", -t, (0.5 * foot_r * np.cos(t), 0, 0.5 * foot_r * np.sin(t))), tile)
    a.add("pedestal", revolve(np.append(r, 0.0), np.append(h, y_under), segments=32), tile)


def _trestle(a: Assembly, p: dict, L: float, D: float, y_under: float, tile: str) -> None:
    x = L / 2 - max(0.12, p["leg_inset"] + 0.06)
    t = max(0.05, 1.6 * p["leg_radius"])
    for sx in (-1, 1):
        a.add("trestle", box((t, 0.06, 0.8 * D), (sx * x, 0.03, 0)), tile)
        a.add("trestle", box((t, y_under - 0.1, max(0.1, 2.5 * t)), (sx * x, y_under / 2, 0), caps="x"), tile)
        a.add("trestle", box((t, 0.05, 0.7 * D), (sx * x, y_under - 0.025, 0)), tile)
    a.add("stretcher", box((2 * x, 0.06, 0.04), (0, 0.35 * y_under, 0), caps="z"), tile)
    if p["shelf"]:
        a.add("shelf", box((2 * x, 0.025, 0.6 * D), (0, p["shelf_height"] * y_under, 0)), tile)
