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
the object is small. Colors come from `colors.final_colors`, the release's evaluation recipe,
so a saved mesh shows the colors that evaluation scores.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import meshing
from .colors import (COLOR_KEYS, RELEASED_T, final_colors, pack_color_prediction,
                     split_color_prediction)
from .config import Preset
from .forward import NETWORKS, Forward, keras_forward, network_outputs
from .io import write_h5, write_png
from .images import (BACKGROUND_RGB, WHITE_RGB, SquashedImageWarning, preprocess, read_image,
                     squash_warning, to_uint8)

ImageLike = Union[str, os.PathLike, np.ndarray, "PIL.Image.Image"]
DEFAULT_THRESHOLD = 0.8  # the evaluation's occupancy threshold (reference 5.3)


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------
def crop_to_foreground(image: np.ndarray, margin: float = 0.1, tolerance: float = 0.05) -> np.ndarray:
    """Crop an image (H, W, C) to the bounding box of its foreground, grown by `margin` times
    the box's longer side on every side (clipped to the image).

    Foreground: alpha > 0 where the image has alpha (C = 2 or 4); otherwise pixels that differ
    from the background color (the median of the border pixels) by more than `tolerance`
    (in [0, 1] units) on some channel. An image with no foreground, or only foreground, is
    returned unchanged. The result still goes through `preprocess` (resize + pad).
    """
    if image.ndim != 3:
        raise ValueError(f"crop_to_foreground takes one image (H, W, C), got shape {image.shape}")
    x = image.astype(np.float32) / (255.0 if image.dtype == np.uint8 else 1.0)
    channels = x.shape[-1]
    if channels in (2, 4):
        foreground = x[..., -1] > 0
    else:
        border = np.concatenate([x[0], x[-1], x[:, 0], x[:, -1]])  # (2H + 2W, C)
        background = np.median(border, axis=0)
        foreground = np.any(np.abs(x - background) > tolerance, axis=-1)  # (H, W)
    if not foreground.any() or foreground.all():
        return image
    rows = np.flatnonzero(foreground.any(axis=1))
    cols = np.flatnonzero(foreground.any(axis=0))
    pad = int(round(margin * max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)))
    top, bottom = max(rows[0] - pad, 0), min(rows[-1] + 1 + pad, image.shape[0])
    left, right = max(cols[0] - pad, 0), min(cols[-1] + 1 + pad, image.shape[1])
    return image[top:bottom, left:right]


def has_foreground(image: np.ndarray, tolerance: float = 0.05) -> bool:
    """Whether an image (H, W, C) shows anything: False when it is fully transparent (alpha 0
    everywhere) or, where opaque, one flat color (no pixel differs from the median color by
    more than `tolerance` on a channel, in [0, 1] units)."""
    x = np.asarray(image)
    x = x.astype(np.float32) / (255.0 if x.dtype == np.uint8 else 1.0)
    if x.ndim == 2:
        x = x[..., None]
    if x.shape[-1] in (2, 4):
        opaque = x[..., -1] > 0
        if not opaque.any():
            return False
        x = x[..., :-1][opaque]  # (n, C) the visible pixels
    else:
        x = x.reshape(-1, x.shape[-1])
    return bool(np.any(np.abs(x - np.median(x, axis=0)) > tolerance))


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


def _pixels(item: ImageLike, index: int) -> np.ndarray:
    """One image of `predict`'s input as an array: a path read by `images.read_image`, a PIL
    image by `images.pil_pixels` (both upright by EXIF, size-checked), an array as it is."""
    if isinstance(item, (str, os.PathLike)):
        return read_image(item)
    if hasattr(item, "getexif"):  # a PIL image
        from .images import pil_pixels

        return pil_pixels(item, _image_name(item, index))
    return np.asarray(item)


def _image_name(item: ImageLike, index: int) -> str:
    return Path(item).stem if isinstance(item, (str, os.PathLike)) else f"image_{index:03d}"


