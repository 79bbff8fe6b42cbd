"""Python API: one picture (or many) in, a colored 3D model out.

    from im2avatar_tf.inference import Reconstructor
    rec = Reconstructor.from_dir("runs/car-small")   # a model folder, or an `export` folder
    result = rec.predict("photo.png")                # a Result; a list or batch -> a list
    result.save("car.glb")                           # also writes car_input.png beside it

`Im2Avatar` is the model itself, a preset and its two networks (loaded, saved, exported);
`Reconstructor` is its inference face (`Im2Avatar.predictor()`), also over an export. They
share this module: each constructs the other.

The input goes through `images.preprocess`, the very preprocessing of training (and of the
exported SavedModel); `crop=True` first crops the picture to its foreground, for photos where
the object is small (`framing`). What comes out is a `result.Result` per image; its colors come
from `colors.final_colors`, the release's evaluation recipe, so a saved mesh shows the colors
that evaluation scores.
"""
from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple, Union

import numpy as np

from .colors import COLOR_KEYS, RELEASED_T
from .config import CONFIG_FILE, Preset, read_preset
from .forward import NETWORKS, Forward, keras_forward, network_outputs
from .framing import crop_to_foreground, has_foreground
from .images import SquashedImageWarning, preprocess, read_image, squash_warning
from .result import DEFAULT_THRESHOLD, Result, check_threshold, save_png  # noqa: F401 (API)

if TYPE_CHECKING:
    import PIL.Image

ImageLike = Union[str, os.PathLike, np.ndarray, "PIL.Image.Image"]


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------
def _as_image_list(images) -> Tuple[List[ImageLike], bool]:
    """Normalize the accepted inputs to a list; also say whether a single image was given."""
    if isinstance(images, (str, os.PathLike)) or hasattr(images, "getexif"):  # path, PIL image
        return [images], True
    if isinstance(images, np.ndarray) or hasattr(images, "numpy"):
        array = np.asarray(images)
        if array.ndim == 3:
            return [array], True
        if array.ndim == 4:
            return list(array), False
        if array.ndim == 2:  # gray without a channel axis
            return [array[..., None]], True
        raise ValueError(f"an image array must be (H, W[, C]) or (N, H, W, C), got {array.shape}")
    return list(images), False


def _pixels(item: ImageLike, label: str) -> np.ndarray:
    """One image of `predict`'s input as an array: a path read by `images.read_image`, a PIL
    image by `images.pil_pixels` (both upright by EXIF, size-checked), an array as it is."""
    if isinstance(item, (str, os.PathLike)):
        return read_image(item)
    if hasattr(item, "getexif"):  # a PIL image
        from .images import pil_pixels

        return pil_pixels(item, label)
    return np.asarray(item)


def _image_name(item: ImageLike, index: int) -> str:
    """The name a Result gets: the file's stem, else image_000, image_001, ..."""
    return Path(item).stem if isinstance(item, (str, os.PathLike)) else f"image_{index:03d}"


def _label(item: ImageLike, index: int) -> str:
    """How warnings name an input: its path as given, else "image 0", "image 1", ..."""
    return str(item) if isinstance(item, (str, os.PathLike)) else f"image {index}"


class ForegroundWarning(UserWarning):
    """A background removal whose cut-out covers under 1 % or over 95 % of the frame."""


class BlankImageWarning(UserWarning):
    """An input with nothing in it (one flat color, or fully transparent)."""


