"""The model zoo: trained networks shipped in the repository's `pretrained/` folder, loadable
by name with no training and no download.

    pretrained.names()                 # ['car', 'chair', ...]
    pretrained.get("car")              # its manifest entry (ZooModel): metrics, data, licences
    Im2Avatar.from_pretrained("car")   # the model (inference.py), every sha256 checked first
    Reconstructor.from_pretrained("car")            # the same, behind the inference API

Layout of `pretrained/`: `manifest.json` (one entry per model: preset, training data and
licences, command, git revision, sha256 and size of each file, test metrics beside the
baselines) and one folder per model with `config.json` (the Preset) and `shape.weights.npz` /
`color.weights.npz`: every weight of the network in `model.weights` order, `w0000`, `w0001`,
..., loaded back as float32, in one of two encodings (`WEIGHT_ENCODINGS`; the manifest's
`training.weights_dtype` names it):

- `float16`: every array as float16.
- `int8`: each kernel (an array of 2 or more dimensions) as int8 with one float32 scale per
  slice of its last axis (`w0000_scale`: symmetric, scale = max |w| / 127 over the slice;
  one scale per output channel of a convolution or dense layer, per input channel of a
  transposed convolution), every 1-D weight (biases, BatchNorm) as float16. About a third of
  float16's size, compressed; `publish.py` measures what it costs on the test split before
  it ships one.

`publish.py` writes them.
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
WEIGHT_ENCODINGS = ("float16", "int8")
SCALE_SUFFIX = "_scale"  # an int8 array's key + this: its per-channel scales


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
    def weights_dtype(self) -> str:
        """How the weights are stored: one of WEIGHT_ENCODINGS (float16 before int8 existed)."""
        return self.training.get("weights_dtype", "float16")

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


def verify(model: ZooModel, folder: Optional[Path] = None) -> None:
    """Check every file of `model` (in `folder`, default its zoo folder) against its manifest
    sha256; CorruptModelError otherwise."""
    for file, info in sorted(model.files.items()):
        path = Path(folder or model.folder) / file
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


def encode(model, dtype: str = "float16") -> dict:
    """The arrays a weights file holds for `model` in encoding `dtype` (see the module
    docstring). Refuses a weight that is not finite or that float16 cannot hold."""
    import numpy as np

    if dtype not in WEIGHT_ENCODINGS:
        raise ValueError(f"weights encoding must be one of {WEIGHT_ENCODINGS}, got {dtype!r}")
    arrays = {}
    for i, weight in enumerate(model.weights):
        value = np.asarray(weight.numpy(), dtype=np.float32)
        key = f"w{i:04d}"
        if not np.isfinite(value).all():
            raise ValueError(f"{weight.path} holds values that are not finite (inf or NaN)")
        if dtype == "int8" and value.ndim >= 2:
            scale = np.abs(value).reshape(-1, value.shape[-1]).max(axis=0) / 127.0
            scale[scale == 0] = 1.0  # an all-zero slice stays zero
            arrays[key] = np.clip(np.rint(value / scale), -127, 127).astype(np.int8)
            arrays[key + SCALE_SUFFIX] = scale.astype(np.float32)
            continue
        if np.abs(value).max(initial=0.0) > np.finfo(np.float16).max:
            raise ValueError(f"{weight.path} holds values beyond float16's range")
        arrays[key] = value.astype(np.float16)
    return arrays


def decode(arrays) -> list:
    """The float32 weights, in `model.weights` order, that `encode`'s arrays (or an open npz
    file of them) hold."""
    import numpy as np

    out = []
    for key in sorted((k for k in arrays if not k.endswith(SCALE_SUFFIX)),
                      key=lambda k: int(k[1:])):  # w0000, ..., w9999, w10000
        value = np.asarray(arrays[key]).astype(np.float32)
        if key + SCALE_SUFFIX in arrays:
            scale = np.asarray(arrays[key + SCALE_SUFFIX], dtype=np.float32)
            if value.ndim < 2 or scale.shape != value.shape[-1:]:
                raise CorruptModelError(f"{key}'s scales {scale.shape} do not fit its shape "
                                        f"{value.shape}")
            value *= scale
        out.append(value)
    return out


def as_stored(model, network: str, preset, dtype: str):
    """A fresh `network` for `preset` with `model`'s weights as a weights file in encoding
    `dtype` would give them back: what shipping them ships, with no file written."""
    copy = build_network(network, preset)
    _set(copy, decode(encode(model, dtype)), f"{dtype}-encoded weights of {model.name}")
    return copy


def save_weights(model, path: Path, dtype: str = "float16") -> None:
    """`encode(model, dtype)` written atomically to `path` (compressed npz)."""
    import numpy as np

    from .io import atomic_path

    arrays = encode(model, dtype)
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)


def load_weights(model, path: Path):
    """Set `model`'s weights from a `save_weights` file (either encoding, as float32); a clear
    error if the file does not fit the network."""
    import numpy as np

    with np.load(path) as data:
        arrays = decode({k: data[k] for k in data.files})
    _set(model, arrays, str(path))
    return model


def _set(model, arrays: list, what: str) -> None:
    if len(arrays) != len(model.weights) or any(
            a.shape != tuple(w.shape) for a, w in zip(arrays, model.weights)):
        raise CorruptModelError(f"{what} does not fit the network its config.json describes "
                                f"({len(arrays)} arrays for {len(model.weights)} weights)")
    model.set_weights(arrays)
