"""Guitars: acoustic (figure-8 body, sound hole and rosette), electric (strat-like double cutaway,
single cutaway, flying V, round solid body) and bass; neck with a fretted fingerboard, headstock
with tuners, bridge, pickups and knobs, strings. Finishes: sunburst, solid, natural wood, racing
stripes, gradient. Units are metres; the guitar stands upright (neck toward +y), its top faces +z.
"""

from __future__ import annotations

import numpy as np

from . import texture as tx
from .parts import CAP0, CAP1, WALL, Assembly, box, cylinder, rod, slab
from .sampling import Sampler

KINDS = ("acoustic", "electric", "bass")
ELECTRIC_SHAPES = ("double_cutaway", "single_cutaway", "flying_v", "round")
FINISHES = ("sunburst", "solid", "natural", "stripes", "gradient")
HEADSTOCKS = ("3+3", "inline")


def sample(s: Sampler) -> dict:
    kind = s.choice("kind", KINDS, [4, 4, 2])
    s.set("shape", "figure8" if kind == "acoustic" else s.choice("shape", ELECTRIC_SHAPES, [4, 3, 1, 1]))
    s.set("strings", 4 if kind == "bass" else 6)
    r = {
        "acoustic": dict(body_length=(0.47, 0.53), half_width=(0.17, 0.21), thickness=(0.085, 0.12), neck=(0.38, 0.44), waist=(0.72, 0.85)),
        "electric": dict(body_length=(0.4, 0.46), half_width=(0.15, 0.18), thickness=(0.038, 0.05), neck=(0.4, 0.46), waist=(0.95, 1.1)),
        "bass": dict(body_length=(0.44, 0.5), half_width=(0.16, 0.19), thickness=(0.04, 0.05), neck=(0.6, 0.7), waist=(0.95, 1.1)),
    }[kind]
    for key, rng in r.items():
        s.uniform(key, *rng)
    s.uniform("upper_bout", 0.7, 0.88)  # upper / lower bout width
    s.uniform("neck_width", 0.045, 0.06)
    s.choice("headstock", HEADSTOCKS, [1, 1] if kind != "acoustic" else [4, 1])
    finish = s.choice("finish", FINISHES, [3, 3, 2, 1.5, 1] if kind == "acoustic" else [2, 4, 1, 2, 1.5])
    if finish == "natural":  # spruce / maple tops are pale but not white
        s.params.setdefault("colors", {})["body"] = [int(s.rng.integers(lo, hi)) for lo, hi in ((190, 225), (150, 185), (95, 135))]
    else:
        s.color("body", "wood" if finish == "sunburst" else "paint", light_p=0.1)
    s.color("burst_edge", "dark")
    s.color("accent", "accent")
    s.color("back", "wood")
    s.color("fretboard", "dark")
    s.color("hardware", "chrome" if s.rng.random() < 0.7 else "dark")
    s.set("pickguard_color", [[20, 20, 22], [235, 230, 215], [110, 45, 25]][int(s.rng.integers(0, 3))])
    s.flag("pickguard", 0.6)
    s.integer("pickups", 1, 3) if kind != "acoustic" else s.set("pickups", 0)
    s.integer("texture_seed", 0, 2**31 - 1)
    s.set("body_is_light", tx.is_light(s.params["colors"]["body"]))
    return s.params


def _bouts(length: float, half_width: float, upper: float, waist: float):
    """Half-width along a two-bout body (t = 0 at the bottom end): the union of a lower and an upper
    ellipse, filled in between the bout centres up to ``waist`` x the upper bout's width."""
    rl, ru = 0.29 * length, 0.23 * length

    def f(t):
        lo = half_width * np.sqrt(np.clip(1 - ((t - rl) / rl) ** 2, 0, 1))
        up = upper * half_width * np.sqrt(np.clip(1 - ((t - (length - ru)) / ru) ** 2, 0, 1))
        between = np.clip((t - rl) / (length - ru - rl), 0, 1)
        fill = waist * upper * half_width * np.where((t > rl) & (t < length - ru), 1.0, 0.0)
        fill = fill * (1 - 0.15 * np.sin(np.pi * between))  # the waist's curve
        return np.maximum.reduce([lo, up, fill])

    return f


