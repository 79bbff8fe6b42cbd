"""The model zoo: trained networks shipped in the repository's `pretrained/` folder, loadable
by name with no training and no download.

    pretrained.names()                 # ['car', 'chair', ...]
    pretrained.get("car")              # its manifest entry (ZooModel): metrics, data, licences
    Im2Avatar.from_pretrained("car")   # the model (inference.py), every sha256 checked first
    Reconstructor.from_pretrained("car")            # the same, behind the inference API

Layout of `pretrained/`: `manifest.json` (one entry per model: preset, training data and
licences, command, git revision, sha256 and size of each file, test metrics beside the
baselines) and one folder per model with `config.json` (the Preset) and `shape.weights.npz` /
`color.weights.npz`: every weight of the network in `model.weights` order as float16 arrays
`w0000`, `w0001`, ... (loaded back as float32). `publish.py` writes them.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Union

MANIFEST = "manifest.json"
# A checkout's `pretrained/` beside the package; else the copy `pip install .` puts inside it.
_CHECKOUT_ZOO = Path(__file__).resolve().parent.parent / "pretrained"
_INSTALLED_ZOO = Path(__file__).resolve().parent / "zoo"
ZOO_DIR = _INSTALLED_ZOO if (not (_CHECKOUT_ZOO / MANIFEST).exists()
                             and (_INSTALLED_ZOO / MANIFEST).exists()) else _CHECKOUT_ZOO
WEIGHTS_DTYPE = "float16"


class CorruptModelError(ValueError):
    """A zoo file is missing or differs from its manifest (sha256)."""


@dataclass
class ZooModel:
    """One manifest entry. `files`: name -> {"sha256", "bytes"}; `metrics`: test set ->
    {metric: value} with the baselines beside the network; the rest is for the record."""

    name: str
    category: str
    preset: str
    threshold: float  # occupancy probability for a voxel to count
    color_t: float  # the blend's re-weighting threshold (colors.final_colors), chosen on val
    files: Dict[str, dict]
    metrics: Dict[str, dict] = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    command: str = ""
    git_revision: str = ""
    description: str = ""

    @property
    def folder(self) -> Path:
        return zoo_dir() / self.name

    @property
    def bytes(self) -> int:
        return sum(int(f["bytes"]) for f in self.files.values())

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def zoo_dir() -> Path:
    """The zoo folder (`IM2AVATAR_ZOO` overrides it, e.g. for tests)."""
    return Path(os.environ.get("IM2AVATAR_ZOO", ZOO_DIR))


def read_manifest(zoo: Optional[Path] = None) -> dict:
    path = (zoo or zoo_dir()) / MANIFEST
    if not path.exists():
        return {"format": 1, "models": {}}
    try:
        manifest = json.loads(path.read_text())
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
        raise ValueError(f"{path} is not valid JSON ({e}); restore it (from git, or by "
                         f"reinstalling the package)") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("models"), dict):
        raise ValueError(f"{path} has no \"models\" object; restore it (from git, or by "
                         f"reinstalling the package)")
    return manifest


def names() -> List[str]:
    """The zoo's model names, sorted (none if the folder has no manifest)."""
    return sorted(read_manifest()["models"])


def get(name: str) -> ZooModel:
    """The manifest entry of `name`; a KeyError that lists the zoo otherwise."""
    models = read_manifest()["models"]
    if name not in models:
        have = ", ".join(sorted(models)) or "none"
        raise KeyError(f"no pretrained model called {name!r} (the zoo has: {have}; "
                       f"`python run.py models` lists them)")
    return ZooModel(name=name, **models[name])


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(model: ZooModel) -> None:
    """Check every file of `model` against its manifest sha256; CorruptModelError otherwise."""
    for file, info in sorted(model.files.items()):
        path = model.folder / file
        if not path.is_file():
            raise CorruptModelError(f"pretrained model {model.name!r}: {path} is missing; "
                                    f"restore it with `git checkout -- {path}`")
        if sha256(path) != info["sha256"]:
            raise CorruptModelError(
                f"pretrained model {model.name!r}: {path} does not match its sha256 in "
                f"{zoo_dir() / MANIFEST} (corrupt or changed); restore it with "
                f"`git checkout -- {path}`")


def resolve(model: Union[str, os.PathLike]) -> Optional[str]:
    """`model` as a zoo name, or None when it is a path to load instead (a path that exists
    wins). A name that is neither: FileNotFoundError listing the zoo."""
    if Path(model).exists():
        return None
    if str(model) in names():
        return str(model)
    zoo = ", ".join(names()) or "none"
    raise FileNotFoundError(f"model not found: {model} is neither a folder or file nor a "
                            f"pretrained model name (the zoo has: {zoo})")


def build_network(network: str, preset):
    """A fresh network of the two-network design for `preset` (weights to be loaded)."""
    from . import methods

    return methods.get(network).build(preset.model)


def save_weights(model, path: Path) -> None:
    """Every weight of `model` as float16 arrays w0000, w0001, ... in `model.weights` order,
    written atomically. Refuses a weight float16 cannot hold."""
    import numpy as np

    from .io import atomic_path

    arrays = {}
    for i, weight in enumerate(model.weights):
        value = np.asarray(weight.numpy(), dtype=np.float32)
        if np.abs(value).max(initial=0.0) > np.finfo(np.float16).max:
            raise ValueError(f"{weight.path} holds values beyond float16's range")
        arrays[f"w{i:04d}"] = value.astype(np.float16)
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)


def load_weights(model, path: Path):
    """Set `model`'s weights from a `save_weights` file (as float32); a clear error if the file
    does not fit the network."""
    import numpy as np

    with np.load(path) as data:
        arrays = [data[f"w{i:04d}"] for i in range(len(data.files))]
    if len(arrays) != len(model.weights) or any(
            a.shape != tuple(w.shape) for a, w in zip(arrays, model.weights)):
        raise CorruptModelError(f"{path} does not fit the network its config.json describes "
                                f"({len(arrays)} arrays for {len(model.weights)} weights)")
    model.set_weights([a.astype(np.float32) for a in arrays])
    return model
