"""Predictors for the practitioners' conditions, in the evaluation's `Predictor` form
((entry, inputs (V, S, S, 3)) -> `evaluation.Prediction`), each through the real inference
path (`Reconstructor.predict` / `fusion.fuse`) and colored as a user's file is colored
(`Result.colors`: the model's own blend t, sampled from the image the network saw), scored as
the "direct" coloring:

- `clean_predictor`: the test views as rendered (the reference).
- `photo_predictor(remove)`: each view composited onto a photograph (a crop of one of
  scikit-image's sample photos, fixed per model and view), reconstructed as it is
  (`remove=False`) or with `remove_background=True`.
- `fused_predictor(k)`: k views of the object fused (`fusion.fuse`); the views of view v are v
  and the k - 1 others spread evenly around the turntable, so every view is scored.

    scored = scoring.beside_baselines(photo_predictor(model, True), root, "test", ["car"], ...)
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Sequence

import numpy as np

from .evaluation import Prediction
from .images import read_image

# scikit-image's sample photographs used as backgrounds: textures and scenes.
BACKGROUND_PHOTOS = ("brick", "grass", "gravel", "coffee", "chelsea", "astronaut", "rocket",
                     "coins", "camera", "page")
PHOTO_SIZE = 256  # the composited photo's side, pixels (a test view is 128 px)
SCORING_THRESHOLD = 0.8  # the evaluation's PSNR threshold: colors on these voxels


@lru_cache(maxsize=None)
def background_photo(name: str) -> np.ndarray:
    """(H, W, 3) uint8: a scikit-image sample photograph (shipped with it, no download)."""
    from skimage import data

    photo = np.asarray(getattr(data, name)())
    if photo.ndim == 2:
        photo = np.repeat(photo[..., None], 3, axis=-1)
    return photo[..., :3].astype(np.uint8)


def composite(view: np.ndarray, key: str, background=(245, 245, 245), tolerance: int = 12,
              size: int = PHOTO_SIZE) -> np.ndarray:
    """A rendered view (H, W, 3) uint8 on the training background -> the object on a crop of
    a photograph, (size, size, 3) uint8. The object is what differs from `background` by more
    than `tolerance`; the photo and the crop follow from `key` (the same every run)."""
    from PIL import Image

    seed = int.from_bytes(hashlib.sha1(key.encode()).digest()[:4], "little")
    rng = np.random.default_rng(seed)
    photo = background_photo(BACKGROUND_PHOTOS[seed % len(BACKGROUND_PHOTOS)])
    side = min(photo.shape[:2])
    crop = int(side * rng.uniform(0.5, 1.0))
    top = int(rng.integers(0, photo.shape[0] - crop + 1))
    left = int(rng.integers(0, photo.shape[1] - crop + 1))
    scene = np.asarray(Image.fromarray(photo[top:top + crop, left:left + crop])
                       .resize((size, size), Image.BILINEAR))
    view = np.asarray(Image.fromarray(view[..., :3]).resize((size, size), Image.LANCZOS))
    mask = np.abs(view.astype(int) - np.asarray(background)).max(-1) > tolerance
    return np.where(mask[..., None], view, scene)


def _prediction(results) -> Prediction:
    """Results of the V views -> a Prediction with the final colors ("direct")."""
    results = [r.with_threshold(SCORING_THRESHOLD) for r in results]
    return Prediction(np.stack([r.occupancy for r in results]),
                      colors=np.stack([r.colors for r in results]))


def clean_predictor(model):
    """The views as rendered, through `model.predict` (a Reconstructor)."""
    def predict(entry, inputs):
        return _prediction(model.predict(list(inputs), threshold=SCORING_THRESHOLD))
    return predict


def photo_predictor(model, remove: bool, view_names: Sequence[str] = None):
    """Each view composited onto a photograph, with or without `remove_background`."""
    from .data.layout import VIEW_NAMES

    names = view_names or VIEW_NAMES

    def predict(entry, inputs):
        photos = [composite(read_image(entry.paths.view(v)), f"{entry.key}/{v}") for v in names]
        return _prediction(model.predict(photos, threshold=SCORING_THRESHOLD,
                                         remove_background=remove))
    return predict


def fused_predictor(model, k: int):
    """k views fused per scored view: v, v + V/k, v + 2V/k, ... (mod V)."""
    from .fusion import fuse

    def predict(entry, inputs):
        views = model.predict(list(inputs), threshold=SCORING_THRESHOLD)
        n = len(views)
        if not 1 <= k <= n:
            raise ValueError(f"cannot fuse {k} of {n} views")
        step = n / k
        return _prediction([fuse([views[int(v + j * step) % n] for j in range(k)])
                            for v in range(n)])
    return predict


def watertight_share(model, inputs: np.ndarray) -> tuple:
    """(watertight, written): how many of the STL files written for these inputs (one per
    view, the smooth surface at the model's threshold) reload watertight in trimesh."""
    import tempfile
    from pathlib import Path

    import trimesh

    from .meshing import EmptyPredictionError

    good = written = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, result in enumerate(model.predict(list(inputs))):
            try:
                path = result.save(Path(tmp) / f"{i}.stl", save_input=False)[0]
            except EmptyPredictionError:
                continue
            written += 1
            good += bool(trimesh.load(path).is_watertight)
    return good, written
