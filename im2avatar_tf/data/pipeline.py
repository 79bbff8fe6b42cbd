"""The tf.data training input: one random view per model per epoch, as released.

    pipe = InputPipeline.for_preset(preset, root, split="train")   # opens / builds the cache
    for batch in pipe.epochs(0, 30):   # one dataset (one iterator) for a whole training run
        batch["image"]       # float32 (B, S, S, 3) in [0, 1], `images.preprocess`ed to size S
        batch["occupancy"]   # float32 (B, R, R, R, 1) in {0, 1}: GT color channel 0 > -0.5
        batch["color"]       # float32 (B, R, R, R, 3), -1 where empty
        batch["flow"]        # float32 (B, R, R, R, 2) of the drawn view, -1 where empty
        batch["view"]        # int32 (B,) index into layout.VIEW_NAMES
        batch["model_id"]    # string (B,) "<category folder>/<model folder>" (unique, also for
                             # the human layout where mesh names repeat across clothes)
    pipe(epoch)              # one epoch alone: pipe.epochs(epoch, epoch + 1)

Epoch e shuffles the models and draws one view per model from `default_rng([seed, e])`, so
an epoch's batches are a pure function of (data, seed, epoch): resuming at epoch e replays it.
An epoch has floor(N / B) batches (the last partial batch is dropped, as released).

Stages (parallel, order kept, prefetched): from the compact cache (`data/cache.py`, the
default) one call reads a whole batch of sparse volumes and model-size images; from the raw
files (`cache=False`) each sample is read and `images.preprocess`ed, then `ragged_batch`ed.
Both end in one scatter per batch to the dense volumes. The stage functions are traced once
per pipeline, and `epochs(start, stop)` draws each epoch's plan inside the dataset, so a
whole run is one iterator: starting an iterator costs ~45 ms, more than a tiny epoch's
batches. Missing or corrupt files raise an error naming the file. With `skip_bad` a bad model is dropped with a warning when the cache is
built (listed in `skipped`); without a cache, a sample found bad at read time is replaced by
the same view of the next good model, with a warning, so every epoch keeps its batches.
"""
from __future__ import annotations

import atexit
import gc
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np

from .cache import DEFAULT_CACHE_DIR, CompactSplit, ensure_cache
from .layout import VIEW_NAMES, ModelPaths, layout_of, read_split
from .samples import (BAD_FILE_ERRORS, BadModelError, at_resolution, load_color, load_flow,
                      occupancy_from_color, skip_or_raise,
                      source_resolution, sparse_sample)

log = logging.getLogger(__name__)


@atexit.register
def _release_iterators_before_exit() -> None:
    """Free input iterators that an uncaught error's traceback still holds, while Python can
    still run the readers in flight. Destroyed later, during interpreter shutdown, an iterator
    waits for its in-flight `numpy_function` readers, which can no longer take the GIL (or
    h5py's lock, held by a reader that was stopped): the process hangs at 0 % CPU."""
    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        if getattr(sys, name, None) is not None:
            setattr(sys, name, None)
    gc.collect()


class _ReadState:
    """What the readers of one pipeline share: the first data error one of them hit. After it,
    every reader fails at once (the run is over), so the readers in flight finish quickly and
    the caller can raise that error, not TensorFlow's wrapping of it."""

    def __init__(self):
        self.failure: Optional[BaseException] = None

    def check(self) -> None:
        if self.failure is not None:
            raise RuntimeError("input stopped after an earlier data error")

    def fail(self, error: BaseException) -> None:
        if self.failure is None:
            self.failure = error


@dataclass(frozen=True)
class ModelEntry:
    """One model of a split: its paths, its category name and a unique key."""

    paths: ModelPaths
    category: str
    key: str  # "<category folder>/<model folder>", e.g. "02958343/1a2b..." or "clothes3/mesh7_new"


Roots = Union[str, Path, Sequence[Union[str, Path]]]


