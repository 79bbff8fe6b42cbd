"""Lofted road cars: saloon, sports, touring, rally, suv, pickup, van.

A body loft (superellipse sections from tail to nose: rounded or square shoulders, a nose and
tail that round off in side view and in plan, raised over the wheel arches), a greenhouse loft
on it (windshield and rear-glass rakes, roof crown, tumblehome, its sides wrapping the body's
shoulders), glass and pillars in the texture, four wheels of the type's size, track and ride
height, and the type's extras: rear wing or ducktail, splitter, light bar, roof rack, spare
wheel, a pickup's bed. Units are metres; y up, front toward +z, width along x.
"""
from __future__ import annotations

import numpy as np

from .. import texture as tx
from ..parts import CAP0, CAP1, WALL, Assembly, box, cylinder
from ..sampling import Sampler
from . import details, livery
from .loft import loft, stations

# per type: (lo, hi) of each shape parameter; see `sample` for what each means
_COMMON = dict(
    overhang_front=(0.14, 0.22), overhang_rear=(0.13, 0.23), tire_width=(0.2, 0.3), wheel_out=(-0.04, 0.04),
    inset=(0.04, 0.14), shoulder=(0.12, 0.3), crown=(0.0, 1.0), ws_curve=(0.5, 1.2), rw_curve=(0.5, 1.2),
    pillar_at=(0.35, 0.6),
)
_TYPES = {
    "saloon": dict(L=(3.0, 5.0), W=(1.6, 1.9), clear=(0.12, 0.2), belt=(0.72, 0.9), cab=(0.42, 0.62),
                   wheel=(0.28, 0.34), hood=(0.16, 0.32), tail=(0.02, 0.22), ws=(0.9, 1.8), rw=(0.5, 2.0),
                   rear_top=(0.0, 0.7), p_top=(2.0, 5.0), p_bot=(3.0, 7.0), plan=(0.7, 0.95), nose=(0.06, 0.16),
                   p_cab=(2.0, 4.5), nose_drop=(0.1, 0.25), tail_drop=(0.02, 0.15)),
    "sports": dict(L=(4.0, 4.8), W=(1.85, 2.15), clear=(0.08, 0.13), belt=(0.55, 0.75), cab=(0.3, 0.45),
                   wheel=(0.31, 0.35), hood=(0.28, 0.44), tail=(0.08, 0.22), ws=(1.6, 2.4), rw=(1.2, 2.8),
                   rear_top=(0.0, 0.2), p_top=(2.0, 3.5), p_bot=(4.0, 8.0), plan=(0.65, 0.9), nose=(0.08, 0.18),
                   p_cab=(2.0, 3.5), nose_drop=(0.15, 0.3), tail_drop=(0.0, 0.12), tire_width=(0.26, 0.34),
                   wheel_out=(-0.02, 0.08)),
    "touring": dict(L=(4.3, 4.9), W=(1.8, 2.1), clear=(0.06, 0.11), belt=(0.68, 0.8), cab=(0.4, 0.5),
                    wheel=(0.31, 0.35), hood=(0.22, 0.3), tail=(0.12, 0.2), ws=(1.1, 1.6), rw=(0.8, 1.5),
                    rear_top=(0.0, 0.15), p_top=(2.5, 5.0), p_bot=(5.0, 8.0), plan=(0.8, 0.95), nose=(0.05, 0.1),
                    p_cab=(2.5, 5.0), nose_drop=(0.1, 0.2), tail_drop=(0.0, 0.1), tire_width=(0.28, 0.34),
                    wheel_out=(0.0, 0.08)),
    "rally": dict(L=(3.6, 4.5), W=(1.7, 1.9), clear=(0.25, 0.42), belt=(0.95, 1.15), cab=(0.45, 0.6),
                  wheel=(0.33, 0.43), hood=(0.15, 0.28), tail=(0.02, 0.15), ws=(0.8, 1.4), rw=(0.3, 1.2),
                  rear_top=(0.3, 0.8), p_top=(2.0, 4.5), p_bot=(3.0, 6.0), plan=(0.7, 0.95), nose=(0.08, 0.18),
                  p_cab=(2.2, 4.0), nose_drop=(0.08, 0.2), tail_drop=(0.02, 0.12), tire_width=(0.24, 0.34),
                  wheel_out=(0.02, 0.16)),
    "suv": dict(L=(4.2, 5.0), W=(1.8, 2.0), clear=(0.2, 0.3), belt=(0.95, 1.1), cab=(0.5, 0.66),
                wheel=(0.34, 0.4), hood=(0.18, 0.26), tail=(0.0, 0.05), ws=(0.8, 1.2), rw=(0.15, 0.5),
                rear_top=(0.7, 0.95), p_top=(3.5, 8.0), p_bot=(5.0, 8.0), plan=(0.85, 0.97), nose=(0.04, 0.1),
                p_cab=(4.0, 8.0), nose_drop=(0.06, 0.15), tail_drop=(0.0, 0.06)),
    "pickup": dict(L=(5.0, 5.9), W=(1.85, 2.05), clear=(0.22, 0.32), belt=(1.0, 1.12), cab=(0.52, 0.64),
                   wheel=(0.36, 0.42), hood=(0.2, 0.26), tail=(0.36, 0.46), ws=(0.8, 1.2), rw=(0.05, 0.15),
                   rear_top=(0.9, 0.97), p_top=(4.0, 9.0), p_bot=(5.0, 8.0), plan=(0.85, 0.97), nose=(0.04, 0.08),
                   p_cab=(4.0, 8.0), nose_drop=(0.06, 0.14), tail_drop=(0.0, 0.03), overhang_rear=(0.17, 0.24)),
    "van": dict(L=(4.4, 5.6), W=(1.8, 2.05), clear=(0.14, 0.22), belt=(0.85, 1.0), cab=(0.8, 1.15),
                wheel=(0.3, 0.36), hood=(0.04, 0.16), tail=(0.0, 0.02), ws=(0.5, 1.0), rw=(0.05, 0.25),
                rear_top=(0.85, 0.97), p_top=(3.5, 8.0), p_bot=(5.0, 8.0), plan=(0.85, 0.97), nose=(0.05, 0.12),
                p_cab=(3.5, 7.0), nose_drop=(0.05, 0.2), tail_drop=(0.0, 0.04)),
}
KINDS = tuple(_TYPES)
# extras: probability of (wing, ducktail, splitter, light bar, roof rack, spare wheel)
_EXTRAS = {
    "saloon": (0.03, 0.12, 0.08, 0.0, 0.08, 0.0), "sports": (0.4, 0.25, 0.5, 0.0, 0.0, 0.0),
    "touring": (0.8, 0.1, 0.85, 0.0, 0.0, 0.0), "rally": (0.25, 0.15, 0.1, 0.5, 0.35, 0.3),
    "suv": (0.0, 0.05, 0.0, 0.1, 0.4, 0.25), "pickup": (0.0, 0.0, 0.0, 0.15, 0.1, 0.0),
    "van": (0.0, 0.0, 0.0, 0.0, 0.25, 0.0),
}


