"""Read AC3D files (`.ac`, and TORCS's `.acc`) into a textured trimesh Scene.

AC3D is a text format: MATERIAL lines (rgb ...), then a tree of OBJECTs (world / group /
poly), each with an optional name, texture, texrep / texoff, rot / loc (relative to its
parent), numvert vertices (x y z, `.acc` adds a normal) and numsurf surfaces (SURF flags,
mat, refs: vertex index and u v per corner; `.acc` adds three more u v pairs, for the game's
tiled / skid / shadow layers, which we ignore). The SURF type is the flags' low nibble:
0 polygon (triangulated as a fan), 4 triangle strip (TORCS), 1 and 2 lines (no area: skipped).

One trimesh per poly object: textured (its first texture, uv * texrep + texoff) or colored
per face by its surfaces' materials. `textures` maps a texture file name to another file
(TORCS liveries repaint a car by swapping its texture).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import trimesh

from .meshes import MeshError

POLYGON, CLOSED_LINE, LINE, STRIP = 0, 1, 2, 4


class _Reader:
    def __init__(self, path: Path):
        self.path = path
        self.lines = path.read_text(encoding="latin-1").splitlines()
        self.i = 0

    def next(self) -> List[str]:
        while self.i < len(self.lines):
            line = self.lines[self.i].strip()
            self.i += 1
            if line:
                return _split(line)
        raise MeshError(f"{self.path.name}: ends early (line {self.i})")

    def floats(self, n: int, words: List[str], what: str) -> np.ndarray:
        try:
            if len(words) < n:
                raise ValueError
            return np.asarray([float(w) for w in words[:n]], dtype=np.float64)
        except ValueError:
            raise MeshError(f"{self.path.name}: bad {what} on line {self.i} (expected {n} "
                            f"numbers)") from None

    def count(self, words: List[str], base: int = 10) -> int:
        """The integer after a keyword (numvert 8, kids 2, SURF 0x14 with base 0)."""
        try:
            return int(words[1], base)
        except (IndexError, ValueError):
            raise MeshError(f"{self.path.name}: bad {words[0]} on line {self.i}") from None

    def skip_chars(self, n: int) -> None:
        """Skip a `data` block: n characters, which may span lines."""
        while n > 0 and self.i < len(self.lines):
            n -= len(self.lines[self.i]) + 1
            self.i += 1


def _split(line: str) -> List[str]:
    """Words of a line (split on spaces and tabs); a quoted string is one word (without its
    quotes)."""
    words, rest = [], line
    while rest:
        rest = rest.lstrip()
        if not rest:
            break
        if rest[0] == '"':
            end = rest.find('"', 1)
            end = len(rest) if end < 0 else end
            words.append(rest[1:end])
            rest = rest[end + 1:]
        else:
            word, *tail = rest.split(None, 1)
            words.append(word)
            rest = tail[0] if tail else ""
    return words


def load_ac3d(path: os.PathLike, textures: Optional[Dict[str, os.PathLike]] = None
              ) -> trimesh.Scene:
    """The AC3D file at `path` as a Scene of its poly objects (world coordinates: every
    object's rot / loc applied). Raises MeshError: unreadable, a missing texture, no surface."""
    from PIL import Image

    path = Path(path)
    if not path.is_file():
        raise MeshError(f"mesh file {path} not found")
    r = _Reader(path)
    header = r.next()
    if not header or not header[0].startswith("AC3D"):
        raise MeshError(f"{path.name} is not an AC3D file (no AC3D header)")
    materials: List[np.ndarray] = []
    scene = trimesh.Scene()
    images: Dict[Path, object] = {}

    def texture_image(name: str):
        file = Path((textures or {}).get(name) or path.parent / name)
        if file not in images:
            if not file.is_file():
                raise MeshError(f"{path.name}: texture {name} not found (looked for {file})")
            try:
                images[file] = Image.open(file).convert("RGB")
            except OSError as e:
                raise MeshError(f"{path.name}: unreadable texture {file.name}: {e}") from None
        return images[file]

    def read_object(parent: np.ndarray) -> None:
        kind_line = r.next()
        if kind_line[0] != "OBJECT":
            raise MeshError(f"{path.name}: expected OBJECT on line {r.i}, got {kind_line[0]}")
        name, texture = kind_line[1] if len(kind_line) > 1 else "", None
        rep, off = np.ones(2), np.zeros(2)
        rot, loc = np.eye(3), np.zeros(3)
        vertices = np.zeros((0, 3))
        faces: List[List[int]] = []
        uvs: List[List[np.ndarray]] = []
        mats: List[int] = []
        while True:
            w = r.next()
            key = w[0]
            if key == "name":
                name = w[1] if len(w) > 1 else name
            elif key == "data":
                r.skip_chars(r.count(w))
            elif key == "texture":
                texture = texture if texture is not None else (w[1] if len(w) > 1 else None)
            elif key == "texrep":
                rep = r.floats(2, w[1:], "texrep")
            elif key == "texoff":
                off = r.floats(2, w[1:], "texoff")
            elif key == "rot":
                rot = r.floats(9, w[1:], "rot").reshape(3, 3)
            elif key == "loc":
                loc = r.floats(3, w[1:], "loc")
            elif key == "numvert":
                n = r.count(w)
                vertices = (np.stack([r.floats(3, r.next(), "vertex") for _ in range(n)])
                            if n else np.zeros((0, 3)))
            elif key == "numsurf":
                for _ in range(r.count(w)):
                    _read_surface(r, faces, uvs, mats, len(vertices))
            elif key == "kids":
                matrix = parent @ _affine(rot, loc)
                if faces:
                    _add_part(scene, name or f"part{len(scene.geometry)}", vertices, faces, uvs,
                              mats, matrix, rep, off, materials,
                              texture_image(texture) if texture else None)
                for _ in range(r.count(w)):
                    read_object(matrix)
                return
            # crease, url, subdiv, hidden, locked, folded: nothing to do

    w: Optional[List[str]] = None
    while any(line.strip() for line in r.lines[r.i:]):
        w = r.next()
        if w[0] == "OBJECT":
            break
        if w[0] == "MATERIAL":  # MATERIAL "name" rgb r g b amb ...
            idx = w.index("rgb", 2) if "rgb" in w[2:] else -1
            materials.append(r.floats(3, w[idx + 1:], "material") if idx >= 0 else np.ones(3) * .7)
    if w is None or w[0] != "OBJECT":
        raise MeshError(f"{path.name} has no OBJECT")
    r.i -= 1  # give the OBJECT line back
    read_object(np.eye(4))
    if not scene.geometry:
        raise MeshError(f"{path.name} has no polygons")
    return scene


def _affine(rot: np.ndarray, loc: np.ndarray) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3], m[:3, 3] = rot.T, loc  # AC3D writes the rotation column by column
    return m


