"""Export the shape + color networks for serving: one SavedModel and one `.keras` file, or
one ONNX file (`export_onnx`).

    <out>/saved_model/            SavedModel (TF Serving, `tf.saved_model.load`) + config.json
    <out>/im2avatar.keras         both networks in one Keras model (preprocessed images in)
    <out>/im2avatar.onnx          the same model for ONNX Runtime (`export --format onnx`)
    <out>/config.json             the Preset, so `Reconstructor.from_dir(<out>)` needs no flags
    <out>/colors.json             {"color_t": t}: the blend threshold its colors use (a zoo
                                  model's own; 0.2, the release's, otherwise)

SavedModel signatures (all outputs float32):
- `serving_default(images)`: uint8 (N, H, W, 3), ANY H and W; the training preprocessing
  (`images.preprocess`: aspect-preserving resize, pad with the background) runs in the graph.
- `from_preprocessed(images)`: float32 (N, S, S, 3) in [0, 1], already preprocessed.
Both return {"occupancy": (N, R, R, R, 1) probability, "blended": (N, R, R, R, 3),
"regressed": (N, R, R, R, 3), "confidence": (N, R, R, R, 1) weight of the regressed color,
"flow": (N, R, R, R, 2) (x = column, y = row) into "image", "image": (N, S, S, 3) the
preprocessed input}; "image" is what the flow indexes, needed for the final colors.

Both run the networks' BN-folded inference copies (`forward.inference_models`: the same
outputs to float rounding, faster); `fold=False` exports the networks as they are.

Every file and folder appears under its final name only once it is complete.
"""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

from .colors import RELEASED_T
from .config import CONFIG_FILE, Preset, read_preset
from .io import atomic_dir, atomic_write_text, save_keras

SAVED_MODEL_DIR = "saved_model"
KERAS_FILE = "im2avatar.keras"
ONNX_FILE = "im2avatar.onnx"
ONNX_PACKAGES = "tf2onnx==1.17.0 onnxruntime==1.32.0"  # pinned in requirements.txt
COLORS_FILE = "colors.json"


@dataclass(frozen=True)
class ExportPaths:
    saved_model: Path
    keras_file: Path
    config: Path


def export_models(preset: Preset, shape_model, color_model, out_dir: os.PathLike,
                  fold: bool = True, color_t: float = RELEASED_T) -> ExportPaths:
    """Write the SavedModel, the `.keras` file, config.json and colors.json under `out_dir`
    (`fold`: of the BN-folded inference copies of the networks; `color_t`: the blend
    threshold its colors use)."""
    from .forward import inference_models

    shape_model, color_model = inference_models(shape_model, color_model, fold)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = ExportPaths(out_dir / SAVED_MODEL_DIR, out_dir / KERAS_FILE, out_dir / CONFIG_FILE)
    with atomic_dir(paths.saved_model) as tmp:
        write_saved_model(preset, shape_model, color_model, tmp, fold=False)  # folded above
    write_keras_file(preset, shape_model, color_model, paths.keras_file, fold=False)
    atomic_write_text(paths.config, preset.to_json())
    for folder in (out_dir, paths.saved_model):
        atomic_write_text(folder / COLORS_FILE, json.dumps({"color_t": color_t}) + "\n")
    return paths


def export_onnx(preset: Preset, shape_model, color_model, out_dir: os.PathLike,
                fold: bool = True, color_t: float = RELEASED_T) -> Path:
    """Write `<out_dir>/im2avatar.onnx` (the combined model, `combined_model`: preprocessed
    images float32 (N, S, S, 3) in [0, 1] -> "occupancy", "regressed", "confidence", "flow",
    "blended"), config.json and colors.json; returns the ONNX file's path. For ONNX Runtime
    (`reconstruct --runtime onnxruntime`); converted by Keras's exporter (tf2onnx)."""
    out_dir = Path(out_dir)
    path = out_dir / ONNX_FILE
    write_onnx(preset, shape_model, color_model, path, fold=fold)
    atomic_write_text(out_dir / CONFIG_FILE, preset.to_json())
    atomic_write_text(out_dir / COLORS_FILE, json.dumps({"color_t": color_t}) + "\n")
    return path


def write_onnx(preset: Preset, shape_model, color_model, path: os.PathLike,
               fold: bool = True) -> None:
    """The combined model as one ONNX file at `path`, written whole or not at all."""
    import numpy as np

    from .io import atomic_path

    try:
        import onnxruntime  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError:
        raise ImportError(f"ONNX export needs tf2onnx and onnxruntime: pip install "
                          f"{ONNX_PACKAGES}") from None
    model = combined_model(preset, shape_model, color_model, fold)
    size = preset.model.image_size
    model(np.zeros((1, size, size, 3), np.float32))  # Keras exports only a model that ran
    with atomic_path(path, suffix=".onnx") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # tf2onnx asks numpy for np.object
        model.export(str(tmp), format="onnx", verbose=False)


def find_onnx(path: os.PathLike) -> Optional[Path]:
    """The ONNX file at `path` (a `.onnx` file, or a folder holding im2avatar.onnx), else None."""
    path = Path(path)
    if path.is_file() and path.suffix == ".onnx":
        return path
    return path / ONNX_FILE if (path / ONNX_FILE).is_file() else None


def onnx_session(path: os.PathLike):
    """An `onnxruntime.InferenceSession` on the CPU for the ONNX file at `path`."""
    try:
        import onnxruntime
    except ImportError:
        raise ImportError(f"--runtime onnxruntime needs onnxruntime: pip install "
                          f"{ONNX_PACKAGES}") from None
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def load_onnx(path: os.PathLike) -> Tuple[Preset, object]:
    """-> (preset, `onnx_session`) for an ONNX export (config.json beside the file)."""
    path = Path(path)
    return _read_preset(path.parent), onnx_session(path)


