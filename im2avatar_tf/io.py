"""Atomic file and folder writing and the h5 "data" convention of the release.

Every writer goes through a temporary name in the same folder and `os.replace`, so a killed
job never leaves a half-written file or folder under its final name.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np


_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: os.PathLike, suffix: str = ".tmp"):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.
    The temporary name ends in `suffix`, for writers that insist on one (Keras: ".keras")."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give files the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path: os.PathLike):
    """Yield a new empty folder beside `path`; it replaces `path` (and anything there) only if
    the block succeeds, and is removed if it fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp makes 0700; give folders the usual permissions
    try:
        yield tmp
        if path.exists():  # move the old one aside (onto an empty folder), then swap in
            old = tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent)
            os.replace(path, old)
            try:
                os.replace(tmp, path)
            except BaseException:
                os.replace(old, path)  # put the previous output back
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def save_keras(model, path: os.PathLike) -> None:
    """`model.save` to a `.keras` file, atomically."""
    with atomic_path(path, suffix=".keras") as tmp:  # Keras insists on the suffix
        model.save(tmp)


def atomic_write_text(path: os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_write_bytes(path: os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_png(path: os.PathLike, rgb: np.ndarray) -> Path:
    """Write a uint8 image (H, W, 3), (H, W, 4) or (H, W) as PNG, atomically; returns `path`.
    Floats are refused rather than guessed at: convert with `images.to_uint8` first."""
    from PIL import Image

    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim not in (2, 3):
        raise ValueError(f"write_png takes a uint8 image (H, W[, C]), got {rgb.dtype} "
                         f"{rgb.shape}; convert floats with images.to_uint8")
    with atomic_path(path) as tmp:
        Image.fromarray(rgb).save(tmp, format="PNG")
    return Path(path)


def write_h5(path: os.PathLike, array: np.ndarray, dataset: str = "data", compress: bool = True) -> None:
    """Write `array` as float32 dataset `data` (the release's convention), atomically.

    The h5 file is made in memory and written with plain file I/O: HDF5 that fails a write
    itself (disk full, `ulimit -f`) leaves a file object that crashes the process when it is
    freed (a segmentation fault, h5py 3.14 / HDF5 1.14); a plain write raises an OSError."""
    import io

    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        # gzip level 1: shell volumes are mostly -1 and compress ~20x already; higher
        # levels cost the builder a third of a second per model for a few percent.
        kwargs = {"compression": "gzip", "compression_opts": 1} if compress else {}
        f.create_dataset(dataset, data=np.asarray(array, dtype=np.float32), **kwargs)
    atomic_write_bytes(path, buffer.getbuffer())


def read_h5(path: os.PathLike, dataset: str = "data") -> np.ndarray:
    """Read dataset `data` of an h5 file; errors name the file and what is wrong."""
    import h5py

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"missing volume file {path}")
    try:
        with h5py.File(path, "r") as f:
            if dataset not in f:
                raise KeyError(f"{path} has no dataset {dataset!r} (found {list(f.keys())})")
            return np.asarray(f[dataset][...], dtype=np.float32)
    except OSError as e:
        raise OSError(f"cannot read {path}: {e}; delete it and rebuild the model") from e


def save_figure(fig, path: os.PathLike, **kwargs) -> None:
    """Save a matplotlib figure atomically (format from the final suffix)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", **kwargs)
