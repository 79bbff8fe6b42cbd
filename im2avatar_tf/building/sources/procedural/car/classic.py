"""The classic car family (the generator before issue 34): a lower body (side profile with wheel
arches, extruded across the width), a cabin whose walls carry the windows in the texture, four
wheels, bumpers, lights, grille; pickups get a bed. Boxes of boxes: `road.py` has the rounded
bodies.

Units are metres; y up, front toward +z, width along x.
"""

from __future__ import annotations

import numpy as np

from .. import texture as tx
from ..parts import CAP0, CAP1, WALL, Assembly, arc_param, box, cylinder, prism, rounded_path
from ..sampling import Sampler
from .details import wheel_tiles

BODIES = ("sedan", "hatchback", "van", "suv", "pickup", "sports")
PATTERNS = ("solid", "racing_stripes", "two_tone", "side_stripe", "number", "checks", "gradient")

# per body: length, width, belt-line height, cabin height, ground clearance, wheel radius,
# hood and tail length (fractions of L), rear top (fraction of cabin height where the rear glass starts),
# windshield / rear-glass horizontal run (in cabin heights), window pillars
_BODY = {
    "sedan": dict(L=(4.3, 4.9), W=(1.72, 1.88), belt=(0.76, 0.86), cabin=(0.44, 0.54), clear=(0.14, 0.2), wheel=(0.3, 0.34),
                  hood=(0.25, 0.31), tail=(0.16, 0.22), rear_top=(0.0, 0.1), ws=(1.1, 1.5), rw=(0.9, 1.3), pillars=(1, 1)),
    "hatchback": dict(L=(3.7, 4.3), W=(1.66, 1.8), belt=(0.78, 0.88), cabin=(0.48, 0.58), clear=(0.14, 0.19), wheel=(0.28, 0.32),
                      hood=(0.2, 0.26), tail=(0.02, 0.06), rear_top=(0.55, 0.85), ws=(1.0, 1.4), rw=(0.5, 0.9), pillars=(1, 2)),
    "van": dict(L=(4.6, 5.3), W=(1.8, 2.0), belt=(0.9, 1.0), cabin=(0.85, 1.05), clear=(0.17, 0.22), wheel=(0.31, 0.35),
                hood=(0.07, 0.14), tail=(0.0, 0.02), rear_top=(0.9, 0.97), ws=(0.6, 0.9), rw=(0.1, 0.3), pillars=(2, 3)),
    "suv": dict(L=(4.3, 4.9), W=(1.8, 1.98), belt=(0.95, 1.06), cabin=(0.52, 0.64), clear=(0.22, 0.3), wheel=(0.34, 0.39),
                hood=(0.21, 0.26), tail=(0.02, 0.05), rear_top=(0.75, 0.92), ws=(0.9, 1.2), rw=(0.3, 0.6), pillars=(2, 2)),
    "pickup": dict(L=(5.0, 5.6), W=(1.85, 2.0), belt=(0.98, 1.08), cabin=(0.55, 0.62), clear=(0.24, 0.32), wheel=(0.36, 0.4),
                   hood=(0.2, 0.24), tail=(0.36, 0.44), rear_top=(0.9, 0.96), ws=(0.9, 1.2), rw=(0.1, 0.2), pillars=(0, 1)),
    "sports": dict(L=(4.2, 4.6), W=(1.85, 2.0), belt=(0.58, 0.66), cabin=(0.34, 0.42), clear=(0.1, 0.14), wheel=(0.31, 0.34),
                   hood=(0.33, 0.4), tail=(0.14, 0.2), rear_top=(0.0, 0.2), ws=(1.6, 2.1), rw=(1.5, 2.2), pillars=(0, 0)),
}