RUNTIMES = ("tensorflow", "onnxruntime")


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(eq=False)
class Im2Avatar:
    """A preset and its two networks: the unit that is trained into a model dir, loaded,
    saved, exported and run. `shape`: image (N, S, S, 3) in [0, 1] -> occupancy logits
    (N, R, R, R, 1); `color`: image -> the `colors.COLOR_KEYS` outputs (N, R, R, R, C).
    `color_t` and `threshold` are the blend threshold and occupancy threshold its
    predictions use (a zoo model's own, else the release's 0.2 and the evaluation's 0.8).

        model = Im2Avatar.from_dir("runs/car-small")   # config.json + shape.keras + color.keras
        model = Im2Avatar.from_pretrained("car")       # a zoo model, its files checked first
        model.predict("photo.png").save("car.glb")     # through `predictor()`, a Reconstructor
        model.export("exports/car")                    # SavedModel + one .keras file
        model.save("models/car")                       # a model dir again
    """

    preset: Preset
    shape: object  # keras.Model
    color: object  # keras.Model
    source: str = "memory"
    color_t: float = RELEASED_T
    threshold: float = DEFAULT_THRESHOLD
    _predictor: Optional["Reconstructor"] = dataclasses.field(default=None, init=False,
                                                             repr=False)

    @property
    def networks(self) -> Dict[str, object]:
        """{"shape": ..., "color": ...}, in `models.NETWORKS` order."""
        return dict(zip(NETWORKS, (self.shape, self.color)))

    def __repr__(self) -> str:
        m = self.preset.model
        return (f"Im2Avatar(preset={self.preset.name!r}, {m.image_size} px -> "
                f"{m.volume_size}^3, from {self.source})")

    @classmethod
    def from_dir(cls, path: Union[str, os.PathLike]) -> "Im2Avatar":
        """A model dir: config.json + shape.keras + color.keras (`train`, `save`)."""
        from .models import load_network, load_preset

        path = Path(path)
        preset = load_preset(path)
        return cls(preset, *(load_network(path / f"{n}.keras") for n in NETWORKS),
                   source=str(path))

    @classmethod
    def load(cls, model: Union[str, os.PathLike]) -> "Im2Avatar":
        """A zoo name (e.g. "car") or a model dir (a path that exists wins)."""
        from . import pretrained

        name = pretrained.resolve(model)
        return cls.from_pretrained(name) if name else cls.from_dir(model)

    @classmethod
    def from_pretrained(cls, name: str) -> "Im2Avatar":
        """A model of the zoo shipped in `pretrained/` (`python run.py models` lists them),
        every file checked against the manifest's sha256 first."""
        from . import pretrained

        entry = pretrained.get(name)
        pretrained.verify(entry)
        preset = read_preset(entry.folder)
        networks = [pretrained.load_weights(pretrained.build_network(n, preset),
                                            entry.folder / f"{n}.weights.npz") for n in NETWORKS]
        return cls(preset, *networks, source=f"pretrained {name!r}", color_t=entry.color_t,
                   threshold=entry.threshold)

    def save(self, folder: Union[str, os.PathLike]) -> Path:
        """Write a model dir (config.json + shape.keras + color.keras) that `from_dir` reads."""
        from .io import atomic_write_text, save_keras

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / CONFIG_FILE, self.preset.to_json())
        for name, network in self.networks.items():
            save_keras(network, folder / f"{name}.keras")
        return folder

    def export(self, out_dir: Union[str, os.PathLike], fold: bool = True):
        """The SavedModel, one `.keras` file, config.json and colors.json under `out_dir`
        (see `export`); returns their `export.ExportPaths`."""
        from .export import export_models

        return export_models(self.preset, self.shape, self.color, out_dir, fold=fold,
                             color_t=self.color_t)

    def export_onnx(self, out_dir: Union[str, os.PathLike], fold: bool = True) -> Path:
        """`out_dir`/im2avatar.onnx with config.json and colors.json (`export.export_onnx`)."""
        from .export import export_onnx

        return export_onnx(self.preset, self.shape, self.color, out_dir, fold=fold,
                           color_t=self.color_t)

    def outputs(self, images):
        """THE forward pass (`forward.network_outputs`): preprocessed images (N, S, S, 3) ->
        {"occupancy" (N, R, R, R, 1) probability, and the COLOR_KEYS outputs}, float32."""
        return network_outputs(self.shape, self.color, images)

    def predictor(self, fold: bool = True, runtime: str = "tensorflow") -> "Reconstructor":
        """Its inference face: a `Reconstructor` over the networks (`fold`: their BN-folded
        inference copies, `forward.inference_models`: equal to float rounding, faster).
        `runtime="onnxruntime"`: the networks converted to ONNX (in a temporary folder, once:
        seconds; `export --format onnx` keeps the file) and run by ONNX Runtime."""
        if runtime == "onnxruntime":
            import tempfile

            from .export import onnx_session, write_onnx

            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "model.onnx"
                write_onnx(self.preset, self.shape, self.color, path, fold=fold)
                forward = onnx_forward(onnx_session(path))
        elif runtime == "tensorflow":
            forward = keras_forward(self.shape, self.color, fold=fold)
        else:
            raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
        return Reconstructor(self.preset, forward, self.source, color_t=self.color_t,
                             threshold=self.threshold)

    def predict(self, images, **kwargs):
        """`predictor().predict(images, **kwargs)`: a `Result` per image (see there); the
        predictor is made on the first call."""
        if self._predictor is None:
            self._predictor = self.predictor()
        return self._predictor.predict(images, **kwargs)


