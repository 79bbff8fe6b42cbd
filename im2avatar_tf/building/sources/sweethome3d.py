"""Real textured meshes: the CC0 / CC-BY furniture catalogue of Sweet Home 3D.

Optional Debian package: `apt-get install sweethome3d-furniture` puts five .sh3f zip archives in
/usr/share/sweethome3d/furniture (about 820 OBJ models with MTL and textures). Each archive's
PluginFurnitureCatalog.properties names every model (`name#N`, `category#N`, `creator#N`,
`model#N`, `modelRotation#N`, `width#N` ...); the licence is stated once per archive.

Models map to our categories by their catalogue name (rules in `CATEGORY_RULES`), and the
catalogue's "Characters" that are people map to `human` (a real test set for the human model).
Creator and licence travel into each model's meta.json. `SOURCE` is the `sweethome3d` source
of build-dataset (`building.sources`).
"""
from __future__ import annotations

import functools
import os
import re
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .base import Request, Source, build_jobs

CATALOG_DIR = Path(os.environ.get("SWEETHOME3D_FURNITURE", "/usr/share/sweethome3d/furniture"))
INSTALL_HINT = "install it with `apt-get install sweethome3d-furniture` (Debian/Ubuntu)"

# category -> (catalogue categories allowed or None for any, name pattern, name exclusions)
CATEGORY_RULES: Dict[str, Tuple[Optional[Tuple[str, ...]], str, str]] = {
    "car": (("Vehicles", "Miscellaneous"),
            r"\b(car|sedan|beetle|focus|leon|peugeot|renault|suv|chevrolet|van)\b", r"^$"),
    "chair": (None, r"chair", r"wheelchair|high ?chair"),
    "table": (None, r"\btable\b|\bdesk\b", r"fan|lamp|tennis|bedside|football|card|pool|changing"),
    "guitar": (None, r"guitar", r"^$"),
    "human": (("Characters",), r"\b(male|female|boy|girl|man|woman|mannequin|person)\b", r"^$"),
}
CATEGORIES = tuple(CATEGORY_RULES)


@dataclass(frozen=True)
class CatalogEntry:
    """One catalogue model; `load()` reads it (upright, catalogue proportions) as a Surface."""

    archive: str  # path of the .sh3f zip
    model: str  # path of the OBJ inside the zip
    name: str
    category: str  # ours: car, chair, table, guitar or human
    catalog_category: str
    creator: str
    license: str
    rotation: Optional[Tuple[float, ...]] = None  # 3x3 row-major (modelRotation)
    size: Optional[Tuple[float, float, float]] = None  # width (x), height (y), depth (z)

    @property
    def model_id(self) -> str:
        """Unique, file-system safe: `<collection>_<model folder>`."""
        parts = Path(self.model.lstrip("/")).parts
        return re.sub(r"[^A-Za-z0-9._-]+", "_", "_".join(parts[:-1]) or Path(self.model).stem)

    def source(self) -> dict:
        """What meta.json records about where the model came from."""
        d = asdict(self)
        d["archive"] = Path(self.archive).name
        d["source"] = "sweethome3d"
        return d

    def load(self):
        """The model as a Surface, rotated by `modelRotation` and scaled to the catalogue's
        width / height / depth (what Sweet Home 3D shows). Raises MeshError when broken."""
        from ..meshes import load_mesh

        folder = str(Path(self.model.lstrip("/")).parent) + "/"
        with zipfile.ZipFile(self.archive) as zf, tempfile.TemporaryDirectory() as tmp:
            members = [n for n in zf.namelist() if n.startswith(folder) and not n.endswith("/")]
            zf.extractall(tmp, members)
            surface = load_mesh(Path(tmp) / self.model.lstrip("/"))  # textures read in memory
        matrix = np.eye(4)
        if self.rotation is not None:
            matrix[:3, :3] = np.asarray(self.rotation, dtype=np.float64).reshape(3, 3)
        surface = surface.transformed(matrix)
        if self.size is not None:
            extent = np.ptp(surface.mesh.vertices, axis=0)
            if np.all(extent > 0) and np.all(np.asarray(self.size) > 0):
                surface = surface.transformed(np.diag(list(np.asarray(self.size) / extent) + [1]))
        return surface