def sample(s: Sampler) -> dict:
    body = s.choice("body", BODIES)
    r = _BODY[body]
    for key in ("L", "W", "belt", "cabin", "clear", "wheel", "hood", "tail", "rear_top", "ws", "rw"):
        s.uniform(key, *r[key])
    s.integer("pillars", *r["pillars"])
    s.uniform("overhang_front", 0.15, 0.21)
    s.uniform("overhang_rear", 0.15, 0.22)
    s.uniform("nose_drop", 0.08, 0.2)
    s.uniform("tail_drop", 0.02, 0.12)
    s.uniform("tumblehome", 0.06, 0.16)
    s.uniform("tire_width", 0.2, 0.3)
    s.integer("spokes", 4, 8)
    s.uniform("rim_size", 0.58, 0.76)
    pattern = s.choice("pattern", PATTERNS, [4, 2, 2, 1.5, 1.5, 1, 1])
    paint = s.color("paint", "paint", light_p=0.1)
    s.color("secondary", "accent" if pattern in ("racing_stripes", "side_stripe") else "paint", light_p=0.25)
    s.color("glass", "glass")
    s.color("tire", "dark")
    s.color("rim", "chrome" if s.rng.random() < 0.7 else "dark")
    s.color("trim", "dark" if s.rng.random() < 0.8 else "chrome")
    s.set("headlight", tx.shade(tx.color(s.rng, "light"), 1.02))
    s.set("taillight", [int(s.rng.integers(170, 230)), int(s.rng.integers(10, 50)), int(s.rng.integers(10, 40))])
    s.integer("number", 1, 99)
    s.integer("texture_seed", 0, 2**31 - 1)
    s.set("light_body", tx.is_light(paint))
    return s.params


def _profiles(p: dict):
    """Lower body (bottom, top) curves and the cabin (bottom, top) curves in the (z, y) plane."""
    L, belt, cab, R = p["L"], p["belt"], p["cabin"], p["wheel"]
    zf, zr = L / 2 - p["hood"] * L, -L / 2 + p["tail"] * L  # windshield base, rear-glass base
    wheels_z = (L / 2 - p["overhang_front"] * L, -L / 2 + p["overhang_rear"] * L)

    z = np.linspace(-L / 2, L / 2, 81)
    front = np.clip((z - zf) / max(L / 2 - zf, 1e-3), 0, 1)
    rear = np.clip((zr - z) / max(zr + L / 2, 1e-3), 0, 1)
    top = belt - p["nose_drop"] * front**1.5 - p["tail_drop"] * rear**1.5
    corner = 0.12  # rounded nose and tail
    e = np.clip((np.abs(z) - (L / 2 - corner)) / corner, 0, 1)
    top = top - 0.08 * e**2
    bottom = p["clear"] + 0.1 * e**2
    ra = R + 0.05  # wheel arches
    for zw in wheels_z:
        dz = np.abs(z - zw)
        arch = np.where(dz < ra, R + np.sqrt(np.clip(ra**2 - dz**2, 0, None)), 0.0)
        bottom = np.maximum(bottom, arch)
    bottom = np.minimum(bottom, top - 0.1)
    body = (np.stack([z, bottom], -1), np.stack([z, top], -1))

    # cabin outline: rear base -> rear glass -> roof -> windshield -> front base
    rt = p["rear_top"]
    z_roof_r = zr + p["rw"] * cab * (1 - rt)
    z_roof_f = zf - p["ws"] * cab
    if z_roof_f - z_roof_r < 0.25 * (zf - zr):  # keep a roof: shrink the glass runs
        k = 0.75 * (zf - zr) / max((zf - z_roof_f) + (z_roof_r - zr), 1e-6)
        z_roof_r, z_roof_f = zr + (z_roof_r - zr) * k, zf - (zf - z_roof_f) * k
    outline = np.array([[zr, belt + rt * cab], [z_roof_r, belt + cab], [z_roof_f, belt + cab], [zf, belt - 0.02]])
    outline = rounded_path(outline, 0.18, steps=6)
    cz = outline[:, 0]
    ctop = outline[:, 1] + 0.025 * np.sin(np.pi * np.clip((cz - zr) / (zf - zr), 0, 1))  # slight roof crown
    cabin = (np.stack([cz, np.full_like(cz, belt - 0.06)], -1), np.stack([cz, ctop], -1))
    return body, cabin, wheels_z, (zr, zf)