class ForegroundWarning(UserWarning):
    """A background removal whose cut-out covers under 1 % or over 95 % of the frame."""


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, eq=False)  # arrays: compare volumes, not results
class Result:
    """The prediction for one image. Volumes are indexed (x, y, z), R = the preset's size.

    Colors are defined on occupied voxels (occupancy >= threshold) only; `colors` holds the
    final colors (evaluation recipe) there and zeros elsewhere.
    """

    image: np.ndarray  # (S, S, 3) float32 in [0, 1]: the preprocessed input the networks saw
    occupancy: np.ndarray  # (R, R, R) occupancy probability
    regressed: np.ndarray  # (R, R, R, 3) regressed color in (0, 1)
    confidence: np.ndarray  # (R, R, R, 1) w, the weight of the regressed color
    flow: np.ndarray  # (R, R, R, 2) where in `image` the color is: (x = column, y = row) in (0, 1)
    blended: np.ndarray  # (R, R, R, 3) the training-time blend w * regressed + (1 - w) * sampled
    threshold: float = DEFAULT_THRESHOLD
    name: str = "image"
    color_t: float = RELEASED_T  # the blend's re-weighting threshold (colors.final_colors)

    def __post_init__(self):
        _check_threshold(self.threshold)
        res = self.occupancy.shape[0]
        expected = {"occupancy": (res,) * 3, "regressed": (res,) * 3 + (3,),
                    "confidence": (res,) * 3 + (1,), "flow": (res,) * 3 + (2,),
                    "blended": (res,) * 3 + (3,)}
        for key, shape in expected.items():
            if getattr(self, key).shape != shape:
                raise ValueError(f"Result.{key} must have shape {shape}, got {getattr(self, key).shape}")

    @classmethod
    def from_prediction(cls, image: np.ndarray, occupancy: np.ndarray, color9: np.ndarray,
                        threshold: float = DEFAULT_THRESHOLD, name: str = "image") -> "Result":
        """A Result from the released prediction format (what evaluation's predictors give):
        image (S, S, 3) in [0, 1], occupancy (R, R, R), color9 (R, R, R, 9)."""
        return cls(image=np.asarray(image, dtype=np.float32), occupancy=occupancy,
                   threshold=threshold, name=name, **split_color_prediction(color9))

    @property
    def resolution(self) -> int:
        return self.occupancy.shape[0]

    def with_threshold(self, threshold: float) -> "Result":
        """The same prediction read at another occupancy threshold."""
        return dataclasses.replace(self, threshold=threshold)

    @functools.cached_property
    def occupied(self) -> np.ndarray:
        """(R, R, R) bool: occupancy >= threshold, as in the evaluation."""
        return self.occupancy >= self.threshold

    @functools.cached_property
    def colors(self) -> np.ndarray:
        """(R, R, R, 3) final colors on occupied voxels (the evaluation recipe at `color_t`), 0
        elsewhere."""
        out = np.zeros(self.regressed.shape, dtype=np.float32)
        mask = self.occupied
        if mask.any():
            out[mask] = final_colors(self.regressed[mask], self.confidence[mask],
                                     self.flow[mask], self.image, t=self.color_t)
        return out

    # Geometry ---------------------------------------------------------------------------
    def to_points(self):
        """`trimesh.PointCloud`: one colored point per occupied voxel, at its center."""
        self._require_occupied()
        return meshing.to_points(self.occupied, self.colors)

    def to_voxel_mesh(self):
        """`trimesh.Trimesh`: one cube per occupied voxel (shared vertices, face colors)."""
        self._require_occupied()
        return meshing.to_voxel_mesh(self.occupied, self.colors)

    def to_mesh(self, max_faces: Optional[int] = None):
        """`trimesh.Trimesh`: smooth closed surface (marching cubes at the threshold), vertex
        colors from the nearest occupied voxel; at most `max_faces` triangles if given."""
        self._require_occupied()
        return meshing.to_surface_mesh(self.occupancy, self.threshold, self.occupied, self.colors,
                                       max_faces=max_faces)

    def _require_occupied(self) -> None:
        meshing.require_occupied(self.occupied, self.occupancy, self.threshold)

    # The released prediction format -----------------------------------------------------------
    def shape_prediction(self) -> np.ndarray:
        """(R, R, R, 1) occupancy probabilities, the release's shape output."""
        return self.occupancy[..., None].astype(np.float32)

    def color_prediction(self) -> np.ndarray:
        """(R, R, R, 9) = [regressed 3, w 1, flow 2, blended 3], the release's color output."""
        return pack_color_prediction({key: getattr(self, key) for key in COLOR_KEYS})

    # Files ------------------------------------------------------------------------------------
    def save(self, path: Union[str, os.PathLike], geometry: str = "mesh",
             save_input: bool = True, max_faces: Optional[int] = None) -> List[Path]:
        """Write the result; the suffix picks the format. Returns the paths written.

        - `.ply`, `.obj`, `.glb`: colored geometry; `geometry` = "mesh" (marching cubes; at
          most `max_faces` triangles if given), "voxels" (cubes) or "points". `.stl`: the
          mesh or voxel triangles without colors (the mesh is watertight). Raises
          `EmptyPredictionError` if nothing is occupied.
        - `.h5`: the released prediction volumes, `<stem>_shape.h5` (R^3 x 1) and
          `<stem>_color.h5` (R^3 x 9), dataset "data" each.
        With `save_input`, the preprocessed input is written beside it as `<stem>_input.png`.
        """
        from .mesh_io import MESH_FORMATS, write_geometry

        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in MESH_FORMATS + (".h5",):
            raise ValueError(f"cannot save {path.name}: the suffix must be one of "
                             f"{', '.join(MESH_FORMATS + ('.h5',))}")
        if max_faces is not None and geometry != "mesh":
            raise ValueError(f"max_faces simplifies the smooth surface (geometry 'mesh'), not "
                             f"{geometry!r}")
        build = (functools.partial(self.to_mesh, max_faces=max_faces) if max_faces is not None
                 else self._geometry(geometry))
        written = []
        if suffix == ".h5":
            for kind, volume in (("shape", self.shape_prediction()), ("color", self.color_prediction())):
                target = path.with_name(f"{path.stem}_{kind}.h5")
                write_h5(target, volume)
                written.append(target)
        else:
            written.append(write_geometry(build(), path))
        if save_input:
            written.append(self.save_input(path.with_name(f"{path.stem}_input.png")))
        return written

    def save_input(self, path: Union[str, os.PathLike]) -> Path:
        """The preprocessed input as a PNG: exactly what the networks saw."""
        return save_png(path, self.image)

    def preview(self, views: int = 4, size: int = 128, geometry: str = "mesh",
                background: Sequence[int] = BACKGROUND_RGB) -> np.ndarray:
        """uint8 (size, (views + 1) * size, 3): the input beside turntable renders of the
        `geometry` ("mesh" or "voxels", see `save`) on `background` (or, for an empty
        prediction, beside blank white tiles)."""
        from PIL import Image

        from .scene.render import turntable

        tile = np.asarray(Image.fromarray(to_uint8(self.image)).resize((size, size), Image.BILINEAR))
        build = self._geometry(geometry)
        try:
            renders = turntable(build(), views=views, size=size, background=background)
        except meshing.EmptyPredictionError:
            renders = [np.full((size, size, 3), WHITE_RGB, np.uint8)] * views
        return np.concatenate([tile] + [np.asarray(r)[..., :3] for r in renders], axis=1)

    def _geometry(self, kind: str) -> Callable[[], object]:
        """The builder of geometry `kind`: "mesh", "voxels" or "points"."""
        builders = {"mesh": self.to_mesh, "voxels": self.to_voxel_mesh, "points": self.to_points}
        if kind not in builders:
            raise ValueError(f"geometry must be one of {sorted(builders)}, got {kind!r}")
        return builders[kind]


