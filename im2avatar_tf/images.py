"""Image preprocessing, one implementation for training, evaluation, inference and the
exported SavedModel (it is written in TensorFlow ops so it can live inside the serving graph).

Any input (uint8 or float, gray, RGB or RGBA, any size) becomes a float32 RGB image in [0, 1]
of the model's size: alpha is composited onto the training background, gray is repeated to
RGB, the longer side is resized to `size` (area / antialiased) and the shorter one padded with
the background, centered.
"""
from __future__ import annotations

import os
import warnings
from typing import Optional, Sequence, Union

import numpy as np

# The released views' background: light uniform gray-white (reference section 4.1).
BACKGROUND_RGB = (245, 245, 245)
# The released human set's background (reference section 4.2).
WHITE_RGB = (255, 255, 255)

# Images with more pixels are refused from their header, before decoding: a 41 KB PNG can
# declare 12000 x 12000 pixels and take gigabytes to decode (a decompression bomb). 64 Mpx
# lets through every phone photo up to 50 Mpx (8160 x 6144); the networks see 64-128 px.
# Below PIL's own limit (Image.MAX_IMAGE_PIXELS, 89.5 Mpx): above that one, PIL's check (in
# Image.open, its DecompressionBombWarning made an error) speaks first, with the same error.
MAX_PIXELS = 64_000_000
# Longer side / shorter side above which an image is squashed out of use by `preprocess` (the
# longer side becomes the model's size S, the shorter one S / ratio): a warning, not an error.
MAX_ASPECT = 4.0


class ImageTooLargeError(ValueError):
    """An image over `MAX_PIXELS`, refused before it is decoded."""


class SquashedImageWarning(UserWarning):
    """An image whose aspect ratio is above `MAX_ASPECT`: the networks see it as a thin strip."""


def to_uint8(x) -> np.ndarray:
    """Float image or colors (...) in [0, 1] -> uint8 (...) in 0..255, clipped and rounded
    (not truncated: 0.9 -> 230). uint8 input comes back unchanged."""
    x = np.asarray(x)
    if x.dtype == np.uint8:
        return x
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def background_float(background: Sequence[int] = BACKGROUND_RGB) -> np.ndarray:
    return np.asarray(background, dtype=np.float32) / 255.0


def preprocess(images, size: int, background: Sequence[int] = BACKGROUND_RGB):
    """images: (H, W, C) or (N, H, W, C), C in {1, 3, 4}, uint8 (0..255) or float (0..1).
    Returns float32 (N, size, size, 3) in [0, 1] (or (size, size, 3) for a single image)."""
    import tensorflow as tf

    images = tf.convert_to_tensor(images)
    single = images.shape.rank == 3
    if single:
        images = images[None]
    if images.shape.rank != 4:
        raise ValueError(f"expected an image (H, W, C) or a batch (N, H, W, C), got shape {images.shape}")
    if images.dtype == tf.uint8:
        x = tf.cast(images, tf.float32) / 255.0
    else:
        x = tf.cast(images, tf.float32)
    bg = tf.constant(background_float(background))  # (3,)
    channels = x.shape[-1]
    if channels == 4:
        alpha = x[..., 3:4]
        x = x[..., :3] * alpha + bg * (1.0 - alpha)
    elif channels == 2:  # gray + alpha
        alpha = x[..., 1:2]
        x = tf.repeat(x[..., :1], 3, axis=-1) * alpha + bg * (1.0 - alpha)
    elif channels == 1:
        x = tf.repeat(x, 3, axis=-1)
    elif channels != 3 and channels is not None:
        raise ValueError(f"images must have 1, 2, 3 or 4 channels, got {channels}")

    h = tf.shape(x)[1]
    w = tf.shape(x)[2]
    scale = tf.cast(size, tf.float32) / tf.cast(tf.maximum(h, w), tf.float32)
    new_h = tf.maximum(1, tf.cast(tf.round(tf.cast(h, tf.float32) * scale), tf.int32))
    new_w = tf.maximum(1, tf.cast(tf.round(tf.cast(w, tf.float32) * scale), tf.int32))
    same = tf.logical_and(tf.equal(new_h, h), tf.equal(new_w, w))
    x = tf.cond(same, lambda: x,
                lambda: tf.image.resize(x, tf.stack([new_h, new_w]), method="area", antialias=True))
    # Pad the shorter side with the background, centered.
    top = (size - new_h) // 2
    left = (size - new_w) // 2
    x = x - bg
    x = tf.pad(x, [[0, 0], [top, size - new_h - top], [left, size - new_w - left], [0, 0]])
    x = tf.clip_by_value(x + bg, 0.0, 1.0)
    x = tf.ensure_shape(x, [None, size, size, 3])
    return x[0] if single else x