def _body_tiles(a: Assembly, p: dict, seed: int, aspect: float) -> tuple[str, str]:
    paint, sec = p["colors"]["paint"], p["colors"]["secondary"]
    pat = p["pattern"]
    side = tx.noise(tx.fill(paint), seed, 0.02)
    top = side.copy()
    if pat == "racing_stripes":  # along the length: wall v runs across the width
        top = tx.rect(tx.rect(top, 0, 0.36, 1, 0.46, sec), 0, 0.54, 1, 0.64, sec)
        tx.rect(side, 0, 0.1, 1, 0.18, sec)
    elif pat == "two_tone":
        side[tx.V < 0.5] = tx.rgb(sec)
    elif pat == "side_stripe":
        tx.rect(tx.rect(side, 0, 0.6, 1, 0.7, sec), 0, 0.48, 1, 0.53, sec)
    elif pat == "number":
        tx.disc(side, 0.5, 0.55, 0.32, tx.contrast(paint), aspect=aspect)
        tx.number(side, p["number"], 0.5, 0.55, 0.38, sec if not tx.is_light(sec) else [20, 20, 20], aspect=aspect)
    elif pat == "checks":
        band = tx.checks([20, 20, 20], [240, 240, 235], 24, aspect=aspect * 0.15)
        m = (tx.V > 0.55) & (tx.V < 0.7)
        side[m] = band[m]
    elif pat == "gradient":
        side = tx.gradient(tx.shade(paint, 0.45), paint, "v", 0.8)
    # door seams on the sides
    for u in (0.42, 0.62):
        tx.rect(side, u, 0.2, u + 0.006, 0.95, tx.shade(paint, 0.6))
    return a.tile("body_side", side), a.tile("body_top", top)


def _cabin_tiles(a: Assembly, p: dict, cabin, zr_zf) -> dict:
    lo, up = cabin
    paint, glass = p["colors"]["paint"], p["colors"]["glass"]
    belt, cab = p["belt"], p["cabin"]
    # side (caps): windows inside the outline, pillars between them
    pts = np.concatenate([lo, up])
    (zmin, ymin), (zmax, ymax) = pts.min(0), pts.max(0)
    z = zmin + tx.U * (zmax - zmin)
    y = ymin + tx.V * (ymax - ymin)
    m = 0.07
    roof = np.minimum.reduce([np.interp(z + dz, up[:, 0], up[:, 1], left=-9, right=-9) for dz in (-m, 0, m)])
    win = (y > belt + 0.04) & (y < roof - m)
    zr, zf = zr_zf
    for k in range(p["pillars"]):
        zc = zr + (zf - zr) * (k + 1) / (p["pillars"] + 1) - 0.1
        win &= np.abs(z - zc) > 0.05
    side = tx.fill(paint)
    gl = tx.gradient(tx.shade(glass, 1.5), glass, "v", 0.7)
    side[win] = gl[win]
    # wall: the ring runs bottom (rear->front) then the top back (windshield, roof, rear glass)
    ring = np.concatenate([lo, up[::-1]])
    u = arc_param(ring, closed=True)[: len(ring)]
    is_glass = np.zeros(len(ring), bool)
    is_glass[len(lo) :] = ring[len(lo) :, 1] < belt + 0.9 * cab
    col = np.interp(tx.U[0], u, is_glass.astype(float)) > 0.5
    wall = tx.fill(paint)
    glass_px = col[None, :] & (tx.V > 0.08) & (tx.V < 0.92)
    wall[glass_px] = gl[glass_px]
    side_tile = a.tile("cabin_side", side)
    return {CAP0: side_tile, CAP1: side_tile, WALL: a.tile("cabin_wall", wall)}