def _read_surface(r: _Reader, faces, uvs, mats, n_vertices: int) -> None:
    w = r.next()
    if w[0] != "SURF":
        raise MeshError(f"{r.path.name}: expected SURF on line {r.i}, got {w[0]}")
    kind = r.count(w, base=0) & 0x0F  # hex (0x14) or decimal, as the format's own readers
    mat = 0
    w = r.next()
    if w[0] == "mat":
        mat = r.count(w)
        w = r.next()
    if w[0] != "refs":
        raise MeshError(f"{r.path.name}: expected refs on line {r.i}, got {w[0]}")
    corners = [r.next() for _ in range(r.count(w))]
    if kind not in (POLYGON, STRIP) or len(corners) < 3:
        return  # lines have no area
    try:
        ids = [int(c[0]) for c in corners]
    except ValueError:
        raise MeshError(f"{r.path.name}: bad vertex reference before line {r.i}") from None
    bad = [i for i in ids if not 0 <= i < n_vertices]
    if bad:
        raise MeshError(f"{r.path.name}: a surface refers to vertex {bad[0]} of {n_vertices} "
                        f"(before line {r.i})")
    uv = [r.floats(2, c[1:], "uv") if len(c) >= 3 else np.zeros(2) for c in corners]
    if kind == POLYGON:  # a fan
        tris = [(0, k, k + 1) for k in range(1, len(ids) - 1)]
    else:  # a strip: every other triangle flips to keep the winding
        tris = [(k, k + 1, k + 2) if k % 2 == 0 else (k + 1, k, k + 2)
                for k in range(len(ids) - 2)]
    for t in tris:
        if len({ids[k] for k in t}) == 3:  # strips repeat vertices to turn: no area
            faces.append([ids[k] for k in t])
            uvs.append([uv[k] for k in t])
            mats.append(mat)


def _add_part(scene, name, vertices, faces, uvs, mats, matrix, rep, off, materials, image):
    """One poly object: corners unshared (each keeps its own uv), in world coordinates."""
    corners = np.asarray(faces, dtype=np.int64).reshape(-1)
    points = vertices[corners] @ matrix[:3, :3].T + matrix[:3, 3]
    tri = np.arange(len(corners)).reshape(-1, 3)
    if image is not None:
        uv = np.asarray(uvs, dtype=np.float64).reshape(-1, 2) * rep + off
        visual = trimesh.visual.TextureVisuals(uv=uv, image=image)
    else:
        palette = np.asarray(materials or [np.ones(3) * .7])
        rgb = palette[np.clip(mats, 0, len(palette) - 1)]
        visual = trimesh.visual.ColorVisuals(face_colors=np.c_[rgb * 255, np.full(len(rgb), 255)]
                                             .astype(np.uint8))
    mesh = trimesh.Trimesh(points, tri, visual=visual, process=False)
    scene.add_geometry(mesh, geom_name=f"{name}_{len(scene.geometry)}")