def available(catalog_dir: os.PathLike = CATALOG_DIR) -> bool:
    return any(Path(catalog_dir).glob("*.sh3f"))


def iter_catalog(categories: Optional[Sequence[str]] = None,
                 catalog_dir: os.PathLike = CATALOG_DIR) -> Iterator[CatalogEntry]:
    """Catalogue entries mapped to our `categories` (default: all of CATEGORIES), in archive
    and catalogue order. Raises FileNotFoundError with the install hint if there is none."""
    wanted = tuple(categories or CATEGORIES)
    unknown = [c for c in wanted if c not in CATEGORY_RULES]
    if unknown:
        raise ValueError(f"sweethome3d categories must be among {list(CATEGORIES)}, got {unknown}")
    archives = sorted(Path(catalog_dir).glob("*.sh3f"))
    if not archives:
        raise FileNotFoundError(f"no Sweet Home 3D furniture catalogue in {catalog_dir}; "
                                f"{INSTALL_HINT}, or set SWEETHOME3D_FURNITURE to its folder")
    for archive in archives:
        with zipfile.ZipFile(archive) as zf:
            props = parse_properties(zf.read("PluginFurnitureCatalog.properties"))
        license_ = props.get("license", "see the archive")
        indices = sorted(int(k.split("#")[1]) for k in props if re.fullmatch(r"model#\d+", k))
        for i in indices:
            name = props.get(f"name#{i}", "")
            cat = props.get(f"category#{i}", "")
            ours = map_category(name, cat)
            if ours not in wanted:
                continue
            rotation = props.get(f"modelRotation#{i}")
            size = tuple(float(props.get(f"{k}#{i}", 0) or 0) for k in ("width", "height", "depth"))
            yield CatalogEntry(
                archive=str(archive), model=props[f"model#{i}"], name=name, category=ours,
                catalog_category=cat, creator=props.get(f"creator#{i}", "unknown"),
                license=license_,
                rotation=tuple(float(v) for v in rotation.split()) if rotation else None,
                size=size if all(size) else None)


def map_category(name: str, catalog_category: str) -> Optional[str]:
    """Our category for a catalogue model, or None (first matching rule wins)."""
    for ours, (cats, pattern, exclude) in CATEGORY_RULES.items():
        if cats is not None and catalog_category not in cats:
            continue
        if re.search(pattern, name, re.I) and not re.search(exclude, name, re.I):
            return ours
    return None


def sweethome3d_jobs(categories: Sequence[str], limit: Optional[int] = None) -> List:
    """Build jobs for the catalogue models of `categories` (at most `limit` per category).
    People (`human`) go in the human layout, clothes folder `sweethome3d`."""
    from ..builder import Job

    jobs, counts = [], {}
    for entry in iter_catalog(categories):
        if limit is not None and counts.get(entry.category, 0) >= limit:
            continue
        counts[entry.category] = counts.get(entry.category, 0) + 1
        jobs.append(Job(entry.category, entry.model_id, functools.partial(CatalogEntry.load, entry),
                        entry.source(), group="sweethome3d"))
    return jobs


class SweetHome3D(Source):
    """The catalogue's models of the wanted categories (at most `--count` each)."""

    name = "sweethome3d"

    def build(self, request: Request) -> bool:
        categories = request.wanted_categories()
        return build_jobs(self.name, sweethome3d_jobs(categories, limit=request.count),
                          categories, request)


SOURCE = SweetHome3D()


def parse_properties(data: bytes) -> Dict[str, str]:
    """Java .properties (ISO-8859-1, \\uXXXX escapes, backslash line continuations)."""
    text = data.decode("latin-1")
    out: Dict[str, str] = {}
    logical = ""
    for raw in text.splitlines():
        line = raw.lstrip() if not logical else raw.lstrip()
        if not logical and (not line or line[0] in "#!"):
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            logical += line[:-1]
            continue
        logical += line
        m = re.match(r"((?:[^=:\s\\]|\\.)+)\s*[=:\s]\s*(.*)$", logical)
        if m:
            out[_unescape(m.group(1))] = _unescape(m.group(2))
        logical = ""
    return out


def _unescape(s: str) -> str:
    s = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), s)
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), s)
