"""Clothing with volume, hair meshes and props around a posed anny body (generator process
only; numpy + trimesh, no torch).

Three kinds of geometry, all in anny's coordinates (meters, +z up, facing -y):

* **Shells** (`shell_thickness`, `dress_body`): the body's own faces in a garment region pushed
  out along the vertex normals by the garment's thickness (hair 1-4.5 cm, a sweater 1.2 cm, a
  jacket 2.2 cm, a coat 2.8 cm, wide trousers flaring to 4.5 cm at the hem, boots 0.8 cm),
  closed to the body by a rim along the region's border. They keep the body's UVs, so the
  painted texture (fabric, hair) shows on them; the body faces they cover are dropped, so the
  voxel shell is the garment's surface and no skin color mixes into it.
* **Skirts** (`skirt`): a surface hanging from the waist around both legs (skirts, dresses,
  the lower part of a coat), built on the unposed body: each ring is the 2D convex hull of
  the body below the waist down to that height, widened by an ease and an A-line flare, so it
  never cuts into a leg; then skinned to the pose with weights from the nearest body vertices
  (anny's own linear blend skinning, `rig.skinning_weights`). Its texture is the fabric at the
  skirt's own 3D points, with folds deepening toward the hem. Legs under it are dropped.
* **Extras**: a ponytail or a bun (skinned to the head), a seat under a sitting person (an
  invisible seat leaves none; a stool, a chair or a bench), and things held (a bag hanging
  from a hand, a phone, a box in both hands), vertex-colored.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np
import trimesh
from PIL import Image
from scipy.spatial import ConvexHull, cKDTree

from . import fabrics
from .fabrics import Fabric
from .paint import HAIR, HEM_LEG_S, LOWER, SHOES, UPPER, outfit_codes
from .rig import GROUPS

HAIR_THICKNESS = {"bald": 0.0, "buzz": 0.0, "short": 0.012, "bob": 0.028, "long": 0.022,
                  "curly": 0.045, "ponytail": 0.010, "bun": 0.012}
UPPER_THICKNESS = {"sweater": 0.012, "hoodie": 0.015, "jacket": 0.022, "coat": 0.028}
BOOT_THICKNESS = 0.008
COAT_HEM_S = 0.5  # a coat's skirt ends at the knee


# ------------------------------------------------------------------------------ shells
def shell_thickness(outfit, fields, neighbors: List[np.ndarray]) -> np.ndarray:
    """(V,) outward thickness (m) of the garment shell at each body vertex; 0 = bare/painted."""
    codes = outfit_codes(fields, outfit, meshed=True)
    t = np.zeros(len(codes))
    t[codes == HAIR] = HAIR_THICKNESS[outfit.hair]
    upper = outfit.outer if outfit.outer != "none" else outfit.top
    if upper in UPPER_THICKNESS:
        t[codes == UPPER] = UPPER_THICKNESS[upper]
    leg = np.isin(fields.group, [GROUPS.index("leg.L"), GROUPS.index("leg.R")])
    if outfit.bottom == "wide":
        s = np.clip(np.nan_to_num(fields.leg_s, nan=0.0), 0, 1)
        m = (codes == LOWER) & leg
        t[m] = 0.008 + 0.037 * s[m]
    if outfit.shoes == "boots":
        t[codes == SHOES] = BOOT_THICKNESS
    # Smooth where garments meet (hair on a collar), keeping each hem's step.
    covered = t > 0
    for _ in range(3):
        sm = t.copy()
        for v in np.flatnonzero(covered):
            nb = neighbors[v][covered[neighbors[v]]]
            sm[v] = (t[v] + t[nb].sum()) / (1 + len(nb))
        t = sm
    return t


def vertex_neighbors(faces: np.ndarray, n: int) -> List[np.ndarray]:
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    edges = np.unique(np.sort(edges, 1), axis=0)
    nb: List[list] = [[] for _ in range(n)]
    for a, b in edges:
        nb[a].append(b)
        nb[b].append(a)
    return [np.asarray(x, np.int64) for x in nb]


def hidden_vertices(outfit, fields) -> np.ndarray:
    """(V,) body vertices inside a skirt or a coat's skirt (dropped from the mesh)."""
    hem = None
    if outfit.bottom in ("skirt", "dress"):
        hem = HEM_LEG_S[outfit.length]
    if outfit.outer == "coat":
        hem = max(hem or 0.0, COAT_HEM_S)
    if hem is None:
        return np.zeros(len(fields.group), bool)
    leg = np.isin(fields.group, [GROUPS.index("leg.L"), GROUPS.index("leg.R")])
    torso = fields.group == GROUPS.index("torso")
    s = np.nan_to_num(fields.leg_s, nan=9.0)
    below_waist = fields.position[:, 2] < fields.anchors["hip_z"] - 0.01
    return (leg & (s < hem - 0.04)) | (torso & below_waist)