def read_image(path: Union[str, os.PathLike]) -> np.ndarray:
    """Decode PNG / JPEG / BMP / GIF / TIFF / WebP to uint8 (H, W, C), C in {1, 2, 3, 4}: the one
    way images are read (reconstruct, the demo, the Python API, datasets, evaluation).

    - Upright: a photo's EXIF orientation (a phone's sideways JPEG) is applied.
    - Over `MAX_PIXELS` (64 megapixels): an `ImageTooLargeError` (a ValueError) from the file's
      header, before any pixel is decoded.
    - High bit depths are scaled, not clipped (`pixels_uint8`).
    A file that is not an image raises a ValueError naming it; a missing one (or a broken
    symbolic link) a FileNotFoundError."""
    from PIL import Image, UnidentifiedImageError

    if os.path.islink(path) and not os.path.exists(path):
        raise FileNotFoundError(f"{path} is a broken symbolic link (its target "
                                f"{os.readlink(path)} does not exist)")
    _refuse_decompression_bombs()
    try:
        with Image.open(path) as im:  # reads the header only
            _check_pixel_count(path, *im.size)
            im.load()
            _upright(im)
            return pixels_uint8(im, path)
    except FileNotFoundError:
        raise FileNotFoundError(f"image not found: {path}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        # PIL's own check, in Image.open, speaks first above its limit (89.5 Mpx)
        raise ImageTooLargeError(f"{path} is over the limit of {MAX_PIXELS / 1e6:.0f} "
                                 f"megapixels: {str(e).rstrip('.')}; {_DOWNSCALE}") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise ValueError(f"{path} is not a readable image ({e}); give a PNG or JPEG file") from None


def pil_pixels(im, name: str = "image") -> np.ndarray:
    """A PIL image given in memory (the Python API) -> uint8 (H, W, C), read like a file
    (`read_image`): upright by its EXIF orientation, over `MAX_PIXELS` refused. The caller's
    image is not changed."""
    _check_pixel_count(name, *im.size)
    im = im.copy()
    _upright(im)
    return pixels_uint8(im, name)


def _check_pixel_count(name, width: int, height: int) -> None:
    """Raise an `ImageTooLargeError` naming `name` if width x height exceeds `MAX_PIXELS`."""
    if width * height > MAX_PIXELS:
        raise ImageTooLargeError(
            f"{name} is over the limit of {MAX_PIXELS / 1e6:.0f} megapixels: {width} x {height} "
            f"pixels ({width * height / 1e6:.0f} megapixels); {_DOWNSCALE}")


_DOWNSCALE = ("downscale it (the networks see 128 x 128 pixels at most); images are checked "
              "before decoding, against decompression bombs")


def squash_warning(name, height: int, width: int, size: int) -> Optional[str]:
    """A one-line warning naming `name` if an image of `height` x `width` is more than
    `MAX_ASPECT` times longer than wide (or the reverse): `preprocess` fits the longer side to
    `size` and the shorter one shrinks to a strip. None otherwise."""
    long, short = max(height, width), max(1, min(height, width))
    if long / short <= MAX_ASPECT:
        return None
    seen = max(1, round(short * size / long))
    shown = f"{size} x {seen}" if width >= height else f"{seen} x {size}"
    return (f"{name} is {width} x {height} pixels, {long / short:.0f}:1 (over "
            f"{MAX_ASPECT:g}:1): the networks see it squashed to {shown} pixels; crop it "
            f"around the object (try --crop)")


def _upright(im) -> None:
    """Apply the image's EXIF orientation in place (a phone's sideways JPEG turns upright).
    Malformed EXIF data is ignored, as viewers do: PIL raises IndexError, KeyError,
    SyntaxError, ZeroDivisionError ... for it (Pillow issues 4215, 5580, 8348, 8605)."""
    from PIL import ImageOps

    try:
        ImageOps.exif_transpose(im, in_place=True)
    except Exception:
        pass


_BOMB_FILTER_SET = False


def _refuse_decompression_bombs() -> None:
    """Make PIL's DecompressionBombWarning an error in this process (once: warnings filters are
    process-wide and not thread-safe to change per call), so no image PIL flags is decoded."""
    global _BOMB_FILTER_SET
    if not _BOMB_FILTER_SET:
        from PIL import Image

        warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
        _BOMB_FILTER_SET = True


def pixels_uint8(im, path="image") -> np.ndarray:
    """A decoded PIL image -> uint8 (H, W, C) with C in {1, 2, 3, 4} (gray, gray + alpha, RGB,
    RGBA). Modes beyond 8 bits per channel are scaled to 0..255 (PIL's own conversion clips):

    - I;16, I;16L, I;16B, I;16N (16-bit gray, e.g. a 16-bit PNG): value / 65535.
    - I (32-bit int): value / 65535 when every value lies in 0..65535 (PIL's usual way to hold
      16-bit data), else value / (2^31 - 1); negatives count as 0.
    - F (32-bit float): as is when every value lies in [0, 1], else / 255 when in [0, 255],
      else / 65535 when in [0, 65535], else stretched from its minimum to its maximum.
      Non-finite values raise a ValueError.
    - 16-bit RGB(A) PNGs: PIL reads them as 8-bit RGB(A) (the high byte: value / 257).
    Palette, CMYK, YCbCr, LAB, HSV, 1-bit and premultiplied modes go through PIL's conversion
    to RGB(A) or gray."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA"):
        arr = np.asarray(im)
    elif mode.startswith("I;16"):
        arr = to_uint8(np.asarray(im).astype(np.float64) / 65535.0)
    elif mode == "I":
        values = np.asarray(im).astype(np.float64)
        top = 65535.0 if values.size and values.max() <= 65535 else float(2 ** 31 - 1)
        arr = to_uint8(np.maximum(values, 0.0) / top)
    elif mode == "F":
        values = np.asarray(im).astype(np.float64)
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{path} holds NaN or infinite pixel values")
        lo, hi = (values.min(), values.max()) if values.size else (0.0, 1.0)
        if lo >= 0 and hi <= 1:
            arr = to_uint8(values)
        elif lo >= 0 and hi <= 255:
            arr = to_uint8(values / 255.0)
        elif lo >= 0 and hi <= 65535:
            arr = to_uint8(values / 65535.0)
        else:
            arr = to_uint8((values - lo) / max(hi - lo, 1e-12))
    elif mode == "1":
        arr = np.asarray(im.convert("L"))
    elif mode in ("PA", "La", "RGBa") or (mode == "P" and "transparency" in im.info):
        arr = np.asarray(im.convert("RGBA"))
    else:  # P, CMYK, YCbCr, LAB, HSV, RGBX, ...
        arr = np.asarray(im.convert("RGB"))
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.dtype != np.uint8 or arr.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"{path}: unsupported image mode {mode} ({arr.dtype}, "
                         f"{arr.shape[-1]} channels); save it as an 8-bit PNG")
    return arr