def sample(s: Sampler, kind: str) -> dict:
    r = {**_COMMON, **_TYPES[kind]}
    for key, (lo, hi) in r.items():
        s.uniform(key, lo, hi)
    s.integer("pillars", *((0, 1) if kind in ("sports", "pickup") else (1, 3) if kind == "van" else (1, 2)))
    wing, duck, splitter, bar, rack, spare = _EXTRAS[kind]
    spoiler = s.choice("spoiler", ("none", "wing", "ducktail"), [max(1 - wing - duck, 0), wing, duck])
    s.flag("splitter", splitter)
    s.flag("light_bar", bar)
    s.flag("roof_rack", rack)
    s.flag("spare_wheel", spare)
    s.uniform("wing_height", 0.1, 0.35 if spoiler == "wing" else 0.2)
    s.uniform("wing_chord", 0.2, 0.36)
    s.flag("wing_endplates", 0.6)
    s.uniform("bed_wall", 0.3, 0.48)
    details.sample_wheels(s)
    livery.sample(s, kind)
    s.color("glass", "glass")
    s.integer("texture_seed", 0, 2**31 - 1)
    return s.params


def profiles(p: dict) -> dict:
    """The body's and the greenhouse's sections along z (all heights above the ground)."""
    L, W, R = p["L"], p["W"], p["wheel"]
    z = stations(-L / 2, L / 2, 44)
    zf, zr = L / 2 - p["hood"] * L, -L / 2 + p["tail"] * L
    front = np.clip((z - zf) / max(L / 2 - zf, 1e-3), 0, 1)
    rear = np.clip((zr - z) / max(zr + L / 2, 1e-3), 0, 1)
    top = p["belt"] - p["nose_drop"] * front**1.5 - p["tail_drop"] * rear**1.5
    n = p["nose"] * L
    e = np.maximum(np.clip((z - (L / 2 - n)) / n, 0, 1), np.clip(((-L / 2 + n) - z) / n, 0, 1))
    rnd = 1 - np.sqrt(1 - e**2)  # a quarter circle: 0 along the body, 1 at the very ends
    clear = p["clear"]
    top = top - (top - clear) * 0.35 * rnd
    bottom = clear + (top - clear) * 0.25 * rnd
    w = W / 2 * (1 - (1 - p["plan"]) * rnd)
    axles = (L / 2 - p["overhang_front"] * L, -L / 2 + p["overhang_rear"] * L)
    ra = R + 0.04
    for zw in axles:  # wheel arches: the body's underside rises over each wheel
        dz = np.abs(z - zw)
        bottom = np.maximum(bottom, np.where(dz < ra, R + np.sqrt(np.clip(ra**2 - dz**2, 0, None)), 0.0))
    bottom = np.minimum(bottom, top - 0.14)

    # greenhouse from the rear-glass base zr to the windshield base zf
    if zf - zr < 0.9:
        zr = zf - 0.9
    cab = p["cab"]
    zg = stations(zr, zf, 30)
    ws_run, rw_run = p["ws"] * cab, max(p["rw"] * cab * (1 - p["rear_top"]), 0.02)
    span = zf - zr
    if ws_run + rw_run > 0.8 * span:  # keep a roof
        k = 0.8 * span / (ws_run + rw_run)
        ws_run, rw_run = ws_run * k, rw_run * k
    top_g = np.interp(zg, z, top)
    bot_g = np.interp(zg, z, bottom)
    rise_f = np.sin(np.clip((zf - zg) / ws_run, 0, 1) * np.pi / 2) ** p["ws_curve"]
    rise_r = p["rear_top"] + (1 - p["rear_top"]) * np.sin(np.clip((zg - zr) / rw_run, 0, 1) * np.pi / 2) ** p["rw_curve"]
    rise = np.minimum(rise_f, rise_r)
    roof = p["belt"] + cab
    mid = np.sin(np.pi * np.clip((zg - zr) / span, 0, 1))
    g_top = top_g + (roof - top_g) * rise + 0.05 * p["crown"] * cab * mid * rise
    g_mid = top_g - p["shoulder"] * (top_g - bot_g)  # where the greenhouse is widest
    g_top = np.maximum(g_top, top_g + 0.01)
    # the greenhouse's widest line lies on the body's surface (or inside it)
    w_g = np.interp(zg, z, w)
    yc, h = (top_g + bot_g) / 2, (top_g - bot_g) / 2
    body_w = w_g * np.clip(1 - np.clip((g_mid - yc) / h, 0, 1) ** p["p_top"], 0, 1) ** (1 / p["p_top"])
    g_w = np.minimum(W / 2 * (1 - p["inset"]), 0.98 * body_w)
    g_w = np.maximum(g_w, 0.25)
    return dict(z=z, top=top, bottom=bottom, w=w, axles=axles, zg=zg, g_top=g_top, g_mid=g_mid,
                g_bot=g_mid - 0.08, g_w=g_w, zf=zf, zr=zr, z_roof_f=zf - ws_run, z_roof_r=zr + rw_run)


