"""Paint a style onto the UV atlas: clothing regions, patterns, skin, hair -> a texture.

Regions are rules on the atlas's smooth fields (see `atlas`), so their borders are clean
curves: a waistline (`waist_z`), a neckline, sleeve and trouser hems at fixed `arm_t` /
`leg_s`, a hairline on the head that runs from the forehead down to the nape, shoes on the feet.
Patterns are functions of the canonical 3D position, so stripes stay horizontal and prints
continue across UV seams. Small isolated islands of a region (a few texels caught by a rule
near a border) are merged into their surroundings, so the texture has no speckle.
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np
from scipy import ndimage

from .atlas import SEGMENT_NAMES, Atlas
from .rig import GROUPS
from .styles import Garment, Style

# Region codes of a painted texel.
SKIN, HAIR, UPPER, LOWER, BELT, SHOES, EYE_WHITE, IRIS, INNER = range(9)
REGION_NAMES = ("skin", "hair", "upper", "lower", "belt", "shoes", "eye_white", "iris", "inner")

SLEEVE_T = {"sleeveless": -1.0, "short": 0.30, "long": 0.97}  # hem position along the arm
HEM_S = {"shorts": 0.28, "knee": 0.58, "long": 0.975, "skirt": 0.45}  # along the leg
DRESS_HEM_S = {"skirt": 0.45, "knee": 0.55}
SHOE_S = {"shoes": 0.975, "boots": 0.78}
# Hairline depth below the head top (m) at the (sides, back); the forehead is always
# HAIR_FRONT, so hair never covers the face.
HAIR_DEPTH = {"bald": (0.0, 0.0), "short": (0.10, 0.16), "medium": (0.15, 0.20),
              "long": (0.20, 0.25)}
HAIR_FRONT = 0.065

_SEG = {n: i for i, n in enumerate(SEGMENT_NAMES)}


def regions(atlas: Atlas, style: Style) -> np.ndarray:
    """(N,) region code of every covered texel for a style."""
    return _tidy(atlas, region_codes(atlas, style))


def region_codes(atlas, style: Style) -> np.ndarray:
    """(N,) region code of every point of `atlas` (an `Atlas`: its texels, or a
    `VertexFields`: the mesh vertices) for a style, before the clean-up of tiny islands."""
    x, y, z = atlas.position.T
    a = atlas.anchors
    seg, grp = atlas.segment, atlas.group
    body = seg == _SEG["body"]
    torso = body & (grp == GROUPS.index("torso"))
    arm = body & np.isin(grp, [GROUPS.index("arm.L"), GROUPS.index("arm.R")])
    leg = body & np.isin(grp, [GROUPS.index("leg.L"), GROUPS.index("leg.R")])
    neck = body & (grp == GROUPS.index("head"))
    arm_t = np.nan_to_num(atlas.arm_t, nan=-9.0)
    leg_s = np.nan_to_num(atlas.leg_s, nan=-9.0)

    out = np.full(len(z), SKIN, np.int8)
    # Bottoms: below the waistline on the torso, and down the legs to the hem.
    hem = DRESS_HEM_S[style.bottom] if style.dress else HEM_S[style.bottom]
    out[(torso & (z < a["waist_z"])) | (leg & (leg_s < hem))] = LOWER if not style.dress else UPPER
    # Top (or the dress's bodice): the torso from the waist (untucked: a little below) to the
    # neckline, which dips at the front; sleeves down the arms to their hem.
    front = np.clip((a["body_center_y"] - y) / 0.08, 0.0, 1.0)
    neckline = a["neck_z"] - 0.015 - 0.05 * front
    tucked = style.belt is not None or style.dress
    bottom_edge = a["waist_z"] if tucked else a["waist_z"] - 0.05
    top = torso & (z >= bottom_edge) & (z <= neckline)
    if style.top == "sleeveless" or style.dress:  # cut the armholes out of the shoulders
        top &= ~((np.abs(x) > a["shoulder_x"] - 0.045) & (z > a["chest_z"] - 0.06))
    out[top] = UPPER
    if not style.dress:
        out[arm & (arm_t < SLEEVE_T[style.top])] = UPPER
    if style.belt is not None and not style.dress:
        out[(torso | leg) & (z >= a["waist_z"] - 0.002) & (z < a["waist_z"] + 0.03)] = BELT
    # Shoes.
    out[np.isin(seg, [_SEG["foot.L"], _SEG["foot.R"]]) | (leg & (leg_s > SHOE_S[style.shoes]))] = SHOES
    # Hair: above a hairline that drops from the forehead to the nape; long hair also covers
    # the back of the neck and the upper back.
    head = seg == _SEG["head"]
    side_depth, back_depth = HAIR_DEPTH[style.hair]
    if side_depth > 0:
        back = np.clip((y - a["head_center_y"]) / a["head_radius_y"], -1.0, 1.0)  # -1 front
        to_side = np.clip((back + 0.55) / 0.55, 0.0, 1.0)
        to_side = to_side * to_side * (3 - 2 * to_side)  # smoothstep: a round hairline
        depth = np.where(back < 0, HAIR_FRONT + (side_depth - HAIR_FRONT) * to_side,
                         side_depth + (back_depth - side_depth) * back)
        line = a["head_top_z"] - depth
        out[head & (z > line)] = HAIR
        if style.hair in ("medium", "long"):
            out[neck & (back > 0.0) & (z > line)] = HAIR
        if style.hair == "long":  # down the back, with a rounded lower edge
            edge = a["neck_z"] - 0.15 + 0.08 * (x / 0.12) ** 2
            out[(neck | torso) & (y > a["body_center_y"] + 0.02) & (np.abs(x) < 0.12)
                & (z > edge)] = HAIR
    # Eyes and the insides (mouth, sockets: removed from the mesh, painted dark anyway).
    for side in ("L", "R"):
        eye = seg == _SEG[f"eye_front.{side}"]
        if eye.any():
            apex = atlas.position[eye][np.argmin(y[eye])]
            r = np.linalg.norm(atlas.position - apex, axis=1)
            out[eye] = np.where(r[eye] < 0.0075, IRIS, EYE_WHITE)
        out[seg == _SEG[f"eye_back.{side}"]] = EYE_WHITE
    out[np.isin(seg, [_SEG["mouth_cavity"], _SEG["tongue"], _SEG["eye_cavity.L"],
                      _SEG["eye_cavity.R"]])] = INNER
    return out


def _tidy(atlas: Atlas, codes: np.ndarray, min_texels: int = 12) -> np.ndarray:
    """Merge connected islands smaller than `min_texels` into the nearest other region."""
    img = np.full(atlas.covered.shape, -1, np.int16)
    img[atlas.covered] = codes
    small = np.zeros_like(atlas.covered)
    for code in np.unique(codes):
        lab, n = ndimage.label(img == code)
        if n:
            sizes = np.bincount(lab.ravel())
            tiny = np.flatnonzero(sizes < min_texels)
            tiny = tiny[tiny > 0]
            small |= np.isin(lab, tiny)
    if not small.any():
        return codes
    keep = atlas.covered & ~small
    _, (r, c) = ndimage.distance_transform_edt(~keep, return_indices=True)
    img = np.where(small, img[r, c], img)
    return img[atlas.covered].astype(np.int8)


def _c(rgb) -> np.ndarray:
    return np.asarray(rgb, np.float32) / 255.0


def pattern(g: Garment, pos: np.ndarray, z_range: Tuple[float, float], anchors: Dict[str, float],
            on_front_chest: Tuple[float, float]) -> np.ndarray:
    """(N, 3) colors in [0, 1] of garment `g` at canonical positions `pos` (N, 3)."""
    a, b = _c(g.colors[0]), _c(g.colors[1])
    x, y, z = pos.T
    if g.pattern == "solid":
        mix = np.zeros(len(z))
    elif g.pattern == "stripes":  # horizontal bands, 7 cm period
        mix = (np.mod(z / 0.07, 1.0) >= 0.62).astype(np.float32)
    elif g.pattern == "checks":  # 3D checkerboard, 8 cm cells: checks seen from any side
        mix = (np.floor(x / 0.08) + np.floor(y / 0.08) + np.floor(z / 0.08)) % 2
    elif g.pattern == "gradient":  # a (bottom) to b (top) over the garment
        mix = np.clip((z - z_range[0]) / (z_range[1] - z_range[0]), 0.0, 1.0)
    elif g.pattern == "dots":  # 1.6 cm dots on a 5 cm lattice (a small print)
        d = np.mod(pos / 0.05, 1.0) - 0.5
        mix = (np.linalg.norm(d, axis=1) * 0.05 < 0.016).astype(np.float32)
    elif g.pattern == "logo":  # a star on the front of the chest
        cx, cz = on_front_chest
        rx, rz = x - cx, z - cz
        r, th = np.hypot(rx, rz), np.arctan2(rz, rx) - np.pi / 2
        front = y < anchors["body_center_y"]
        mix = (front & (r < 0.085 * (0.62 + 0.38 * np.cos(5 * th)))).astype(np.float32)
    else:
        raise ValueError(g.pattern)
    return (1 - mix)[:, None] * a + mix[:, None] * b


def _skin(atlas: Atlas, skin_tone) -> np.ndarray:
    """(N, 3) skin colors with anny's face detail (relief, lips, eyelids)."""
    skin = _c(skin_tone)
    detail = atlas.masks["detail"]
    shade = 1.0 + 0.35 * (detail - np.median(detail))  # anny's skin detail map: face relief
    skin_rgb = np.clip(skin[None] * shade[:, None], 0, 1)
    lips = atlas.masks["lips"][:, None]
    skin_rgb = skin_rgb * (1 - 0.6 * lips) + 0.6 * lips * np.array([0.62, 0.28, 0.28]) * (0.5 + skin)
    skin_rgb *= (1.0 - 0.25 * atlas.masks["eyelids"])[:, None]
    return skin_rgb