def read_color_t(folder: os.PathLike) -> float:
    """The blend threshold an export's colors use (colors.json; the release's 0.2 if absent)."""
    path = Path(folder) / COLORS_FILE
    return float(json.loads(path.read_text())["color_t"]) if path.exists() else RELEASED_T


def write_saved_model(preset: Preset, shape_model, color_model, path: os.PathLike,
                      fold: bool = True) -> None:
    """SavedModel with `serving_default` (uint8, any size) and `from_preprocessed` at `path`
    (`fold`: of the BN-folded inference copies of the networks)."""
    import tensorflow as tf
    from keras.export import ExportArchive

    from .images import preprocess
    from .forward import inference_models, network_outputs

    shape_model, color_model = inference_models(shape_model, color_model, fold)
    size = preset.model.image_size

    def outputs(images):  # float32 (N, S, S, 3) -> dict
        return {**network_outputs(shape_model, color_model, images), "image": images}

    def serve(images):  # uint8 (N, H, W, 3), any H, W
        return outputs(preprocess(_checked_images(images), size, preset.data.background))

    # No `archive.track(model)`: the endpoints capture every variable they use, and tracking
    # the models as well stores each weight twice (keras-team/keras#23553: 2x size on disk
    # and 2x variable memory in TF Serving). Our test reloads it in a fresh process.
    archive = ExportArchive()
    archive.add_endpoint("serving_default", serve,
                         [tf.TensorSpec((None, None, None, 3), tf.uint8, name="images")])
    archive.add_endpoint("from_preprocessed", outputs,
                         [tf.TensorSpec((None, size, size, 3), tf.float32, name="images")])
    archive.write_out(str(path), verbose=False)
    atomic_write_text(Path(path) / CONFIG_FILE, preset.to_json())


def _checked_images(images):
    """`serving_default`'s input, checked at run time against its signature, uint8
    (N, H, W, 3) with N, H, W >= 1: a SavedModel signature does not enforce its shape, and a
    wrong one failed deep in the graph (rank 3 or 5, 0 x 0, batch 0, 4 channels) or passed
    (1 channel). Returns the images as a 4-D tensor.

    The checks use only the run-time shape's values (Grappler folds anything it can derive from
    the static shape, e.g. the rank, to the signature's). A trailing axis of size 1, e.g.
    (N, H, W, 3, 1), holds the same pixels and is accepted."""
    import tensorflow as tf

    shape = tf.shape(images, out_type=tf.int64)  # (rank,) the real one, whatever the signature
    first4 = tf.concat([shape, tf.ones([4], tf.int64)], 0)[:4]  # padded with 1 below rank 4
    valid = tf.reduce_all([tf.reduce_all(first4[:3] >= 1), tf.equal(first4[3], 3),
                           tf.equal(tf.reduce_prod(first4), tf.size(images, out_type=tf.int64))])
    check = tf.debugging.Assert(valid, [
        "serving_default takes uint8 images (N, H, W, 3) with N, H, W >= 1 (RGB; make gray "
        "images RGB and composite alpha first); got shape", shape], summarize=8)
    with tf.control_dependencies([check]):
        return tf.ensure_shape(tf.reshape(images, first4), [None, None, None, 3])


def combined_model(preset: Preset, shape_model, color_model, fold: bool = True):
    """One Keras model: preprocessed image (N, S, S, 3) -> dict of "occupancy" (probability),
    "regressed", "confidence", "flow", "blended" (the SavedModel's outputs but "image");
    `fold`: of the BN-folded inference copies of the networks."""
    import keras

    from .forward import inference_models, network_outputs

    shape_model, color_model = inference_models(shape_model, color_model, fold)
    size = preset.model.image_size
    image = keras.Input((size, size, 3), name="image")
    outputs = network_outputs(shape_model, color_model, image)
    # Named layers name the model's outputs (else they are all "color_net").
    return keras.Model(image, {key: keras.layers.Identity(name=key)(value)
                               for key, value in outputs.items()}, name="im2avatar")


def write_keras_file(preset: Preset, shape_model, color_model, path: os.PathLike,
                     fold: bool = True) -> None:
    save_keras(combined_model(preset, shape_model, color_model, fold), path)


# Loading ---------------------------------------------------------------------------------------
def find_saved_model(path: os.PathLike) -> Optional[Path]:
    """The SavedModel folder at `path` or at `path/saved_model`, else None."""
    path = Path(path)
    for candidate in (path, path / SAVED_MODEL_DIR):
        if (candidate / "saved_model.pb").exists():
            return candidate
    return None


def load_saved_model(path: os.PathLike) -> Tuple[Preset, object]:
    """-> (preset, the object `tf.saved_model.load` returns) for an exported SavedModel."""
    import tensorflow as tf

    path = Path(path)
    return _read_preset(path), tf.saved_model.load(str(path))


def load_keras_file(path: os.PathLike) -> Tuple[Preset, object]:
    """-> (preset, the combined Keras model) for an exported `.keras` file (config.json beside)."""
    import keras

    from . import models  # noqa: F401  (registers the custom layers)

    path = Path(path)
    preset = _read_preset(path.parent)
    try:
        return preset, keras.saving.load_model(path, compile=False)
    except Exception:
        problem = models.keras_file_problem(path)
        if problem is None:
            raise
        raise ValueError(f"{path} is unreadable or corrupt ({problem}): export it again with "
                         f"`python run.py export`") from None


def _read_preset(folder: Path) -> Preset:
    return read_preset(folder, "an exported model keeps its config.json beside it; export "
                               "again with `python run.py export`")
