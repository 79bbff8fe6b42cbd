"""Body regions in UV space: what each texel of the texture is (torch-free numpy, but needs
anny's data; generator process only).

Every body shares anny's UV layout, so the regions are computed once, on the canonical body
(all phenotypes 0.5, rest pose), and hold for every body and pose:

1. Rasterize the UV triangles: for each texel, the face it lies in and its barycentric
   coordinates (ray casting onto the flat UV mesh with embree).
2. Interpolate per-vertex fields to the texels: the canonical 3D position and the bone-group
   weights (torso / head / arms / legs, summed skinning weights). Taking the argmax of the
   *interpolated* weights gives clean borders, where a per-vertex dominant bone would leave
   saw-tooth speckle along them.
3. Read anny's UV body-part segmentation (head, hands, feet, eyes, mouth) at each texel.
4. Derive smooth coordinates the clothing rules use: `arm_t` (0 at the shoulder, 1 at the
   wrist), `leg_s` (0 at the hip joint, 1 at the ankle), height `z`, and anchor heights
   (waist, neck, chest, head top) from the canonical skeleton.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

import numpy as np
import trimesh
from PIL import Image

from .rig import GROUPS, Rig

SEGMENT_NAMES = ("body", "head", "hand.R", "hand.L", "eye_back.L", "eye_front.L", "eye_back.R",
                 "eye_front.R", "eye_cavity.R", "eye_cavity.L", "mouth_cavity", "foot.L",
                 "foot.R", "tongue")


@dataclass
class Atlas:
    size: int
    covered: np.ndarray  # (S, S) bool: texels inside a UV triangle
    fill_rows: np.ndarray  # (S, S) nearest covered texel, for dilation past the UV borders
    fill_cols: np.ndarray
    position: np.ndarray  # (N, 3) canonical 3D position of each covered texel (row-major)
    group: np.ndarray  # (N,) index into GROUPS
    segment: np.ndarray  # (N,) index into SEGMENT_NAMES
    arm_t: np.ndarray  # (N,) along the arm of the texel's side (nan off the arms)
    leg_s: np.ndarray  # (N,) along the leg of the texel's side
    masks: Dict[str, np.ndarray]  # (N,) grayscale anny masks (lips, eyelids, skin detail)
    anchors: Dict[str, float]  # heights and head geometry of the canonical body


def _rasterize(rig: Rig, size: int):
    """Face index and barycentrics per texel center (texel row 0 = v 1, trimesh's convention)."""
    uv3 = np.c_[rig.uv, np.zeros(len(rig.uv))]
    flat = trimesh.Trimesh(uv3, rig.face_uv, process=False)
    cols, rows = np.meshgrid(np.arange(size), np.arange(size))
    u = (cols.ravel() + 0.5) / size
    v = 1.0 - (rows.ravel() + 0.5) / size
    origins = np.c_[u, v, np.ones_like(u)]
    faces = flat.ray.intersects_first(origins, np.tile([0.0, 0.0, -1.0], (len(u), 1)))
    hit = faces >= 0
    bary = trimesh.triangles.points_to_barycentric(
        flat.triangles[faces[hit]], np.c_[u[hit], v[hit], np.zeros(hit.sum())])
    return hit.reshape(size, size), faces[hit], np.clip(bary, 0.0, 1.0)


def _read_segmentation(size: int) -> np.ndarray:
    """anny's UV segmentation image -> (S, S) segment index (nearest color)."""
    import yaml
    from anny.paths import get_anny_root_dir

    folder = get_anny_root_dir() / "data" / "segmentation"
    colors = yaml.safe_load((folder / "body_parts_segmentation.yaml").read_text())["colors"]
    img = np.asarray(Image.open(folder / "body_parts_segmentation.png").convert("RGB")
                     .resize((size, size), Image.NEAREST), np.float32)
    palette = np.array([colors[n] for n in SEGMENT_NAMES], np.float32)  # (K, 3)
    dist = ((img[:, :, None, :] - palette[None, None]) ** 2).sum(-1)
    return dist.argmin(-1)


def _read_mask(name: str, size: int) -> np.ndarray:
    from anny.paths import get_anny_root_dir

    path = get_anny_root_dir() / "data" / "mpfb2" / "textures" / name
    return np.asarray(Image.open(path).convert("L").resize((size, size), Image.BILINEAR),
                      np.float32) / 255.0


@dataclass
class VertexFields:
    """The atlas's fields at the mesh vertices instead of the texels (same names, so the
    paint rules run on either): which garment region each vertex is in, for the shells."""

    position: np.ndarray  # (V, 3) canonical position
    group: np.ndarray
    segment: np.ndarray
    arm_t: np.ndarray
    leg_s: np.ndarray
    anchors: Dict[str, float]


def vertex_fields(rig: Rig, atlas: Atlas) -> VertexFields:
    """Per-vertex canonical position, bone group, segment (at a UV corner of the vertex) and
    limb coordinates, with the atlas's anchors."""
    canonical = rig.forward({})
    heads = canonical.rest_heads
    position = canonical.vertices
    group = rig.group_weights.argmax(1)
    corner_uv = np.zeros((len(position), 2))
    corner_uv[rig.faces.ravel()] = rig.uv[rig.face_uv.ravel()]
    size = atlas.size
    seg_img = _read_segmentation(size)
    cols = np.clip((corner_uv[:, 0] * size).astype(int), 0, size - 1)
    rows = np.clip(((1.0 - corner_uv[:, 1]) * size).astype(int), 0, size - 1)
    segment = seg_img[rows, cols]
    arm_t, leg_s = _limb_coordinates(rig, heads, position, group)
    return VertexFields(position, group, segment, arm_t, leg_s, atlas.anchors)


def _limb_coordinates(rig: Rig, heads: np.ndarray, position: np.ndarray, group: np.ndarray):
    b = rig.bone
    arm_t = np.full(len(position), np.nan)
    leg_s = np.full(len(position), np.nan)
    for side in ("L", "R"):
        on_arm = group == GROUPS.index(f"arm.{side}")
        shoulder, wrist = heads[b(f"upperarm01.{side}")], heads[b(f"wrist.{side}")]
        axis = wrist - shoulder
        arm_t[on_arm] = (position[on_arm] - shoulder) @ axis / (axis @ axis)
        on_leg = group == GROUPS.index(f"leg.{side}")
        hip_z, ankle_z = heads[b(f"upperleg01.{side}")][2], heads[b(f"foot.{side}")][2]
        leg_s[on_leg] = (hip_z - position[on_leg, 2]) / (hip_z - ankle_z)
    return arm_t, leg_s


def build_atlas(rig: Rig, size: int = 512) -> Atlas:
    covered, faces, bary = _rasterize(rig, size)
    canonical = rig.forward({})  # all phenotypes 0.5, rest pose
    corners = rig.faces[faces]  # (N, 3) vertex ids
    position = np.einsum("nk,nkd->nd", bary, canonical.vertices[corners])
    weights = np.einsum("nk,nkg->ng", bary, rig.group_weights[corners])
    group = weights.argmax(1)
    segment = _read_segmentation(size)[covered]
    masks = {k: _read_mask(f, size)[covered] for k, f in
             (("lips", "mpfb_lips.jpg"), ("eyelids", "mpfb_eyelids.jpg"))}
    masks["detail"] = np.asarray(Image.open(
        _anny_data("mpfb2/textures/sss.png")).convert("L").resize((size, size), Image.BILINEAR),
        np.float32)[covered] / 255.0

    heads = canonical.rest_heads
    b = rig.bone
    arm_t, leg_s = _limb_coordinates(rig, heads, position, group)

    head_pts = position[segment == SEGMENT_NAMES.index("head")]
    hip_z = heads[b("upperleg01.L")][2]
    anchors = {
        "hip_z": float(hip_z),
        "waist_z": float(heads[b("spine04")][2]),
        "chest_z": float(0.5 * (heads[b("spine01")][2] + heads[b("neck01")][2])),
        "neck_z": float(heads[b("neck01")][2]),
        "shoulder_x": float(heads[b("upperarm01.L")][0]),
        "head_top_z": float(head_pts[:, 2].max()),
        "head_center_y": float(0.5 * (head_pts[:, 1].min() + head_pts[:, 1].max())),
        "head_radius_y": float(0.5 * (head_pts[:, 1].max() - head_pts[:, 1].min())),
        "front_y": float(np.percentile(position[group == GROUPS.index("torso"), 1], 5)),
        "body_center_y": float(np.median(position[group == GROUPS.index("torso"), 1])),
        "ankle_z": float(heads[b("foot.L")][2]),
    }

    from scipy import ndimage
    _, (rows, cols) = ndimage.distance_transform_edt(~covered, return_indices=True)
    return Atlas(size=size, covered=covered, fill_rows=rows, fill_cols=cols, position=position,
                 group=group, segment=segment, arm_t=arm_t, leg_s=leg_s, masks=masks,
                 anchors=anchors)


def _anny_data(relative: str):
    from anny.paths import get_anny_root_dir

    return get_anny_root_dir() / "data" / relative