def save_png(path: Union[str, os.PathLike], image: np.ndarray) -> Path:
    """Write a float [0, 1] or uint8 image (H, W, 3) as PNG, atomically."""
    return write_png(path, to_uint8(image))


def _check_threshold(threshold: float) -> None:
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be strictly between 0 and 1 (an occupancy "
                         f"probability), got {threshold}")


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
    def from_pretrained(cls, name: str) -> "Im2Avatar":
        """A model of the zoo shipped in `pretrained/` (`python run.py models` lists them),
        every file checked against the manifest's sha256 first."""
        from . import pretrained

        entry = pretrained.get(name)
        pretrained.verify(entry)
        preset = Preset.from_dict(json.loads((entry.folder / "config.json").read_text()))
        networks = [pretrained.load_weights(pretrained.build_network(n, preset),
                                            entry.folder / f"{n}.weights.npz") for n in NETWORKS]
        return cls(preset, *networks, source=f"pretrained {name!r}", color_t=entry.color_t,
                   threshold=entry.threshold)

    def save(self, folder: Union[str, os.PathLike]) -> Path:
        """Write a model dir (config.json + shape.keras + color.keras) that `from_dir` reads."""
        from .io import atomic_write_text, save_keras

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / "config.json", self.preset.to_json())
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
    def preprocess(self, images, crop: bool = False, crop_margin: float = 0.1,
                   remove_background: bool = False,
                   foreground_ratio: Optional[float] = None) -> Tuple[np.ndarray, List[str]]:
        """Images or paths -> (float32 (N, S, S, 3) in [0, 1], names). Paths are read with
        `images.read_image` (a non-image raises a ValueError naming the file). An image more
        than 4:1 wide or tall (after `crop`) gives an `images.SquashedImageWarning`.

        remove_background: cut the object out first (`background.remove_background`: the
        image's own alpha if it has one, else GrabCut), warn (`ForegroundWarning`) when the
        cut-out covers under 1 % or over 95 % of the frame. The photo's framing is kept.
        foreground_ratio: crop to the foreground so its longer side is this fraction of the
        input (replaces `crop` / `crop_margin`). The networks read the object's size in the
        frame as its size (a fixed training camera), so reframing changes the shape: use it for
        a photo whose object is far smaller or larger than in the training views
        (`background.TRAINING_FOREGROUND_RATIOS`)."""
        from . import background as bg

        if foreground_ratio is not None:
            crop, crop_margin = True, bg.foreground_margin(foreground_ratio)
        items, _ = _as_image_list(images)
        batch, names = [], []
        for index, item in enumerate(items):
            image = _pixels(item, index)
            if image.ndim == 2:
                image = image[..., None]
            if remove_background:
                image, note = bg.cut_out(image, _image_name(item, index))
                if note:
                    warnings.warn(note, ForegroundWarning, stacklevel=2)
            if crop:
                image = crop_to_foreground(image, margin=crop_margin)
            squashed = squash_warning(item if isinstance(item, (str, os.PathLike))
                                      else f"image {index}", *image.shape[:2], self.image_size)
            if squashed:
                warnings.warn(squashed, SquashedImageWarning, stacklevel=2)
            batch.append(np.asarray(preprocess(image, self.image_size,
                                               self.preset.data.background)))  # (S, S, 3)
            names.append(_image_name(item, index))
        if not batch:
            raise ValueError("no images given")
        return np.stack(batch).astype(np.float32), names

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
        `preprocess`).
        fuse: the images are views of one object: one fused `Result` (`fusion.fuse`: the mean
        occupancy, colors from the views that see each voxel).
        """
        threshold = self.threshold if threshold is None else threshold
        _check_threshold(threshold)
        items, single = _as_image_list(images)
        results = []
        for start in range(0, len(items), batch_size):
            chunk = items[start:start + batch_size]
            batch, _ = self.preprocess(chunk, crop=crop, crop_margin=crop_margin,
                                       remove_background=remove_background,
                                       foreground_ratio=foreground_ratio)
            outputs = self.forward(batch)
            for i in range(len(chunk)):
                results.append(Result(
                    image=batch[i], occupancy=outputs["occupancy"][i, ..., 0],
                    threshold=threshold, name=_image_name(chunk[i], start + i),
                    color_t=self.color_t,
                    **{key: outputs[key][i] for key in COLOR_KEYS},
                ))
        if fuse:
            from .fusion import fuse as fuse_views

            return fuse_views(results)
        return results[0] if single else results


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
