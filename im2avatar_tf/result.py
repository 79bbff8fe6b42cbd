"""`Result`: what a reconstruction gives for one image, and what can be made of it.

The network outputs for one picture (occupancy and the color network's outputs, indexed
(x, y, z)) with the input the networks saw; it reads the occupied voxels at its threshold, the
final colors by the evaluation's recipe (`colors.final_colors`), the geometry (smooth mesh,
voxel cubes, points), the released h5 volumes, files in every format and a preview.
`inference.Reconstructor.predict` makes them; `fusion.fuse` makes one from several views.
"""
from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Union

import numpy as np

from . import meshing
from .colors import COLOR_KEYS, RELEASED_T, final_colors, pack_color_prediction, split_color_prediction
from .images import BACKGROUND_RGB, WHITE_RGB, to_uint8
from .io import write_h5, write_png

DEFAULT_THRESHOLD = 0.8  # the evaluation's occupancy threshold (reference 5.3)


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
        check_threshold(self.threshold)
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


def check_threshold(threshold: float) -> None:
    """Refuse an occupancy threshold outside (0, 1), naming it."""
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be strictly between 0 and 1 (an occupancy "
                         f"probability), got {threshold}")
