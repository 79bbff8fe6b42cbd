"""The Im2Avatar networks and their layers, and the model-dir format (config + .keras files).
The baselines' networks live with their methods (`methods/`).

A model dir holds `config.json` (the Preset) beside `shape.keras` and `color.keras`; loading
needs no flags repeated (`inference.Im2Avatar.from_dir` reads one whole).
"""
from __future__ import annotations

import os
from pathlib import Path

from .folding import FewChannelConv3D  # noqa: F401  (registers it)
from .layers import Blend, ImageSampler, ScheduledBatchNorm  # noqa: F401  (registers them)
from .networks import build_color_model, build_shape_model  # noqa: F401


def load_network(path: os.PathLike):
    """Load one saved network (`.keras`); the custom layers are registered serializables."""
    import keras

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no saved network at {path}: train it with `python run.py train`")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception:
        problem = keras_file_problem(path)
        if problem is None:
            raise
        raise ValueError(
            f"{path} is unreadable or corrupt ({problem}): copy it again from where it came "
            f"from, or retrain it with `python run.py train --restart --out {path.parent}`"
        ) from None


def keras_file_problem(path: os.PathLike):
    """Why a `.keras` file (a zip archive) is damaged, or None if it reads as a whole.
    (Keras says "File not found" for an existing but truncated or overwritten file.)"""
    import zipfile

    path = Path(path)
    if path.is_dir():
        return "a folder, not a .keras file"
    try:
        if not zipfile.is_zipfile(path):
            return "not a zip archive: truncated, overwritten or not a .keras file"
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (OSError, zipfile.BadZipFile, EOFError) as e:
        return f"a damaged zip archive: {e}"
    if bad is not None:
        return f"its member {bad} is damaged"
    return None


def load_preset(model_dir: os.PathLike):
    """The Preset a model dir was trained with (its config.json)."""
    from ..config import read_preset

    return read_preset(model_dir, "a model dir holds config.json, shape.keras and color.keras "
                                  "(written by `python run.py train`)")

