"""Closed mesh primitives that carry their own UV mapping, and the assembler that packs them.

Every primitive returns a :class:`Part`: vertices, triangles, per-vertex local UVs in [0, 1]^2 and a
per-vertex *slot* number. A slot is one surface of the part that gets its own atlas tile:

- ``CAP0`` / ``CAP1``: the two end caps (planar projection, or polar for discs),
- ``WALL``: the side wall (u along the cross-section outline, v along the extrusion).

Vertices are never shared between slots, so each surface can have its own UVs; geometrically the
parts are closed (``trimesh.creation`` primitives carry no UVs and shapely, needed for
``extrude_polygon``, is not installed, hence these small numpy lofts). Face orientation is fixed
once, in :meth:`Assembly.mesh`, by the sign of each part's enclosed volume.

Coordinates: y is up, the object's front faces +z, x is to the object's left-right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh
from PIL import Image

from .texture import Atlas

CAP0, WALL, CAP1 = 0, 1, 2
_EPS_AREA = 1e-12


@dataclass
class Part:
    vertices: np.ndarray  # (n, 3) float64
    faces: np.ndarray  # (m, 3) int64
    uv: np.ndarray  # (n, 2) local UVs in [0, 1]
    slot: np.ndarray  # (n,) int, CAP0 / WALL / CAP1

    def transformed(self, matrix: np.ndarray) -> "Part":
        """Apply a 4x4 rigid (or scaling) transform; UVs are unchanged."""
        v = self.vertices @ matrix[:3, :3].T + matrix[:3, 3]
        return Part(v, self.faces, self.uv, self.slot)

    def moved(self, offset) -> "Part":
        return Part(self.vertices + np.asarray(offset, float), self.faces, self.uv, self.slot)

    def rotated(self, axis: str, angle: float, origin=(0.0, 0.0, 0.0)) -> "Part":
        o = np.asarray(origin, float)
        m = rotation(axis, angle)
        return Part((self.vertices - o) @ m.T + o, self.faces, self.uv, self.slot)


def rotation(axis: str, angle: float) -> np.ndarray:
    """3x3 right-handed rotation about a world axis."""
    c, s = np.cos(angle), np.sin(angle)
    if axis == "x":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def grid_piece(points: np.ndarray, uv: np.ndarray, slot: int, flip: bool = False):
    """Triangulate a (rows, cols) grid of points; zero-area triangles (poles, pinched ends) dropped.

    Winding: triangle (p[i,j], p[i,j+1], p[i+1,j+1]) has normal along d(col) x d(row); ``flip``
    reverses it. Each primitive flips the pieces needed to make its winding consistent.
    """
    rows, cols = points.shape[:2]
    idx = np.arange(rows * cols).reshape(rows, cols)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, 1:], idx[1:, :-1]
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)])
    v = points.reshape(-1, 3)
    area2 = np.linalg.norm(np.cross(v[faces[:, 1]] - v[faces[:, 0]], v[faces[:, 2]] - v[faces[:, 0]]), axis=1)
    faces = faces[area2 > _EPS_AREA]
    if flip:
        faces = faces[:, ::-1]
    return v, faces, uv.reshape(-1, 2), np.full(len(v), slot)


def merge_pieces(pieces) -> Part:
    vs, fs, uvs, ss, n = [], [], [], [], 0
    for v, f, uv, s in pieces:
        vs.append(v)
        fs.append(f + n)
        uvs.append(uv)
        ss.append(s)
        n += len(v)
    return Part(np.concatenate(vs), np.concatenate(fs), np.clip(np.concatenate(uvs), 0, 1), np.concatenate(ss))


def arc_param(ring: np.ndarray, closed: bool) -> np.ndarray:
    pts = np.concatenate([ring, ring[:1]]) if closed else ring
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    t = np.concatenate([[0.0], np.cumsum(seg)])
    return t / max(t[-1], 1e-12)


_AXES = {  # 2D outline coords (a, b) and extrusion depth d -> world (x, y, z)
    "z": lambda a, b, d: np.stack([a, b, d], -1),
    "y": lambda a, b, d: np.stack([a, d, b], -1),
    "x": lambda a, b, d: np.stack([d, b, a], -1),
}


def prism(lower, upper, depth=(-0.5, 0.5), axis: str = "z", inset: float = 0.0, mirror_cap1: bool = False) -> Part:
    """Extrude the 2D region between two curves along ``axis``.

    ``lower`` and ``upper`` are (n, 2) arrays (a, b) sampled at the same parameters, both ordered
    the same way (e.g. rear to front); the region is closed by joining their ends. ``inset``
    narrows the extrusion of the upper curve on both sides (a car cabin's tumblehome).
    Caps get a planar UV over the outline's bounding box: u = a, v = b; ``mirror_cap1`` flips u on
    CAP1 so that a decal reads the same way from both sides.
    """
    lo, up = np.asarray(lower, float), np.asarray(upper, float)
    d0, d1 = depth
    pts2 = np.concatenate([lo, up])
    amin, bmin = pts2.min(0)
    span = np.maximum(pts2.max(0) - pts2.min(0), 1e-9)
    to_world = _AXES[axis]

    # wall: ring = lower (forward) + upper (backward), swept from d0 to d1
    ring = np.concatenate([lo, up[::-1]])
    ring_d0 = np.concatenate([np.full(len(lo), d0), np.full(len(up), d0 + inset)])
    ring_d1 = np.concatenate([np.full(len(lo), d1), np.full(len(up), d1 - inset)])
    ring = np.concatenate([ring, ring[:1]])
    ring_d0 = np.concatenate([ring_d0, ring_d0[:1]])
    ring_d1 = np.concatenate([ring_d1, ring_d1[:1]])
    u = arc_param(ring[:-1], closed=True)
    wall = np.stack([to_world(ring[:, 0], ring[:, 1], ring_d0), to_world(ring[:, 0], ring[:, 1], ring_d1)])
    wall_uv = np.stack([np.stack([u, np.zeros_like(u)], -1), np.stack([u, np.ones_like(u)], -1)])

    pieces = [grid_piece(wall, wall_uv, WALL)]
    for dl, du, slot in ((d0, d0 + inset, CAP0), (d1, d1 - inset, CAP1)):
        cap = np.stack([to_world(lo[:, 0], lo[:, 1], np.full(len(lo), dl)), to_world(up[:, 0], up[:, 1], np.full(len(up), du))])
        cap_uv = (np.stack([lo, up]) - [amin, bmin]) / span
        if mirror_cap1 and slot == CAP1:
            cap_uv[..., 0] = 1 - cap_uv[..., 0]
        pieces.append(grid_piece(cap, cap_uv, slot, flip=slot == CAP0))
    return merge_pieces(pieces)


def box(size, center=(0.0, 0.0, 0.0), caps: str = "y") -> Part:
    """Axis-aligned box; the two faces normal to ``caps`` are CAP0 (min side) and CAP1 (max side)."""
    sx, sy, sz = np.asarray(size, float) / 2
    # outline extents (a half, b half) and depth half for each cap axis, see _AXES
    ha, hb, hd = {"z": (sx, sy, sz), "y": (sx, sz, sy), "x": (sz, sy, sx)}[caps]
    lower = np.array([[-ha, -hb], [ha, -hb]])
    upper = np.array([[-ha, hb], [ha, hb]])
    return prism(lower, upper, (-hd, hd), axis=caps).moved(center)


def slab(half_width, length_range, thickness, axis: str = "y", n: int = 48, base: float = 0.0) -> Part:
    """A flat plate whose outline is symmetric: |b| <= half_width(a) for a in length_range.

    With axis "y" the plate lies in the xz plane (a = x, b = z) between y = base and base + thickness;
    CAP1 is its top face. ``half_width`` is a vectorised function of a.
    """
    a = np.linspace(length_range[0], length_range[1], n)
    w = np.maximum(half_width(a), 0.0)
    w[w < 1e-6] = 0.0  # pinch exactly: no sliver faces at pointed ends
    return prism(np.stack([a, -w], -1), np.stack([a, w], -1), (base, base + thickness), axis=axis)


def superellipse(rx: float, rz: float, power: float):
    """half_width function of a superellipse |x/rx|^p + |z/rz|^p <= 1 (p=2 ellipse, large p square)."""
    return lambda a: rz * np.clip(1 - np.abs(a / rx) ** power, 0, 1) ** (1 / power)


def revolve(radius, height, axis: str = "y", segments: int = 32, center=(0.0, 0.0, 0.0)) -> Part:
    """Surface of revolution of the profile (radius[i], height[i]) about ``axis`` through ``center``.

    WALL: u = angle / 2pi, v = arc length along the profile. Ends with radius > 0 get flat disc caps
    (CAP0 at the first profile point, CAP1 at the last) with a polar UV: the disc fills its tile.
    """
    r, h = np.asarray(radius, float), np.asarray(height, float)
    th = np.linspace(0, 2 * np.pi, segments + 1)
    ct, st = np.cos(th), np.sin(th)

    def world(rr, hh):  # rr, hh broadcast with th
        p = {"y": (rr * ct, hh + 0 * ct, rr * st), "x": (hh + 0 * ct, rr * st, rr * ct), "z": (rr * ct, rr * st, hh + 0 * ct)}[axis]
        return np.stack(p, -1) + np.asarray(center, float)

    wall = np.stack([world(ri, hi) for ri, hi in zip(r, h)])
    v = arc_param(np.stack([r, h], -1), closed=False)
    wall_uv = np.stack(np.broadcast_arrays(th[None, :] / (2 * np.pi), v[:, None]), -1)
    pieces = [grid_piece(wall, wall_uv, WALL, flip=True)]
    for i, slot in ((0, CAP0), (-1, CAP1)):
        if r[i] > 0:
            cap = np.stack([world(0.0, h[i]), world(r[i], h[i])])
            disc = np.stack([0.5 + 0.5 * ct, 0.5 + 0.5 * st], -1)
            cap_uv = np.stack([np.full_like(disc, 0.5), disc])
            pieces.append(grid_piece(cap, cap_uv, slot, flip=slot == CAP0))
    return merge_pieces(pieces)


def cylinder(radius: float, h0: float, h1: float, axis: str = "y", segments: int = 32, center=(0.0, 0.0, 0.0), radius1=None) -> Part:
    """Closed (optionally tapered) cylinder from h0 to h1 along ``axis``."""
    r1 = radius if radius1 is None else radius1
    return revolve([radius, r1], [h0, h1], axis, segments, center)


def sphere(radius: float, center=(0.0, 0.0, 0.0), segments: int = 16, squash: float = 1.0) -> Part:
    ang = np.linspace(0, np.pi, segments // 2 + 1)
    return revolve(radius * np.sin(ang), -radius * squash * np.cos(ang), "y", segments, center)


def tube(path, radius, sides: int = 12, phase: float = 0.0) -> Part:
    """A closed tube of (per-point) ``radius`` along a 3D polyline; sides=4 gives a square rod.

    Frames are parallel-transported along the path. WALL: u around, v along the arc length;
    end caps CAP0 / CAP1 use the polar disc UV.
    """
    p = np.asarray(path, float)
    r = np.broadcast_to(np.asarray(radius, float), (len(p),))
    t = np.gradient(p, axis=0)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    ref = np.eye(3)[np.argmin(np.abs(t[0]))]
    n = np.cross(t[0], ref)
    n /= np.linalg.norm(n)
    normals = []
    for ti in t:
        n = n - np.dot(n, ti) * ti
        n /= np.linalg.norm(n)
        normals.append(n)
    nn = np.array(normals)
    bb = np.cross(t, nn)
    th = np.linspace(0, 2 * np.pi, sides + 1) + phase
    ct, st = np.cos(th), np.sin(th)
    rings = p[:, None] + r[:, None, None] * (ct[None, :, None] * nn[:, None] + st[None, :, None] * bb[:, None])
    v = arc_param(p, closed=False)
    uu = (th - phase) / (2 * np.pi)
    wall_uv = np.stack(np.broadcast_arrays(uu[None, :], v[:, None]), -1)
    pieces = [grid_piece(rings, wall_uv, WALL)]
    disc = np.stack([0.5 + 0.5 * np.cos(th - phase), 0.5 + 0.5 * np.sin(th - phase)], -1)
    for i, slot in ((0, CAP0), (-1, CAP1)):
        cap = np.stack([np.broadcast_to(p[i], rings[i].shape), rings[i]])
        pieces.append(grid_piece(cap, np.stack([np.full_like(disc, 0.5), disc]), slot, flip=slot == CAP1))
    return merge_pieces(pieces)


def rod(p0, p1, radius, square: bool = False, radius1=None) -> Part:
    """A straight leg or bar from p0 to p1: round (16 sides) or square (4 sides), optionally tapered."""
    r1 = radius if radius1 is None else radius1
    return tube([p0, p1], [radius, r1], sides=4 if square else 16, phase=np.pi / 4 if square else 0.0)


def rounded_path(points, radius: float, steps: int = 5) -> np.ndarray:
    """Replace each interior corner of a polyline by a quadratic Bezier fillet of about ``radius``."""
    p = np.asarray(points, float)
    out = [p[0]]
    for i in range(1, len(p) - 1):
        a, b, c = p[i - 1], p[i], p[i + 1]
        ra = min(radius, 0.45 * np.linalg.norm(b - a))
        rc = min(radius, 0.45 * np.linalg.norm(c - b))
        s = b + (a - b) / np.linalg.norm(a - b) * ra
        e = b + (c - b) / np.linalg.norm(c - b) * rc
        for t in np.linspace(0, 1, steps):
            out.append((1 - t) ** 2 * s + 2 * (1 - t) * t * b + t**2 * e)
    out.append(p[-1])
    return np.array(out)


def _signed_volume(v: np.ndarray, f: np.ndarray) -> float:
    return float(np.einsum("ij,ij->i", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]])).sum() / 6.0)


class Assembly:
    """Collects named parts and their atlas tiles, then emits one textured trimesh."""

    def __init__(self, tile_px: int = 128):
        self.atlas = Atlas(tile_px)
        self._parts: list[tuple[str, Part, dict]] = []

    def tile(self, name: str, image: np.ndarray) -> str:
        """Register a (tile_px, tile_px, 3) float image in [0, 1] under ``name``."""
        self.atlas.add(name, image)
        return name

    def add(self, name: str, part: Part, tiles) -> None:
        """Add a part; ``tiles`` is one tile name for all its surfaces or {slot: tile name}."""
        if isinstance(tiles, str):
            tiles = {CAP0: tiles, WALL: tiles, CAP1: tiles}
        self._parts.append((name, part, tiles))

    def mesh(self) -> trimesh.Trimesh:
        image, rects = self.atlas.pack()
        vs, fs, uvs, spans, n, nf = [], [], [], {}, 0, 0
        for name, part, tiles in self._parts:
            f = part.faces
            if _signed_volume(part.vertices, f) < 0:  # make normals point outward
                f = f[:, ::-1]
            uv = np.empty_like(part.uv)
            for slot in np.unique(part.slot):
                m = part.slot == slot
                u0, v0, u1, v1 = rects[tiles[int(slot)]]
                uv[m] = [u0, v0] + part.uv[m] * [u1 - u0, v1 - v0]
            vs.append(part.vertices)
            fs.append(f + n)
            uvs.append(uv)
            spans.setdefault(name, []).append([nf, nf + len(f)])
            n += len(part.vertices)
            nf += len(f)
        v, f, uv = np.concatenate(vs), np.concatenate(fs), np.concatenate(uvs)
        used = np.unique(f)
        remap = np.full(len(v), -1)
        remap[used] = np.arange(len(used))
        material = trimesh.visual.material.SimpleMaterial(image=Image.fromarray(image))
        mesh = trimesh.Trimesh(
            vertices=v[used], faces=remap[f], visual=trimesh.visual.TextureVisuals(uv=uv[used], material=material), process=False
        )
        mesh.metadata["part_faces"] = spans  # name -> list of [first, end) face ranges
        return mesh