def as_roots(root: Roots) -> List[Path]:
    """One dataset root, or several whose splits are read together (e.g. procedural models
    and real ones: each keeps its own split lists, so a real test split stays held out)."""
    roots = [Path(root)] if isinstance(root, (str, os.PathLike)) else [Path(r) for r in root]
    if not roots:
        raise ValueError("no dataset root given")
    names = [r.name for r in roots]
    if len(set(names)) != len(names):
        raise ValueError(f"dataset roots must have different folder names (they prefix the "
                         f"model keys), got {[str(r) for r in roots]}")
    return roots


def resolve_categories(root: Roots, categories: Optional[Sequence[str]]) -> Tuple[str, ...]:
    """The categories to read: ('human',) for a human-style root, else those given; several
    roots must agree (no mixing the human layout with ShapeNet-style categories)."""
    resolved = {r: layout_of(r).resolve_categories(categories) for r in as_roots(root)}
    if len(set(resolved.values())) > 1:
        raise ValueError("the dataset roots resolve to different categories: " + ", ".join(
            f"{r} -> {list(c)}" for r, c in resolved.items()))
    return next(iter(resolved.values()))


def list_models(root: Roots, split: str, categories: Sequence[str], resolution: int,
                views: Sequence[str] = VIEW_NAMES, skip_bad: bool = False
                ) -> Tuple[List[ModelEntry], List[dict]]:
    """Models of a split whose files all exist (a cheap stat per file, no decoding), of one
    root or of several (in the order given; keys then start with the root's folder name).

    Returns (entries, skipped). A missing file raises BadModelError naming it, or with
    `skip_bad` the model is skipped with a warning and listed in `skipped`."""
    roots = as_roots(root)
    if len(roots) > 1:
        entries, skipped = [], []
        for r in roots:
            mine, bad = list_models(r, split, categories, resolution, views, skip_bad)
            entries += [ModelEntry(e.paths, e.category, f"{r.name}/{e.key}") for e in mine]
            skipped += [{**b, "model": f"{r.name}/{b['model']}"} for b in bad]
        return entries, skipped
    root = roots[0]
    entries, skipped = [], []
    for category in categories:
        for paths in read_split(root, split, category):
            key = paths.root.relative_to(root).as_posix()
            try:
                src = at_resolution(paths, source_resolution(paths, resolution))
                for f in src.required_files(views):
                    if not f.exists():
                        raise FileNotFoundError(f"missing file {f}")
            except FileNotFoundError as e:
                skip_or_raise(key, e, skip_bad, skipped)
                continue
            entries.append(ModelEntry(paths, category, key))
    if not entries:
        raise ValueError(f"no usable {split} models for {list(categories)} under {root}")
    return entries, skipped


def epoch_plan(num_models: int, epoch: int, seed: int, num_views: int = len(VIEW_NAMES)
               ) -> Tuple[np.ndarray, np.ndarray]:
    """The visiting order (N,) of the models and the view (N,) drawn for each position."""
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(num_models)
    views = rng.integers(0, num_views, size=num_models)
    return order.astype(np.int64), views.astype(np.int64)


class _RawReader:
    """Reads samples straight from the released files (decodes PNG + two h5 per sample)."""

    def __init__(self, entries: Sequence[ModelEntry], views: Sequence[str], resolution: int):
        self.entries, self.views, self.resolution = list(entries), tuple(views), resolution

    def read(self, i: int, view: int):
        from ..images import read_image

        m = self.entries[i].paths
        v = self.views[view]
        image = read_image(m.view(v))  # (H, W, C) uint8, any size
        voxels, colors, flows = sparse_sample(load_color(m, self.resolution),
                                              [load_flow(m, v, self.resolution)])
        return image, voxels, colors, flows[0]