def dress_body(posed: np.ndarray, faces: np.ndarray, split, thickness: np.ndarray,
               hidden: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The body mesh with its shells: (vertices (K, 3), faces, the output vertex whose UV each
    vertex takes (K,)), in `split`'s output vertex order with the shell vertices appended.
    `faces`: the source faces (for the normals); `hidden` body vertices (inside a skirt) lose
    their faces."""
    normals = trimesh.Trimesh(posed, faces, process=False).vertex_normals
    src = split.vertex  # output vertex -> source vertex
    covered = thickness > 0
    out_faces = split.faces
    fc = covered[src[out_faces]].all(1)  # faces replaced by the shell
    fh = hidden[src[out_faces]].all(1)  # faces inside a skirt
    body_faces = out_faces[~fc & ~fh]
    verts = posed[src]
    if not fc.any():
        return verts, body_faces, np.arange(len(verts))
    shell_f = out_faces[fc]
    used = np.unique(shell_f)
    new_id = np.full(len(verts), -1)
    new_id[used] = len(verts) + np.arange(len(used))
    shell_v = posed[src[used]] + normals[src[used]] * thickness[src[used]][:, None]
    # Rim: the shell's border edges (in source ids, so UV seams are not borders).
    corners = [(0, 1), (1, 2), (2, 0)]
    e_src = np.concatenate([np.sort(src[shell_f][:, c], 1) for c in corners])
    e_out = np.concatenate([shell_f[:, c] for c in corners])
    _, inv, counts = np.unique(e_src, axis=0, return_inverse=True, return_counts=True)
    border = counts[inv.ravel()] == 1
    a, b = e_out[border, 0], e_out[border, 1]
    rim = np.concatenate([np.stack([a, b, new_id[b]], 1), np.stack([a, new_id[b], new_id[a]], 1)])
    faces_all = np.concatenate([body_faces, new_id[shell_f], rim])
    uv_index = np.concatenate([np.arange(len(verts)), used])  # output vertex of each vertex
    return np.concatenate([verts, shell_v]), faces_all, uv_index


# ------------------------------------------------------------------------------ skinning
class Skin:
    """Linear blend skinning from the unposed body to a pose: T_j = P_j A_j^-1."""

    def __init__(self, rest_vertices: np.ndarray, weights: np.ndarray, rest_bones: np.ndarray,
                 posed_bones: np.ndarray, region: Optional[np.ndarray] = None):
        self.rest = rest_vertices
        self.weights = weights
        self.transforms = posed_bones @ np.linalg.inv(rest_bones)  # (J, 4, 4)
        self.region = np.flatnonzero(region) if region is not None else np.arange(len(rest_vertices))
        self.tree = cKDTree(rest_vertices[self.region])

    def weights_at(self, points: np.ndarray, k: int = 12) -> np.ndarray:
        d, i = self.tree.query(points, k=k)
        w = 1.0 / np.maximum(d, 1e-4) ** 2
        w /= w.sum(1, keepdims=True)
        return np.einsum("nk,nkj->nj", w, self.weights[self.region[i]])

    def apply(self, points: np.ndarray, weights: np.ndarray) -> np.ndarray:
        m = np.einsum("nj,jab->nab", weights, self.transforms)
        return np.einsum("nab,nb->na", m, np.c_[points, np.ones(len(points))])[:, :3]


# ------------------------------------------------------------------------------ skirts
def _hull_radius(points2d: np.ndarray, center: np.ndarray, theta: np.ndarray) -> np.ndarray:
    hull = ConvexHull(points2d)
    n, off = hull.equations[:, :2], hull.equations[:, 2]
    d = np.stack([np.cos(theta), np.sin(theta)], 1)  # (T, 2)
    nd = d @ n.T  # (T, E)
    dist = -(off + n @ center)  # (E,) > 0: center inside
    with np.errstate(divide="ignore"):
        r = np.where(nd > 1e-9, dist[None] / nd, np.inf)
    return r.min(1)


def skirt(rest: np.ndarray, fields, heads: Dict[str, np.ndarray], skin: Skin, hem_s: float,
          fabric: Fabric, ease: float = 0.012, flare: float = 0.25, rings: int = 18,
          around: int = 48, seed: int = 0) -> trimesh.Trimesh:
    """A skirt from the waist to `hem_s` along the leg (0 hip, 1 ankle), posed; anny axes."""
    waist_z, hip_z, ankle_z = heads["waist"][2], heads["hip"][2], heads["ankle"][2]
    hem_z = hip_z - hem_s * (hip_z - ankle_z)
    leg = np.isin(fields.group, [GROUPS.index("leg.L"), GROUPS.index("leg.R")])
    torso = fields.group == GROUPS.index("torso")
    lower = (torso & (rest[:, 2] < waist_z + 0.01)) | leg
    pts = rest[lower & (rest[:, 2] >= hem_z - 0.02)]
    center = np.array([0.0, np.median(pts[np.abs(pts[:, 2] - waist_z) < 0.03, 1])])
    theta = np.linspace(0, 2 * np.pi, around, endpoint=False)
    zs = np.linspace(waist_z, hem_z, rings)
    radii = []
    for i, z in enumerate(zs):
        sel = pts[(pts[:, 2] >= z - 0.01) & (pts[:, 2] <= waist_z + 0.01), :2]
        r = _hull_radius(sel, center, theta)
        r = (np.roll(r, 1) + r + np.roll(r, -1)) / 3
        radii.append(r + ease * (0.5 + 0.5 * i / (rings - 1)) + flare * (waist_z - z))
    radii = np.maximum.accumulate(np.array(radii), axis=0)  # (R, T): it hangs, never narrows
    # vertices: one seam column repeated for the UVs
    th = np.r_[theta, 2 * np.pi]
    rr = np.c_[radii, radii[:, :1]]
    X = center[0] + rr * np.cos(th)[None]
    Y = center[1] + rr * np.sin(th)[None]
    Z = np.repeat(zs[:, None], len(th), 1)
    verts = np.stack([X, Y, Z], -1).reshape(-1, 3)
    cols = len(th)
    faces = []
    for i in range(rings - 1):
        for j in range(around):
            a, b, c, d = i * cols + j, i * cols + j + 1, (i + 1) * cols + j + 1, (i + 1) * cols + j
            faces += [(a, d, c), (a, c, b)]
    uv = np.stack([np.tile(np.linspace(0, 1, cols), rings),
                   np.repeat(np.linspace(1, 0, rings), cols)], 1)
    # texture: the fabric at the skirt's own points, folds deepening toward the hem
    h, w = 96, 192
    ti = np.linspace(0, rings - 1, h)
    tj = np.linspace(0, 2 * np.pi, w)
    r_img = np.array([np.interp(tj, th, rr[int(np.floor(t))] * (1 - t % 1)
                                + rr[min(int(np.floor(t)) + 1, rings - 1)] * (t % 1)) for t in ti])
    z_img = np.interp(ti, np.arange(rings), zs)[:, None] * np.ones((1, w))
    p = np.stack([center[0] + r_img * np.cos(tj)[None], center[1] + r_img * np.sin(tj)[None],
                  z_img], -1).reshape(-1, 3)
    rgb = fabrics.color(fabric, p, seed).reshape(h, w, 3)
    folds = 1.0 - 0.14 * (ti / (rings - 1))[:, None] * (0.5 + 0.5 * np.cos(tj * 11))[None]
    rgb = np.clip(rgb * folds[..., None], 0, 1)
    texture = Image.fromarray(np.round(rgb * 255).astype(np.uint8))
    posed = skin.apply(verts, skin.weights_at(verts))
    visual = trimesh.visual.TextureVisuals(uv=uv, material=trimesh.visual.material.SimpleMaterial(
        image=texture, diffuse=[255, 255, 255, 255]))
    return trimesh.Trimesh(posed, np.array(faces), visual=visual, process=False)


# ------------------------------------------------------------------------------ extras
def _colored(mesh: trimesh.Trimesh, fabric: Fabric, seed: int = 0,
             max_edge: float = 0.03) -> trimesh.Trimesh:
    v, f = trimesh.remesh.subdivide_to_size(mesh.vertices, mesh.faces, max_edge)
    rgb = fabrics.color(fabric, v, seed)
    colors = np.c_[np.round(rgb * 255), np.full(len(v), 255)].astype(np.uint8)
    return trimesh.Trimesh(v, f, vertex_colors=colors, process=False)


def _box(extents, center, rotation_z: float = 0.0) -> trimesh.Trimesh:
    m = trimesh.creation.box(extents)
    m.apply_transform(trimesh.transformations.rotation_matrix(rotation_z, [0, 0, 1]))
    m.apply_translation(center)
    return m


def hair_extra(outfit, rest: np.ndarray, fields, skin: Skin, head_bone: int) -> List[trimesh.Trimesh]:
    """A ponytail (a tapered tube down the back of the head) or a bun, skinned to the head."""
    if outfit.hair not in ("ponytail", "bun"):
        return []
    head = fields.segment == 1  # SEGMENT_NAMES.index("head")
    hp = rest[head]
    top = hp[:, 2].max()
    back = hp[(hp[:, 2] > top - 0.10)]
    anchor = back[np.argmax(back[:, 1])]  # the back of the head (+y is back)
    fabric = Fabric("hair", (outfit.hair_color, outfit.hair_color))
    if outfit.hair == "bun":
        m = trimesh.creation.icosphere(2, 0.05)
        m.apply_translation(anchor + np.array([0.0, 0.035, 0.02]))
    else:
        length = 0.24
        m = trimesh.creation.cone(0.035, length, sections=12)  # apex at +z
        m.apply_transform(trimesh.transformations.rotation_matrix(np.pi, [1, 0, 0]))  # apex down
        m.apply_translation(anchor + np.array([0.0, 0.03, 0.0]))
    m = _colored(m, fabric, max_edge=0.02)
    w = np.zeros((len(m.vertices), skin.weights.shape[1]))
    w[:, head_bone] = 1.0
    m.vertices = skin.apply(np.asarray(m.vertices), w)
    return [m]


def seat(kind: str, posed: np.ndarray, fields, seed: int = 0) -> List[trimesh.Trimesh]:
    """A stool, chair or bench under a sitting person ('none': an invisible seat)."""
    if kind == "none":
        return []
    leg = np.isin(fields.group, [GROUPS.index("leg.L"), GROUPS.index("leg.R")])
    torso = fields.group == GROUPS.index("torso")
    s = np.nan_to_num(fields.leg_s, nan=9.0)
    under = posed[(torso & (fields.position[:, 2] < fields.anchors["hip_z"])) | (leg & (s < 0.3))]
    top = under[:, 2].min()
    floor = posed[:, 2].min()
    cx, cy = under[:, 0].mean(), np.percentile(under[:, 1], 70)
    height = max(top - floor, 0.1)
    rng = np.random.default_rng(seed)
    wood = Fabric("wood", ((150, 105, 65), (110, 72, 40)))
    plastic = Fabric("plastic", (tuple(int(c) for c in rng.integers(40, 220, 3)),) * 2)
    material = wood if rng.random() < 0.6 else plastic
    parts = []
    if kind == "stool":
        seat_m = trimesh.creation.cylinder(0.17, 0.04, sections=24)
        seat_m.apply_translation([cx, cy, top - 0.02])
        parts.append(seat_m)
        for a in np.linspace(0, 2 * np.pi, 4, endpoint=False) + np.pi / 4:
            parts.append(_box((0.03, 0.03, height - 0.04),
                              [cx + 0.12 * np.cos(a), cy + 0.12 * np.sin(a), floor + (height - 0.04) / 2]))
    else:
        width = 0.46 if kind == "chair" else 0.9
        parts.append(_box((width, 0.44, 0.04), [cx, cy, top - 0.02]))
        for dx in (-width / 2 + 0.03, width / 2 - 0.03):
            for dy in (-0.19, 0.19):
                parts.append(_box((0.035, 0.035, height - 0.04), [cx + dx, cy + dy, floor + (height - 0.04) / 2]))
        if kind == "chair":  # a back behind the person
            back_y = max(cy + 0.21, posed[torso, 1].max() + 0.02)
            parts.append(_box((0.44, 0.03, 0.45), [cx, back_y, top + 0.225]))
    return [_colored(trimesh.util.concatenate(parts), material, seed)]


def held(kind: Optional[str], side: Optional[str], posed: np.ndarray, fields,
         seed: int = 0) -> List[trimesh.Trimesh]:
    """A bag hanging from the hand on `side`, a phone in it, or a box in both hands."""
    if not kind:
        return []
    rng = np.random.default_rng(seed)
    hand = {s: posed[fields.segment == (3 if s == "L" else 2)].mean(0) for s in ("L", "R")}
    if kind == "bag":
        c = hand[side]
        color = tuple(int(v) for v in rng.integers(30, 200, 3))
        kind_f = "leather" if rng.random() < 0.6 else "jersey"
        bag = _box((0.30, 0.11, 0.26), c + np.array([0.0, 0.0, -0.17]))
        strap = _box((0.025, 0.015, 0.06), c + np.array([0.0, 0.0, -0.03]))
        return [_colored(trimesh.util.concatenate([bag, strap]), Fabric(kind_f, (color, color)), seed)]
    if kind == "phone":
        c = hand[side]
        return [_colored(_box((0.075, 0.015, 0.15), c + np.array([0.0, -0.02, 0.04])),
                         Fabric("plastic", ((25, 25, 28), (25, 25, 28))), seed, 0.02)]
    c = 0.5 * (hand["L"] + hand["R"]) + np.array([0.0, -0.04, 0.06])
    width = max(abs(hand["L"][0] - hand["R"][0]) - 0.04, 0.2)
    return [_colored(_box((width, 0.28, 0.26), c), Fabric("cardboard", ((176, 138, 92),) * 2), seed)]