def _greenhouse_tile(p: dict, g: dict) -> np.ndarray:
    """Windows in the greenhouse wall: side glass between belt and roof edge (pillars left in
    paint), the windshield and the rear glass over the top, the roof in paint."""
    c = p["colors"]
    t = 2 * np.pi * tx.U - np.pi / 2
    zg = g["zg"]
    z = zg[0] + tx.V * (zg[-1] - zg[0])
    mid, top = np.interp(z, zg, g["g_mid"]), np.interp(z, zg, g["g_top"])
    body_top = np.interp(z, g["z"], g["top"])
    s = np.sin(t)
    y = mid + (top - mid) * np.sign(s) * np.abs(s) ** (2 / p["p_cab"])
    above = y > body_top + 0.04
    side = (np.abs(np.cos(t)) > 0.3) & above & (y < top - 0.05) & (z > g["zr"] + 0.05) & (z < g["zf"] - 0.05)
    span = g["zf"] - g["zr"]
    for k in range(p["pillars"]):
        zc = g["zr"] + span * (p["pillar_at"] + 0.5 * k / max(p["pillars"], 1)) * 0.9
        side &= np.abs(z - zc) > 0.05
    over = (s > 0.55) & above & ((z > g["z_roof_f"]) | (z < g["z_roof_r"]))
    roof = tx.noise(tx.fill(c["secondary"] if p["livery"] == "two_tone" and p["number"] % 2 else c["paint"]),
                    p["texture_seed"] + 5, 0.02)
    gl = tx.gradient(tx.shade(c["glass"], 1.5), c["glass"], "u", 0.7)
    glass = side | over
    roof[glass] = gl[glass]
    return roof


def _rear_cap_tile(p: dict) -> np.ndarray:
    """The greenhouse's back (a hatch's or a van's rear window when it stands upright)."""
    img = tx.fill(p["colors"]["paint"])
    if p["rear_top"] > 0.3:
        tx.rect(img, 0.12, 0.3, 0.88, 0.88, p["colors"]["glass"])
    return img


