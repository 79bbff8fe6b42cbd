"""The models the demo offers: the pretrained zoo's names plus model folders, each loaded on
first use and then kept."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from ..result import DEFAULT_THRESHOLD


@dataclass(frozen=True)
class ModelEntry:
    """One choice in the page's model list. `folder` is None for a zoo model (loaded by
    `name`); `threshold` is the occupancy threshold the page proposes for it."""

    name: str
    folder: Optional[Path] = None
    threshold: float = DEFAULT_THRESHOLD
    description: str = ""

    @property
    def source(self) -> str:
        return str(self.folder) if self.folder is not None else "pretrained"

    def to_dict(self) -> dict:
        return {"name": self.name, "source": self.source, "threshold": self.threshold,
                "description": self.description}


def zoo_entries() -> List[ModelEntry]:
    """The pretrained zoo's models (none when `pretrained/` has no manifest)."""
    from .. import pretrained

    entries = []
    for name in pretrained.names():
        info = pretrained.get(name)
        entries.append(ModelEntry(name=name, threshold=float(info.threshold),
                                  description=info.description or f"pretrained {info.category}, "
                                                                  f"{info.preset} preset"))
    return entries


def folder_entries(folders: Sequence[Path], taken: Sequence[str] = ()) -> List[ModelEntry]:
    """One entry per model folder, named after the folder (with " (2)", ... where two names
    meet, or a folder's name is a zoo name)."""
    used, entries = set(taken), []
    for folder in map(Path, folders):
        base = folder.resolve().name or str(folder)
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base} ({n})"
        used.add(name)
        entries.append(ModelEntry(name=name, folder=folder, description=f"model folder {folder}"))
    return entries


class ModelCatalog:
    """Model folders (first, in the order given) and, with `zoo`, the pretrained models.

    `get(name)` returns the model's `Reconstructor`, loading it on the first call; calls are
    serialized by `lock`, which the server also holds while a model predicts.
    """

    def __init__(self, folders: Sequence[Path] = (), zoo: bool = True):
        zoo_list = zoo_entries() if zoo else []
        found = folder_entries(folders, taken=[e.name for e in zoo_list]) + zoo_list
        self.entries: Dict[str, ModelEntry] = {e.name: e for e in found}
        self._loaded: Dict[str, object] = {}
        self.lock = threading.RLock()

    def names(self) -> List[str]:
        return list(self.entries)

    def describe(self) -> List[dict]:
        return [dict(e.to_dict(), loaded=e.name in self._loaded) for e in self.entries.values()]

    def get(self, name: str):
        """-> (Reconstructor, seconds spent loading it now: 0 when it was loaded before)."""
        if name not in self.entries:
            raise KeyError(f"unknown model {name!r}; the demo offers: {', '.join(self.entries)}")
        with self.lock:
            if name in self._loaded:
                return self._loaded[name], 0.0
            start = time.perf_counter()
            self._loaded[name] = load_entry(self.entries[name])
            return self._loaded[name], time.perf_counter() - start


def load_entry(entry: ModelEntry):
    """The `Reconstructor` of a catalog entry."""
    from ..inference import Reconstructor

    if entry.folder is None:
        return Reconstructor.from_pretrained(entry.name)
    return Reconstructor.from_dir(entry.folder)