def paint(atlas: Atlas, style: Style, skin_tone) -> np.ndarray:
    """Texture (S, S, 3) uint8 for a style on a body with `skin_tone`; texels outside the UV
    islands are filled from their nearest island texel (no dark seams when filtering)."""
    codes = regions(atlas, style)
    a = atlas.anchors
    pos = atlas.position
    colors = np.zeros((len(codes), 3), np.float32)

    colors[:] = _skin(atlas, skin_tone)

    chest = (0.0, a["chest_z"] - 0.08)
    m = codes == UPPER
    colors[m] = pattern(style.upper, pos[m], (a["waist_z"] - 0.05, a["neck_z"]), a, chest)
    m = codes == LOWER
    colors[m] = pattern(style.lower, pos[m], (a["ankle_z"], a["waist_z"]), a, (0.0, a["hip_z"]))
    colors[codes == HAIR] = _c(style.hair_color)
    colors[codes == SHOES] = _c(style.shoe_color)
    if style.belt is not None:
        colors[codes == BELT] = _c(style.belt)
    return _texture(atlas, codes, colors)



# -- the wide sets' outfits: regions from the outfit's flat style, colors from real fabrics ----
# Where a skirt or a dress is a mesh of its own, the leg below its hem is skin (bare legs);
# above the hem the legs are hidden and dropped from the mesh.
HEM_LEG_S = {"mini": 0.30, "knee": 0.55, "midi": 0.75, "maxi": 0.93}