def build(p: dict) -> Assembly:
    a = Assembly()
    seed = p["texture_seed"]
    L, W = p["L"], p["W"]
    g = profiles(p)
    height = float(np.max(g["g_top"]) - p["clear"])
    canvas = livery.side_canvas(p, aspect=L / max(2 * height, 0.5), seed=seed)
    body = {WALL: a.tile("body", livery.wall_tile(p, canvas)),
            CAP0: a.tile("tail", livery.end_tile(p, False, seed + 1)),
            CAP1: a.tile("nose", livery.end_tile(p, True, seed + 2))}
    a.add("body", loft(g["z"], g["bottom"], g["top"], g["w"], p["p_top"], p["p_bot"]), body)
    house = {WALL: a.tile("greenhouse", _greenhouse_tile(p, g)), CAP0: a.tile("rear_window", _rear_cap_tile(p)),
             CAP1: "greenhouse"}
    a.add("greenhouse", loft(g["zg"], g["g_bot"], g["g_top"], g["g_w"], p["p_cab"], 2.0, ym=g["g_mid"]), house)

    wheel = details.wheel_tiles(a, p, seed + 3)
    R, tw = p["wheel"], p["tire_width"]
    x_out = W / 2 + p["wheel_out"]
    details.add_wheels(a, wheel, [(zw, R, tw, x_out) for zw in g["axles"]])

    trim = details.trim_tile(a, p, seed + 4)
    z, top, bottom = g["z"], g["top"], g["bottom"]
    if p["spoiler"] == "wing":
        zw = -L / 2 + 0.1 + p["wing_chord"] / 2
        y_base = float(np.interp(zw, z, top))
        details.add_wing(a, trim, zw, y_base + p["wing_height"], W * 0.86, p["wing_chord"], p["wing_height"],
                         y_base - 0.03, p["wing_endplates"])
    elif p["spoiler"] == "ducktail":
        details.add_ducktail(a, trim, -L / 2, float(np.interp(-L / 2 + 0.14, z, top)), W * 0.8)
    if p["splitter"]:
        details.add_splitter(a, trim, L / 2 + 0.05, float(np.interp(L / 2 - 0.15, z, bottom)) + 0.02, W * 0.95, 0.3)
    roof_y = float(np.max(g["g_top"]))
    roof_len = max(g["z_roof_f"] - g["z_roof_r"], 0.4)
    if p["roof_rack"]:
        zc = (g["z_roof_f"] + g["z_roof_r"]) / 2
        a.add("roof_rack", box((W * 0.7, 0.05, roof_len * 0.8), (0, roof_y + 0.03, zc), caps="y"), trim)
    if p["light_bar"]:
        zb = g["z_roof_f"] - 0.05
        yb = float(np.interp(zb, g["zg"], g["g_top"]))
        a.add("light_bar", box((W * 0.6, 0.09, 0.1), (0, yb + 0.04, zb), caps="z"),
              {CAP0: trim, WALL: trim, CAP1: a.tile("lamps", tx.stripes(p["headlight"], [40, 40, 40], 6, "u", 0.7))})
    if p["spare_wheel"]:
        yr = round(float((top[0] + bottom[0]) / 2), 3)  # a round number: exact seams
        a.add("spare", cylinder(R * 0.9, -L / 2 - tw * 0.9, -L / 2 + 0.02, axis="z", segments=24, center=(0, yr, 0)), wheel)
    if p["type"] == "pickup":  # bed walls, tailgate and a liner floor behind the cab
        zr, bed_top = g["zr"], float(np.interp(g["zr"] - 0.3, z, top))
        length = zr + L / 2
        hw = float(np.interp(zr - length / 2, z, g["w"])) - 0.04
        paint = a.tile("bed", tx.noise(tx.fill(p["colors"]["paint"]), seed + 6, 0.02))
        liner = a.tile("bed_liner", tx.stripes(tx.shade(p["colors"]["trim"], 0.8), p["colors"]["trim"], 10, "u", 0.5))
        h = p["bed_wall"]
        zc = (zr - L / 2) / 2
        for sx in (-1, 1):
            a.add("bed", box((0.07, h, length), (sx * (hw - 0.035), bed_top + h / 2 - 0.1, zc), caps="x"), paint)
        a.add("bed", box((2 * hw, h, 0.07), (0, bed_top + h / 2 - 0.1, -L / 2 + 0.1), caps="z"), paint)
        a.add("bed", box((2 * hw - 0.1, 0.03, length - 0.1), (0, bed_top - 0.02, zc), caps="y"), liner)
    return a