def build(p: dict) -> Assembly:
    a = Assembly()
    seed = p["texture_seed"]
    L, W, belt = p["L"], p["W"], p["belt"]
    body, cabin, wheels_z, zr_zf = _profiles(p)
    height = float(body[1][:, 1].max() - body[0][:, 1].min())
    side, top = _body_tiles(a, p, seed, aspect=L / height)
    a.add("body", prism(*body, (-W / 2, W / 2), axis="x", mirror_cap1=p["pattern"] == "number"), {CAP0: side, CAP1: side, WALL: top})

    inset = 0.05
    a.add("cabin", prism(*cabin, (-W / 2 + inset, W / 2 - inset), axis="x", inset=p["tumblehome"]), _cabin_tiles(a, p, cabin, zr_zf))

    wheel = wheel_tiles(a, p, seed + 1)
    R, tw = p["wheel"], p["tire_width"]
    for zw in wheels_z:
        for sx in (-1, 1):
            x_out = sx * (W / 2 - 0.02)
            a.add("wheel", cylinder(R, x_out - sx * tw, x_out, axis="x", segments=28, center=(0, R, zw)), wheel)

    c = p["colors"]
    trim = a.tile("trim", tx.noise(tx.fill(c["trim"]), seed + 2, 0.03))
    head = a.tile("headlight", tx.fill(p["headlight"]))
    tail = a.tile("taillight", tx.fill(p["taillight"]))
    grille = a.tile("grille", tx.stripes(tx.shade(c["trim"], 0.6), tx.shade(c["trim"], 1.8), 8, "v", 0.35))
    yb = body[0][:, 1]
    ytop = body[1][:, 1]
    y_front_lo, y_front_hi = yb[-1], ytop[-1]
    y_rear_lo, y_rear_hi = yb[0], ytop[0]
    # bumpers at the lower edge of the nose and tail
    a.add("bumper", box((W + 0.03, 0.13, 0.16), (0, y_front_lo + 0.06, L / 2 - 0.04), caps="z"), trim)
    a.add("bumper", box((W + 0.03, 0.13, 0.16), (0, y_rear_lo + 0.06, -L / 2 + 0.04), caps="z"), trim)
    # lights and grille on the nose / tail faces
    hl_y = y_front_hi - 0.09
    for sx in (-1, 1):
        a.add("headlight", box((0.3, 0.09, 0.08), (sx * (W / 2 - 0.24), hl_y, L / 2 - 0.025), caps="z"), head)
        a.add("taillight", box((0.28, 0.1, 0.08), (sx * (W / 2 - 0.2), y_rear_hi - 0.1, -L / 2 + 0.025), caps="z"), tail)
    g_h = max(0.06, min(0.16, hl_y - y_front_lo - 0.16))
    a.add("grille", box((W * 0.42, g_h, 0.06), (0, y_front_lo + 0.13 + g_h / 2, L / 2 - 0.01), caps="z"), {CAP0: trim, WALL: trim, CAP1: grille})

    if p["body"] == "pickup":  # bed: side walls, tailgate and a dark liner floor behind the cab
        zr = zr_zf[0]
        bed_len = zr + L / 2
        liner = a.tile("bed_liner", tx.stripes(tx.shade(c["trim"], 0.8), c["trim"], 10, "u", 0.5))
        paint = a.tile("bed", tx.noise(tx.fill(c["paint"]), seed + 3, 0.02))
        zc = (zr - L / 2) / 2
        for sx in (-1, 1):
            a.add("bed", box((0.06, 0.28, bed_len), (sx * (W / 2 - 0.03), belt + 0.12, zc), caps="x"), paint)
        a.add("bed", box((W, 0.28, 0.06), (0, belt + 0.12, -L / 2 + 0.03), caps="z"), paint)
        a.add("bed", box((W - 0.1, 0.02, bed_len - 0.1), (0, belt + 0.005, zc), caps="y"), liner)
    return a