def outfit_codes(fields, outfit, meshed: bool, tidy_atlas: Atlas = None) -> np.ndarray:
    """Region codes of an `outfits.Outfit` at the points of `fields` (atlas or vertices)."""
    codes = region_codes(fields, outfit.to_style())
    if meshed and outfit.bottom in ("skirt", "dress"):
        leg_s = np.nan_to_num(fields.leg_s, nan=-9.0)
        bare = (leg_s >= HEM_LEG_S[outfit.length] - 0.02) & np.isin(codes, [UPPER, LOWER])
        codes[bare] = SKIN
    return _tidy(tidy_atlas, codes) if tidy_atlas is not None else codes


def paint_outfit(atlas: Atlas, outfit, skin_tone, meshed: bool, seed: int = 0) -> np.ndarray:
    """Texture (S, S, 3) uint8 of an outfit on a body: fabric colors (`fabrics.color` at each
    texel's canonical position) for the garments, strands for the hair, leather for shoes."""
    from . import fabrics

    codes = outfit_codes(atlas, outfit, meshed, tidy_atlas=atlas)
    pos = atlas.position
    colors = _skin(atlas, skin_tone).astype(np.float32)
    upper = (outfit.outer_fabric if outfit.outer != "none" else
             outfit.bottom_fabric if outfit.bottom == "dress" else outfit.top_fabric)
    for code, fabric in ((UPPER, upper), (LOWER, outfit.bottom_fabric),
                         (HAIR, fabrics.Fabric("hair", (outfit.hair_color, outfit.hair_color))),
                         (SHOES, fabrics.Fabric("leather", (outfit.shoe_color, outfit.shoe_color)))):
        m = codes == code
        if m.any():
            colors[m] = fabrics.color(fabric, pos[m], seed)
    return _texture(atlas, codes, colors)


def _texture(atlas: Atlas, codes: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """The texture (S, S, 3) uint8 of per-texel `colors` (float, 0-1) with the face's fixed
    colors (eye whites, irises, mouth) painted over their regions and the uncovered texels
    filled from their nearest covered ones."""
    colors[codes == EYE_WHITE] = _c((205, 200, 194))
    colors[codes == IRIS] = _c((70, 50, 36))
    colors[codes == INNER] = _c((120, 40, 40))
    tex = np.zeros(atlas.covered.shape + (3,), np.float32)
    tex[atlas.covered] = colors
    tex = tex[atlas.fill_rows, atlas.fill_cols]
    return np.round(np.clip(tex, 0, 1) * 255).astype(np.uint8)
