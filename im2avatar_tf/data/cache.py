"""A one-time compact, memory-mapped copy of one (dataset, split, category) for training.

Why: the released files are 12 PNGs and 13 gzip'd float32 h5 volumes per model; decoding
them costs more CPU per sample than a small network's training step, and h5py serialises
reads across threads. The cache stores what training reads, already at the model's sizes:

    images.u8      uint8    (N, V, S, S, 3)  views preprocessed to the model's image size
    offsets.npy    int64    (N + 1,)          model i owns entries offsets[i]:offsets[i+1]
    voxels.i32     int32    (M,)              flat C-order index of every voxel with a value
    colors.f16     float16  (M, 3)            their colors (-1 where only a flow is defined)
    flow_{k}.f16   float16  (M, 2)            their flows in view k (one file per view, so
                                              one view of one model is one contiguous read)
    manifest.json                             what was cached from where, models, skipped

A 64^3 model with ~12k surface voxels takes ~0.65 MB (+ 0.6 MB of 128 px views) instead of
~3-8 MB of h5; a 32^3 one about a quarter. Values are float16 (absolute error < 5e-4 on
[0, 1]); evaluation never reads the cache, it reads the float32 originals.

The cache folder is written under a temporary name and renamed when complete; it is reused
while the split list and every model's color file are unchanged (size and mtime), and
rebuilt otherwise.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np

from .. import caches
from .. import images as image_ops
from ..io import atomic_dir
from .layout import ModelPaths, split_list_path
from .samples import (BAD_FILE_ERRORS, at_resolution, load_color, load_flow,
                      skip_or_raise,
                      source_resolution, sparse_sample)


CACHE_VERSION = 1
DEFAULT_CACHE_DIR = caches.root() / "inputs"  # $IM2AVATAR_CACHE, <checkout>/cache, ~/.cache


@dataclass
class CompactSplit:
    """An opened cache: memory-mapped arrays, read-only, safe to share between threads."""

    path: Path
    keys: List[str]  # model keys ("<folder>/<model>"), in split-list order minus skipped
    views: Tuple[str, ...]
    images: np.ndarray  # (N, V, S, S, 3) uint8
    offsets: np.ndarray  # (N + 1,) int64
    voxels: np.ndarray  # (M,) int32
    colors: np.ndarray  # (M, 3) float16
    flows: List[np.ndarray]  # V x (M, 2) float16
    skipped: List[dict]

    def __len__(self) -> int:
        return len(self.keys)

    def read(self, i: int, view: int):
        """Model i in view index `view` -> (image (S, S, 3) uint8, voxels (n,) int32,
        colors (n, 3) float32, flow (n, 2) float32)."""
        a, b = self.offsets[i], self.offsets[i + 1]
        return (np.asarray(self.images[i, view]), np.asarray(self.voxels[a:b]),
                self.colors[a:b].astype(np.float32), self.flows[view][a:b].astype(np.float32))


def cache_dir_for(data_root: Path, split: str, category: str, image_size: int, resolution: int,
                  cache_root: Path = DEFAULT_CACHE_DIR) -> Path:
    """Where the cache of this (root, split, category, sizes) lives; names say what is inside."""
    digest = hashlib.sha1(str(Path(data_root).resolve()).encode()).hexdigest()[:8]
    return Path(cache_root) / f"{Path(data_root).name}-{digest}" / \
        f"{category}-{split}-{image_size}px-{resolution}"


def fingerprint(data_root: Path, split: str, category: str, models: Sequence[ModelPaths],
                resolution: int) -> str:
    """Changes when the split list or any model's color file changes (size or mtime)."""
    h = hashlib.sha1(f"v{CACHE_VERSION}".encode())
    h.update(split_list_path(data_root, split, category).read_bytes())
    for m in models:
        try:
            st = at_resolution(m, source_resolution(m, resolution)).color.stat()
            h.update(f"{m.root.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
            if m.meta.exists():  # our builder rewrites meta.json last whenever views change
                h.update(f"meta:{m.meta.stat().st_mtime_ns}".encode())
        except FileNotFoundError:
            h.update(f"{m.root.resolve()}:missing".encode())
    return h.hexdigest()


def open_cache(path: Path) -> CompactSplit:
    manifest = json.loads((path / "manifest.json").read_text())
    n, m, views, s = manifest["models"], manifest["voxels"], manifest["views"], manifest["image_size"]

    def mm(name, dtype, shape):
        if 0 in shape:
            return np.zeros(shape, dtype)
        return np.memmap(path / name, dtype=dtype, mode="r", shape=shape)

    return CompactSplit(
        path=path, keys=manifest["keys"], views=tuple(views),
        images=mm("images.u8", np.uint8, (n, len(views), s, s, 3)),
        offsets=np.load(path / "offsets.npy"),
        voxels=mm("voxels.i32", np.int32, (m,)),
        colors=mm("colors.f16", np.float16, (m, 3)),
        flows=[mm(f"flow_{k}.f16", np.float16, (m, 2)) for k in range(len(views))],
        skipped=manifest["skipped"],
    )


def ensure_cache(data_root: Path, split: str, category: str, models: Sequence[ModelPaths],
                 keys: Sequence[str], views: Sequence[str], image_size: int, resolution: int,
                 skip_bad: bool = False, cache_root: Path = DEFAULT_CACHE_DIR,
                 rebuild: bool = False, progress: bool = True) -> CompactSplit:
    """Open the cache of this split and category, building it first if absent or stale."""
    path = cache_dir_for(data_root, split, category, image_size, resolution, cache_root)
    fp = fingerprint(data_root, split, category, models, resolution)
    # Two commands on the same data (two trainings, two workers of one run) must not build
    # the same cache at once: one builds it under the lock, the other then finds it fresh.
    with _exclusive(path.with_name(path.name + ".lock")):
        if not rebuild and _is_fresh(path, fp):
            return open_cache(path)
        _build(path, data_root, split, category, models, keys, views, image_size, resolution,
               skip_bad, fp, progress)
        return open_cache(path)


def _is_fresh(path: Path, fp: str) -> bool:
    try:
        return json.loads((path / "manifest.json").read_text()).get("fingerprint") == fp
    except (OSError, ValueError, KeyError, AttributeError):
        return False  # absent or unreadable manifest: rebuild


@contextlib.contextmanager
def _exclusive(lock_file: Path):
    """Hold an advisory lock on `lock_file` (released by the kernel if the process dies)."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for {lock_file.with_suffix('')}: another process is building it",
                  file=sys.stderr, flush=True)
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _read_model(model: ModelPaths, views: Sequence[str], image_size: int, resolution: int):
    """All views (V, S, S, 3) uint8 and the sparse volumes of one model."""
    raw = [image_ops.read_image(model.view(v)) for v in views]
    if len({im.shape for im in raw}) == 1:  # the usual case: one call for all views
        imgs = image_ops.preprocess(np.stack(raw), image_size).numpy()
    else:
        imgs = np.stack([image_ops.preprocess(im, image_size).numpy() for im in raw])
    imgs = image_ops.to_uint8(imgs)  # (V, S, S, 3)
    color = load_color(model, resolution)
    voxels, colors, flows = sparse_sample(color, [load_flow(model, v, resolution) for v in views])
    return imgs, voxels, colors, flows


def _build(path: Path, data_root: Path, split: str, category: str,
           models: Sequence[ModelPaths], keys: Sequence[str], views: Sequence[str],
           image_size: int, resolution: int, skip_bad: bool, fp: str, progress: bool) -> None:
    from tqdm import tqdm

    with atomic_dir(path) as tmp:
        kept, skipped, offsets = [], [], [0]
        files = {"images": open(tmp / "images.u8", "wb"), "voxels": open(tmp / "voxels.i32", "wb"),
                 "colors": open(tmp / "colors.f16", "wb")}
        flow_files = [open(tmp / f"flow_{k}.f16", "wb") for k in range(len(views))]
        try:
            for model, key in tqdm(list(zip(models, keys)), desc=f"caching {category}/{split}",
                                   unit="model", disable=not progress, leave=False):
                try:
                    imgs, voxels, colors, flows = _read_model(model, views, image_size, resolution)
                except BAD_FILE_ERRORS as e:
                    skip_or_raise(key, e, skip_bad, skipped)
                    continue
                files["images"].write(imgs.tobytes())
                files["voxels"].write(voxels.astype(np.int32).tobytes())
                files["colors"].write(colors.astype(np.float16).tobytes())
                for k, f in enumerate(flow_files):
                    f.write(flows[k].astype(np.float16).tobytes())
                kept.append(key)
                offsets.append(offsets[-1] + voxels.size)
        finally:
            for f in list(files.values()) + flow_files:
                f.close()
        np.save(tmp / "offsets.npy", np.asarray(offsets, dtype=np.int64))
        (tmp / "manifest.json").write_text(json.dumps({
            "version": CACHE_VERSION, "data_root": str(Path(data_root).resolve()),
            "split": split, "category": category, "image_size": image_size,
            "resolution": resolution, "views": list(views), "models": len(kept),
            "voxels": int(offsets[-1]), "keys": kept, "skipped": skipped, "fingerprint": fp,
        }, indent=1))