class _CacheReader:
    """Reads samples from one compact cache per category (memory-mapped)."""

    def __init__(self, caches: Sequence[CompactSplit]):
        self.caches = list(caches)
        self.starts = np.cumsum([0] + [len(c) for c in self.caches])

    def read(self, i: int, view: int):
        c = int(np.searchsorted(self.starts, i, side="right") - 1)
        return self.caches[c].read(i - int(self.starts[c]), view)

    def read_batch(self, idx: np.ndarray, views: np.ndarray, resolution: int):
        """B models in one call -> (images (B, S, S, 3) uint8, flat (M,) int64 index into
        (B * R^3) (sample b's voxels offset by b * R^3), colors (M, 3), flows (M, 2) float32)."""
        images, flat, colors, flows = [], [], [], []
        for b, (i, v) in enumerate(zip(idx, views)):
            image, voxels, color, flow = self.read(int(i), int(v))
            images.append(image)
            flat.append(voxels.astype(np.int64) + b * resolution ** 3)
            colors.append(color)
            flows.append(flow)
        return (np.stack(images), np.concatenate(flat), np.concatenate(colors),
                np.concatenate(flows))


@dataclass
class InputPipeline:
    """Training batches of one split (see the module docstring). Call it with an epoch."""

    root: Union[Path, Tuple[Path, ...]]  # one dataset root, or several read together
    split: str
    entries: List[ModelEntry]
    image_size: int
    resolution: int
    batch_size: int
    seed: int = 0
    views: Tuple[str, ...] = VIEW_NAMES
    skip_bad: bool = False
    reader: object = None  # _CacheReader or _RawReader
    skipped: List[dict] = field(default_factory=list)
    _traced: Optional[dict] = field(default=None, init=False, repr=False)
    _state: _ReadState = field(default_factory=_ReadState, init=False, repr=False)

    @property
    def failure(self) -> Optional[BaseException]:
        """The data error (a BadModelError naming the file) that ended the current dataset's
        reading, if any: `train` raises it instead of TensorFlow's wrapped copy."""
        return self._state.failure

    @classmethod
    def open(cls, root, split: str, categories: Optional[Sequence[str]], image_size: int,
             resolution: int, batch_size: int, seed: int = 0, cache: bool = True,
             skip_bad: bool = False, cache_root: Path = DEFAULT_CACHE_DIR,
             rebuild_cache: bool = False, progress: bool = True) -> "InputPipeline":
        """List the split's models and open (building once if needed) the compact cache."""
        roots = as_roots(root)
        for r in roots:
            if not r.is_dir():
                raise FileNotFoundError(f"dataset folder {r} not found: build one with "
                                        f"`python run.py build-dataset` or fix --data")
        cats = resolve_categories(roots, categories)
        entries, skipped = list_models(roots, split, cats, resolution, skip_bad=skip_bad)
        if cache:
            caches, prefixes = [], []
            for r in roots:  # one cache per (root, category), the same as when read alone
                prefix = f"{r.name}/" if len(roots) > 1 else ""
                for cat in cats:
                    mine = [e for e in entries if e.category == cat and e.key.startswith(prefix)]
                    if not mine:
                        continue
                    caches.append(ensure_cache(
                        r, split, cat, [e.paths for e in mine],
                        [e.key[len(prefix):] for e in mine],
                        VIEW_NAMES, image_size, resolution, skip_bad=skip_bad,
                        cache_root=cache_root, rebuild=rebuild_cache, progress=progress))
                    prefixes.append(prefix)
            cached = [p + k for c, p in zip(caches, prefixes) for k in c.keys]
            order = {k: i for i, k in enumerate(cached)}
            skipped += [s for c in caches for s in c.skipped]
            # the caches' order (root, category, split list), which the reader indexes
            entries = sorted((e for e in entries if e.key in order), key=lambda e: order[e.key])
            reader = _CacheReader(caches)
        else:
            reader = _RawReader(entries, VIEW_NAMES, resolution)
        where = " + ".join(map(str, roots))
        if len(entries) < batch_size:
            raise ValueError(f"{where}: {len(entries)} usable {split} models of {list(cats)}, "
                             f"fewer than one batch of {batch_size}: build more models or use "
                             f"a smaller batch size")
        return cls(roots[0] if len(roots) == 1 else tuple(roots), split, entries, image_size,
                   resolution, batch_size, seed, skip_bad=skip_bad, reader=reader,
                   skipped=skipped)

    @classmethod
    def for_preset(cls, preset, root, split: str = "train",
                   categories: Optional[Sequence[str]] = None, **kwargs) -> "InputPipeline":
        """The pipeline a preset trains on (its image size, volume size, batch, seed)."""
        return cls.open(root, split, categories or preset.data.categories,
                        preset.model.image_size, preset.model.volume_size,
                        preset.train.batch_size, seed=preset.train.seed, **kwargs)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def steps_per_epoch(self) -> int:
        """Batches per epoch: floor(N / B), every epoch (the last partial batch dropped)."""
        return len(self.entries) // self.batch_size

    def __call__(self, epoch: int):
        return self.epochs(epoch, epoch + 1)

    def epochs(self, start: int, stop: int):
        """The batches of epochs [start, stop) in order, as one tf.data.Dataset: epoch e's
        batches depend only on (data, seed, e), whatever `start` is. Each epoch's plan is drawn
        lazily (`epoch_plan`), so a long run costs no memory up front."""
        import tensorflow as tf

        stages, auto = self._stages(), tf.data.AUTOTUNE
        N, B, steps = len(self.entries), self.batch_size, self.steps_per_epoch
        cached = isinstance(self.reader, _CacheReader)
        if not 0 <= start <= stop:
            raise ValueError(f"epochs({start}, {stop}): need 0 <= start <= stop")
        self._state.failure = None  # a new dataset starts clean

        shape = [steps, B] if cached else [steps * B]  # per epoch, per slice: a batch or a sample

        def plan(epoch):  # model and view indices; the last partial batch dropped, as released
            order, views = epoch_plan(N, int(epoch), self.seed, len(self.views))
            return order[:steps * B].reshape(shape), views[:steps * B].reshape(shape)

        def slices(epoch):
            order, views = tf.numpy_function(plan, [epoch], [tf.int64, tf.int64], stateful=False)
            return tf.data.Dataset.from_tensor_slices(
                (tf.ensure_shape(order, shape), tf.ensure_shape(views, shape)))

        ds = tf.data.Dataset.range(start, stop).flat_map(slices)
        if cached:
            # Whole batches per call: the cache holds model-size images and bad models were
            # dropped when it was built, so nothing is filtered or resized here. One map for
            # read + scatter: every map stage costs ~12 ms per iterator.
            ds = ds.map(stages["cached_batch"], num_parallel_calls=auto, deterministic=True)
        else:
            ds = ds.map(stages["read"], num_parallel_calls=auto, deterministic=True)
            ds = ds.ragged_batch(B, drop_remainder=True)  # epochs hold whole batches
            ds = ds.map(stages["raw_batch"], num_parallel_calls=auto, deterministic=True)
        ds = ds.apply(tf.data.experimental.assert_cardinality((stop - start) * steps))
        options = tf.data.Options()
        # The default graph rewrites cost more per epoch (iterator) than they save here.
        options.experimental_optimization.apply_default_optimizations = False
        return ds.prefetch(auto).with_options(options)

    def _stages(self) -> dict:
        """The stage functions, traced once per pipeline rather than once per epoch (tracing
        costs ~0.3 s, which small epochs would pay every time)."""
        if self._traced is not None:
            return self._traced
        import tensorflow as tf

        from ..images import preprocess

        keys = tf.constant([e.key for e in self.entries])
        S, R, B = self.image_size, self.resolution, self.batch_size
        read_np, reader, state = self._read_fn(), self.reader, self._state

        def read_cached(idx, views):
            state.check()
            try:
                return reader.read_batch(idx, views, R)
            except Exception as e:
                state.fail(e)
                raise

        @tf.function
        def read(i, v):  # one sample from the raw files: sparse volumes, image of size S
            image, voxels, colors, flow, used = tf.numpy_function(
                read_np, [i, v], [tf.uint8, tf.int32, tf.float32, tf.float32, tf.int64],
                stateful=False)
            return {"image": preprocess(tf.ensure_shape(image, [None, None, None]), S),
                    "voxels": tf.ensure_shape(voxels, [None]),
                    "color": tf.ensure_shape(colors, [None, 3]),
                    "flow": tf.ensure_shape(flow, [None, 2]),
                    "view": tf.cast(v, tf.int32), "model_id": tf.gather(keys, used)}

        @tf.function
        def raw_batch(batch):  # ragged (B, None) voxels -> flat indices into (B * R^3) -> dense
            voxels = batch["voxels"]
            flat = voxels.value_rowids() * R ** 3 + tf.cast(voxels.flat_values, tf.int64)
            return densify({**batch, "voxels": flat, "color": batch["color"].flat_values,
                            "flow": batch["flow"].flat_values}, B, R)

        def read_batch(idx, views):  # B samples from the cache in one call
            image, flat, colors, flow = tf.numpy_function(
                read_cached, [idx, views],
                [tf.uint8, tf.int64, tf.float32, tf.float32], stateful=False)
            return {"image": tf.cast(tf.ensure_shape(image, [B, S, S, 3]), tf.float32) / 255.0,
                    "voxels": tf.ensure_shape(flat, [None]),
                    "color": tf.ensure_shape(colors, [None, 3]),
                    "flow": tf.ensure_shape(flow, [None, 2]),
                    "view": tf.cast(views, tf.int32), "model_id": tf.gather(keys, idx)}

        @tf.function
        def cached_batch(idx, views):
            return densify(read_batch(idx, views), B, R)

        self._traced = {"read": read, "raw_batch": raw_batch, "cached_batch": cached_batch}
        return self._traced

    def _read_fn(self) -> Callable:
        """(i, view) -> one raw sample and the model index it came from. A bad file raises
        naming it; with `skip_bad` the sample is replaced by the same view of the next good
        model (i + 1, i + 2, ... mod N), so every epoch keeps its floor(N / B) full batches
        and stays a pure function of (seed, epoch): resume remains exact."""
        reader, skip_bad, entries, views = self.reader, self.skip_bad, self.entries, self.views
        state = self._state
        warned = set()

        def read(i, v):
            state.check()
            try:
                return read_good(int(i), int(v))
            except Exception as e:
                state.fail(e)
                raise

        def read_good(i, v):
            for k in range(len(entries)):
                j = (i + k) % len(entries)
                try:
                    image, voxels, colors, flow = reader.read(j, v)
                except BAD_FILE_ERRORS as e:
                    key = f"{entries[j].key} view {views[v]}"
                    if not skip_bad:
                        raise BadModelError(key, e) from e
                    if key not in warned:
                        warned.add(key)
                        log.warning("skipping %s (replaced by the next model's view): %s", key, e)
                    continue
                return (image, voxels.astype(np.int32), colors.astype(np.float32),
                        flow.astype(np.float32), np.int64(j))
            raise BadModelError(f"view {views[v]} of every model", ValueError("no readable file"))

        return read


def densify(batch, batch_size: int, resolution: int):
    """A batch with sparse volumes ("voxels" (M,) int64 flat indices into (B * R^3), "color"
    (M, 3), "flow" (M, 2)) -> the dense training batch of the module docstring."""
    import tensorflow as tf

    R3 = resolution ** 3
    flat = batch["voxels"][:, None]  # (M, 1)

    def scatter(values, channels):  # (M, C) -> (B, R, R, R, C), -1 where no value
        dense = tf.tensor_scatter_nd_update(tf.fill([batch_size * R3, channels], -1.0), flat,
                                            values)
        return tf.reshape(dense, [batch_size] + [resolution] * 3 + [channels])

    color = scatter(batch["color"], 3)
    return {
        "image": tf.ensure_shape(batch["image"], [batch_size, None, None, 3]),
        "occupancy": tf.cast(occupancy_from_color(color)[..., None], tf.float32),
        "color": color,
        "flow": scatter(batch["flow"], 2),
        "view": tf.ensure_shape(batch["view"], [batch_size]),
        "model_id": tf.ensure_shape(batch["model_id"], [batch_size]),
    }