def _finish(p: dict, seed: int, aspect: float) -> np.ndarray:
    """Front (top) tile: u along the body length from the bottom end, v across (0.5 = centre line)."""
    c, fin = p["colors"]["body"], p["finish"]
    acc = p["colors"]["accent"]
    if fin == "sunburst":
        img = tx.mix(c, p["colors"]["burst_edge"], np.clip(np.hypot((tx.U - 0.35) * aspect, tx.V - 0.5) / 0.55, 0, 1) ** 2.5)
    elif fin == "natural":
        img = tx.wood(c, tx.shade(c, 0.75), seed, axis="u", rings=14)
    elif fin == "stripes":
        img = tx.fill(c)
        for v0 in (0.38, 0.56):
            tx.rect(img, 0, v0, 1, v0 + 0.06, acc)
    elif fin == "gradient":
        img = tx.gradient(tx.shade(c, 0.35), c, "u", 0.7)
    else:
        img = tx.noise(tx.fill(c), seed, 0.015)
    return img


def build(p: dict) -> Assembly:
    a = Assembly()
    seed = p["texture_seed"]
    kind, shape = p["kind"], p["shape"]
    BL, hw, T = p["body_length"], p["half_width"], p["thickness"]
    nw, neck_len = p["neck_width"], p["neck"]
    col = p["colors"]
    aspect = BL / (2 * hw)
    top = _finish(p, seed, aspect)
    front_z = T / 2

    # decorations on the top that live in the body tile: sound hole + rosette, pickguard
    u_hole = 0.66
    if kind == "acoustic":
        rh = 0.045 / (2 * hw)  # hole radius in v units
        tx.disc(top, u_hole, 0.5, rh * 1.45, tx.contrast(col["body"]), aspect=aspect, inner=rh * 1.2)
        if p["pickguard"]:
            tx.disc(top, u_hole - 0.08, 0.32, 0.12, p["pickguard_color"], aspect=aspect)
        tx.disc(top, u_hole, 0.5, rh, [12, 10, 8], aspect=aspect)
    elif p["pickguard"]:
        m = (np.hypot((tx.U - 0.5) * aspect, (tx.V - 0.42) * 1.3) < 0.32) & (tx.U > 0.3)
        top[m] = tx.rgb(p["pickguard_color"])
    top_t = a.tile("body_top", top)
    side_c = col["body"] if p["finish"] in ("solid", "stripes") else tx.shade(col["burst_edge"], 1.3) if p["finish"] == "sunburst" else col["back"]
    side = a.tile("body_side", tx.noise(tx.fill(side_c), seed + 1, 0.02))
    back = a.tile("body_back", tx.wood(col["back"], tx.shade(col["back"], 0.6), seed + 2, "u", 6) if kind == "acoustic" else tx.noise(tx.fill(side_c), seed + 2, 0.02))
    body_tiles = {CAP0: back, WALL: side, CAP1: top_t}

    def add_body(name, half_width_fn, length, angle=np.pi / 2, offset=(0.0, 0.0)):
        """A body piece grown from ``offset`` along direction ``angle`` (pi/2: up the guitar)."""
        part = slab(half_width_fn, (0.0, length), T, axis="z", n=64, base=-T / 2).rotated("z", angle)
        a.add(name, part.moved((offset[0], offset[1], 0)), body_tiles)

    if shape == "flying_v":  # two wings grown downward from the neck joint
        def wing(t):
            return 0.5 * hw * np.clip(t / (0.2 * BL), 0, 1) * np.clip((1.1 * BL - t) / (0.2 * BL), 0, 1)

        for sgn in (-1, 1):
            add_body("body", wing, 1.1 * BL, angle=-np.pi / 2 + sgn * 0.36, offset=(0.0, 0.95 * BL))
    else:
        waist = p["waist"] if shape != "round" else 1.0
        add_body("body", _bouts(BL, hw, p["upper_bout"] if shape != "round" else 0.95, waist), BL)
        horns = {"double_cutaway": (-1, 1), "single_cutaway": (1,)}.get(shape, ())
        for sgn in horns:
            hl = (0.5 if sgn > 0 else 0.4) * BL
            horn = lambda t, hl=hl: 0.05 * np.sqrt(np.clip(1 - ((t - hl / 2) / (hl / 2)) ** 2, 0, 1))
            x = -sgn * (nw / 2 + 0.05)  # the horn on the bass side (viewer's left) is the longer one
            add_body("horn", horn, hl, angle=np.pi / 2 - sgn * 0.1, offset=(x, 0.66 * BL))

    # neck, fretboard, headstock
    neck_y0 = (0.85 if kind == "acoustic" else 0.7) * BL
    neck_top = BL + neck_len
    wood = col["back"]
    neck_t = a.tile("neck", tx.wood(wood, tx.shade(wood, 0.6), seed + 3, "v", 2))
    a.add("neck", box((nw, neck_top - neck_y0, 0.025), (0, (neck_y0 + neck_top) / 2, front_z - 0.0125), caps="z"), neck_t)
    fb = tx.wood(col["fretboard"], tx.shade(col["fretboard"], 1.6), seed + 4, "v", 4)
    fb_y0 = BL * (0.8 if kind == "acoustic" else 0.78)
    span = neck_top - fb_y0
    for k in range(1, 22):  # frets: distance from the nut 1 - 2^(-k/12) of the scale
        v = 1 - (1 - 2 ** (-k / 12)) * (neck_len * 1.6) / span
        if v > 0.02:
            tx.rect(fb, 0, v - 0.004, 1, v + 0.004, [200, 200, 190])
        if k in (3, 5, 7, 9, 12, 15) and v > 0.02:
            tx.disc(fb, 0.5, v + 0.5 * (2 ** (-k / 12) - 2 ** (-(k - 1) / 12)) * neck_len * 1.6 / span, 0.012, [230, 225, 210], aspect=nw / span)
    fb_t = a.tile("fretboard", fb)
    a.add("fretboard", box((nw * 0.98, span, 0.008), (0, (fb_y0 + neck_top) / 2, front_z + 0.004), caps="z"), {CAP0: neck_t, WALL: neck_t, CAP1: fb_t})

    head_len = 0.19
    hw_head = 0.045 if p["headstock"] == "3+3" else 0.035
    hx = 0.0 if p["headstock"] == "3+3" else -0.012
    head_c = col["body"] if kind != "acoustic" and p["finish"] == "solid" else col["fretboard"]
    head_img = tx.noise(tx.fill(head_c), seed + 5, 0.03)
    tx.star(head_img, 0.5, 0.8, 0.08, tx.contrast(head_c))  # a small logo
    head_t = a.tile("headstock", head_img)
    hs = slab(lambda t: hw_head * (0.75 + 0.25 * np.sin(np.pi * np.clip(t / head_len, 0, 1))), (0, head_len), 0.018, axis="z", n=24, base=front_z - 0.02)
    a.add("headstock", hs.rotated("z", np.pi / 2).moved((hx, neck_top - 0.01, 0)), {CAP0: head_t, WALL: head_t, CAP1: head_t})
    hw_t = a.tile("hardware", tx.gradient(tx.shade(col["hardware"], 0.7), tx.shade(col["hardware"], 1.2), "u"))
    n = p["strings"]
    for k in range(n):
        if p["headstock"] == "3+3":
            side = -1 if k < n // 2 else 1
            y = neck_top + 0.04 + (k % (n // 2)) * 0.045
            x0 = side * (hw_head - 0.005)
            a.add("tuner", cylinder(0.006, x0, x0 + side * 0.03, axis="x", segments=10, center=(0, y, front_z - 0.01)), hw_t)
        else:
            y = neck_top + 0.03 + k * (head_len - 0.05) / max(n - 1, 1)
            a.add("tuner", cylinder(0.007, front_z - 0.002, front_z + 0.012, axis="z", segments=10, center=(hx - 0.018, y, 0)), hw_t)

    # bridge, pickups, knobs, strings
    bridge_y = (0.27 if kind == "acoustic" else 0.22) * BL
    bridge_t = a.tile("bridge", tx.fill(tx.shade(col["fretboard"], 0.9) if kind == "acoustic" else col["hardware"]))
    a.add("bridge", box((nw * 2.2, 0.035, 0.012), (0, bridge_y, front_z + 0.006), caps="z"), bridge_t)
    if p["pickups"]:
        pu = a.tile("pickup", tx.fill(p["pickguard_color"] if p["pickguard_color"][0] < 100 else [30, 30, 32]))
        for k in range(p["pickups"]):
            a.add("pickup", box((nw * 1.5, 0.028, 0.012), (0, bridge_y + 0.06 + k * 0.055, front_z + 0.005), caps="z"), pu)
        for k in range(3 if kind == "electric" else 2):
            a.add("knob", cylinder(0.011, front_z - 0.002, front_z + 0.016, axis="z", segments=12, center=(hw * 0.5 + 0.02 * k, 0.16 * BL + 0.04 * k, 0)), hw_t)
    string_t = a.tile("strings", tx.fill([205, 200, 185]))
    for k in range(n):
        x_b = (k - (n - 1) / 2) * nw * 1.6 / n
        x_n = (k - (n - 1) / 2) * nw * 0.8 / n
        a.add("string", rod((x_b, bridge_y, front_z + 0.012), (x_n, neck_top, front_z + 0.011), 0.0012), string_t)
    return a