# --------------------------------------------------------------------------------------------
# Reconstructor
# --------------------------------------------------------------------------------------------
class Reconstructor:
    """Runs the shape and color networks on images. Build it with `from_dir` (a model folder
    from training, an `export` folder, a SavedModel folder or the exported `.keras` file) or
    `from_models` (Keras models in memory).

    `forward` maps preprocessed images float32 (N, S, S, 3) in [0, 1] to numpy arrays
    {"occupancy": (N, R, R, R, 1), "regressed": (N, R, R, R, 3), "confidence": (N, R, R, R, 1),
    "flow": (N, R, R, R, 2), "blended": (N, R, R, R, 3)}.
    """

    def __init__(self, preset: Preset, forward: Forward, source: str = "memory",
                 color_t: float = RELEASED_T, threshold: float = DEFAULT_THRESHOLD):
        self.preset = preset
        self._forward = forward
        self.source = source
        self.color_t = color_t  # the color recipe's t for its Results (a zoo model's own)
        self.threshold = threshold  # `predict`'s default occupancy threshold (a zoo model's own)

    @property
    def image_size(self) -> int:
        return self.preset.model.image_size

    @property
    def volume_size(self) -> int:
        return self.preset.model.volume_size

    def __repr__(self) -> str:
        return (f"Reconstructor(preset={self.preset.name!r}, {self.image_size} px -> "
                f"{self.volume_size}^3, from {self.source})")

    # Construction ------------------------------------------------------------------------------
    @classmethod
    def from_models(cls, preset: Preset, shape_model, color_model, source: str = "memory",
                    fold: bool = True) -> "Reconstructor":
        """`fold`: run the networks' BN-folded inference copies (`forward.inference_models`:
        the same outputs to float rounding, faster); False runs the models as they are."""
        return Im2Avatar(preset, shape_model, color_model, source).predictor(fold)

    @classmethod
    def from_pretrained(cls, name: str, fold: bool = True,
                        runtime: str = "tensorflow") -> "Reconstructor":
        """A model of the zoo shipped in `pretrained/` (`python run.py models` lists them), its
        files checked against the manifest's sha256 first; its colors use the blend t chosen
        for it on validation data. `runtime`: see `Im2Avatar.predictor`."""
        return Im2Avatar.from_pretrained(name).predictor(fold, runtime)

    @classmethod
    def load(cls, model: Union[str, os.PathLike], fold: bool = True,
             runtime: str = "tensorflow") -> "Reconstructor":
        """A zoo name (e.g. "car") or anything `from_dir` reads (a path that exists wins)."""
        from . import pretrained

        name = pretrained.resolve(model)
        return (cls.from_pretrained(name, fold, runtime) if name
                else cls.from_dir(model, fold, runtime))

    @classmethod
    def from_dir(cls, path: Union[str, os.PathLike], fold: bool = True,
                 runtime: str = "tensorflow") -> "Reconstructor":
        """Load from a model folder (config.json + shape.keras + color.keras), an `export`
        output folder, a SavedModel folder, the exported `.keras` file, or an ONNX export
        (`export --format onnx`: a folder with im2avatar.onnx, or the file). `fold`: see
        `from_models` (for a model folder; an export holds what it was exported with).
        `runtime="onnxruntime"` runs an ONNX export, or a model folder converted to ONNX."""
        from . import export

        from . import pretrained

        if runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"model not found: {path}")
        onnx = export.find_onnx(path)
        if onnx is not None and (runtime == "onnxruntime" or export.find_saved_model(path) is None):
            preset, session = export.load_onnx(onnx)
            return cls(preset, onnx_forward(session), str(onnx),
                       color_t=export.read_color_t(onnx.parent))
        if runtime == "onnxruntime":
            if any((path / f"{network}.keras").exists() for network in NETWORKS):
                return Im2Avatar.from_dir(path).predictor(fold, runtime)
            raise FileNotFoundError(f"{path} holds no ONNX model: export one with `python "
                                    f"run.py export --format onnx`")
        if path.is_file() and path.suffix == ".keras":
            preset, model = export.load_keras_file(path)
            return cls(preset, combined_forward(model), str(path),
                       color_t=export.read_color_t(path.parent))
        saved_model = export.find_saved_model(path)
        if saved_model is not None:
            preset, loaded = export.load_saved_model(saved_model)
            return cls(preset, saved_model_forward(loaded), str(saved_model),
                       color_t=export.read_color_t(saved_model))
        if any((path / f"{network}.keras").exists() for network in NETWORKS):
            return Im2Avatar.from_dir(path).predictor(fold)
        hint = (f" (the folder hides the pretrained model {path.name!r}: run elsewhere, or "
                f"rename the folder)" if path.name in pretrained.names() else "")
        raise FileNotFoundError(
            f"{path} is not a model: expected a folder with config.json + shape.keras + "
            f"color.keras (from `train`), or one made by `python run.py export`{hint}")

    # Prediction --------------------------------------------------------------------------------
    def prepare(self, item: ImageLike, label: Optional[str] = None, crop: bool = False,
                crop_margin: float = 0.1, remove_background: bool = False,
                foreground_ratio: Optional[float] = None) -> Tuple[np.ndarray, List[Warning]]:
        """One image (a path, a PIL image or an array) -> (float32 (S, S, 3) in [0, 1], the
        warnings about it, each a sentence naming it by `label`). They are returned, not
        raised: `preprocess` warns them, `reconstruct` and the demo show them beside the file.

        remove_background: cut the object out first (`background.cut_out`: the image's own
        alpha if it has one, else GrabCut); a `ForegroundWarning` when the cut-out covers under
        1 % or over 95 % of the frame. The photo's framing is kept.
        foreground_ratio: crop to the foreground so its longer side is this fraction of the
        input (replaces `crop` / `crop_margin`). The networks read the object's size in the
        frame as its size (a fixed training camera), so reframing changes the shape: use it for
        a photo whose object is far smaller or larger than in the training views
        (`background.TRAINING_FOREGROUND_RATIOS`).
        Also a `BlankImageWarning` for an image with nothing in it, and an
        `images.SquashedImageWarning` for one more than 4:1 wide or tall (after cropping)."""
        from . import background as bg

        label = _label(item, 0) if label is None else label
        if foreground_ratio is not None:
            crop, crop_margin = True, bg.foreground_margin(foreground_ratio)
        image = _pixels(item, label)
        if image.ndim == 2:
            image = image[..., None]
        notes: List[Warning] = []
        if remove_background:
            image, note = bg.cut_out(image, label)
            if note:
                notes.append(ForegroundWarning(note))
        if not has_foreground(image):
            notes.append(BlankImageWarning(f"{label} has no foreground (it is blank or fully "
                                           f"transparent): its model will be a guess"))
        if crop:
            image = crop_to_foreground(image, margin=crop_margin)
        squashed = squash_warning(label, *image.shape[:2], self.image_size)
        if squashed:
            notes.append(SquashedImageWarning(squashed))
        pixels = np.asarray(preprocess(image, self.image_size, self.preset.data.background),
                            dtype=np.float32)  # (S, S, 3)
        return pixels, notes

    def preprocess(self, images, crop: bool = False, crop_margin: float = 0.1,
                   remove_background: bool = False,
                   foreground_ratio: Optional[float] = None) -> Tuple[np.ndarray, List[str]]:
        """Images or paths -> (float32 (N, S, S, 3) in [0, 1], names): `prepare` each (see
        there for the options), its warnings raised as Python warnings. Paths are read with
        `images.read_image` (a non-image raises a ValueError naming the file)."""
        items, _ = _as_image_list(images)
        return self._preprocess(items, 0, dict(crop=crop, crop_margin=crop_margin,
                                               remove_background=remove_background,
                                               foreground_ratio=foreground_ratio))

    def _preprocess(self, items: List[ImageLike], first: int,
                    options: dict) -> Tuple[np.ndarray, List[str]]:
        """`preprocess` of `items`, the first being input number `first` (for the names)."""
        if not items:
            raise ValueError("no images given")
        batch, names = [], []
        for index, item in enumerate(items, start=first):
            pixels, notes = self.prepare(item, _label(item, index), **options)
            for note in notes:
                warnings.warn(note, stacklevel=3)
            batch.append(pixels)
            names.append(_image_name(item, index))
        return np.stack(batch), names

    def forward(self, batch: np.ndarray) -> Dict[str, np.ndarray]:
        """Preprocessed float32 (N, S, S, 3) -> the network outputs (see the class docstring)."""
        size = self.image_size
        if batch.ndim != 4 or batch.shape[1:] != (size, size, 3):
            raise ValueError(f"forward takes preprocessed images (N, {size}, {size}, 3), "
                             f"got {batch.shape}; use predict() for raw images")
        return self._forward(np.asarray(batch, dtype=np.float32))

    def predict(self, images, threshold: Optional[float] = None, crop: bool = False,
                crop_margin: float = 0.1, batch_size: int = 8, remove_background: bool = False,
                foreground_ratio: Optional[float] = None,
                fuse: bool = False) -> Union[Result, List[Result]]:
        """Reconstruct one image or many.

        images: a path, an image array (H, W[, C]) uint8 or float in [0, 1] with 1-4 channels,
        a batch (N, H, W, C), or a list of paths / arrays of any sizes. A single image gives a
        `Result`, anything else a list of them, in order.
        threshold: occupancy probability for a voxel to count as occupied; default: the
        model's own (`self.threshold`: a zoo model's manifest value, else the evaluation's 0.8).
        crop: crop each image to its foreground first (for photos with a small object),
        keeping `crop_margin` times its longer side around it.
        remove_background, foreground_ratio: for photos with a scene behind the object (see
        `prepare`).
        fuse: the images are views of one object: one fused `Result` (`fusion.fuse`: the mean
        occupancy, colors from the views that see each voxel).
        """
        check_threshold(self.threshold if threshold is None else threshold)
        items, single = _as_image_list(images)
        options = dict(crop=crop, crop_margin=crop_margin, remove_background=remove_background,
                       foreground_ratio=foreground_ratio)
        results = []
        for start in range(0, len(items), batch_size):
            batch, names = self._preprocess(items[start:start + batch_size], start, options)
            results += self.results(batch, names, threshold)
        if fuse:
            from .fusion import fuse as fuse_views

            return fuse_views(results)
        return results[0] if single else results

    def results(self, batch: np.ndarray, names: List[str],
                threshold: Optional[float] = None) -> List[Result]:
        """Preprocessed images (N, S, S, 3) (`preprocess`, `prepare`) -> a `Result` each, named
        by `names`, at `threshold` (default: the model's own)."""
        threshold = self.threshold if threshold is None else threshold
        check_threshold(threshold)
        outputs = self.forward(batch)
        return [Result(image=batch[i], occupancy=outputs["occupancy"][i, ..., 0],
                       threshold=threshold, name=name, color_t=self.color_t,
                       **{key: outputs[key][i] for key in COLOR_KEYS})
                for i, name in enumerate(names)]


# --------------------------------------------------------------------------------------------
# Backends: every one returns the same dict of numpy arrays
# --------------------------------------------------------------------------------------------
def saved_model_forward(loaded) -> Forward:
    """Forward pass through an exported SavedModel's `from_preprocessed` signature."""
    import tensorflow as tf

    fn = loaded.signatures["from_preprocessed"]
    return lambda batch: {k: v.numpy() for k, v in fn(images=tf.constant(batch)).items()}


def onnx_forward(session) -> Forward:
    """Forward pass through an ONNX Runtime session of the exported combined model."""
    names = [o.name for o in session.get_outputs()]
    feed = session.get_inputs()[0].name
    return lambda batch: dict(zip(names, session.run(names, {feed: np.asarray(batch, np.float32)})))


def combined_forward(model) -> Forward:
    """Forward pass through the exported single `.keras` model (dict outputs)."""
    return lambda batch: {k: np.asarray(v) for k, v in model(batch, training=False).items()}
