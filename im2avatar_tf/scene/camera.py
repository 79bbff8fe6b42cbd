"""The turntable pinhole camera: one projection shared by the renderer and the flow ground truth.

World frame: y up, objects normalized into [-0.5, 0.5]^3 (see `data/meshes.py`). A camera sits
on a horizontal circle around the y axis and looks at the origin. Azimuth a (radians) puts the
camera at distance * (cos(e) sin(a), sin(e), cos(e) cos(a)): a = 0 looks from +z towards -z, and
a grows counter-clockwise seen from above (a right-handed turn about +y).

Camera frame: OpenCV convention (x right, y down, z forward), so a point projects straight to
pixel coordinates. Normalized image coordinates (u, v) are in [0, 1), u = column, v = row, and a
point falls in pixel (floor(v * size), floor(u * size)): the convention of the released flow
volumes (reference section 4.1).

Defaults (the authors never published theirs, reference 4.3): elevation 20 deg (slightly from
above), distance 2.5, vertical field of view 35 deg. A sphere of radius 0.7 around the origin
stays inside the frame from every azimuth; chairs, tables, cars and guitars normalized to a
longest side of 1 fit in it (a 1 x 0.6 x 0.6 box has a radius of 0.66) and fill about 60-80 %
of the frame.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Tuple

import numpy as np

DEFAULT_ELEVATION = 20.0  # degrees above the horizontal plane
DEFAULT_DISTANCE = 2.5  # from the origin, in units of the normalized object's longest side
DEFAULT_FOV = 35.0  # degrees, vertical = horizontal (square images)
DEFAULT_SIZE = 128  # pixels, the released view size


@dataclass(frozen=True)
class Camera:
    """Perspective pinhole camera at `position` looking at `target` with world up +y."""

    position: Tuple[float, float, float]
    target: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    fov_deg: float = DEFAULT_FOV
    size: int = DEFAULT_SIZE
    azimuth: float = 0.0  # radians; informative (the turntable parameters it was made from)
    elevation_deg: float = DEFAULT_ELEVATION
    distance: float = DEFAULT_DISTANCE

    @classmethod
    def turntable(cls, azimuth: float, elevation_deg: float = DEFAULT_ELEVATION,
                  distance: float = DEFAULT_DISTANCE, fov_deg: float = DEFAULT_FOV,
                  size: int = DEFAULT_SIZE) -> "Camera":
        """Camera on the horizontal turntable circle; `azimuth` in radians."""
        if not 0.0 < fov_deg < 180.0:
            raise ValueError(f"fov_deg must be in (0, 180), got {fov_deg}")
        if distance <= 0.0 or size < 1:
            raise ValueError(f"distance must be > 0 and size >= 1, got {distance}, {size}")
        e = math.radians(elevation_deg)
        position = (distance * math.cos(e) * math.sin(azimuth), distance * math.sin(e),
                    distance * math.cos(e) * math.cos(azimuth))
        return cls(position=tuple(float(p) for p in position), fov_deg=float(fov_deg),
                   size=int(size), azimuth=float(azimuth), elevation_deg=float(elevation_deg),
                   distance=float(distance))

    # -- matrices -------------------------------------------------------------------------
    @property
    def focal(self) -> float:
        """Focal length in pixels."""
        return 0.5 * self.size / math.tan(math.radians(self.fov_deg) / 2.0)

    @property
    def intrinsics(self) -> np.ndarray:
        """(3, 3) K in pixels; the principal point is the image center."""
        f, c = self.focal, 0.5 * self.size
        return np.array([[f, 0.0, c], [0.0, f, c], [0.0, 0.0, 1.0]])

    @property
    def rotation(self) -> np.ndarray:
        """(3, 3) world -> camera rotation; rows are the camera's right, down, forward axes."""
        eye = np.asarray(self.position, dtype=np.float64)
        forward = np.asarray(self.target, dtype=np.float64) - eye
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, [0.0, 1.0, 0.0])
        if np.linalg.norm(right) < 1e-9:
            raise ValueError("camera looks straight up or down; use |elevation| < 90 degrees")
        right /= np.linalg.norm(right)
        down = np.cross(forward, right)
        return np.stack([right, down, forward])

    @property
    def extrinsics(self) -> np.ndarray:
        """(4, 4) world -> camera transform [R | -R C]."""
        rot = self.rotation
        m = np.eye(4)
        m[:3, :3] = rot
        m[:3, 3] = -rot @ np.asarray(self.position, dtype=np.float64)
        return m

    # -- the projection -------------------------------------------------------------------
    def project(self, points: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """points (N, 3) world -> uv (N, 2) normalized (x = column, y = row), depth (N,) along
        the viewing axis. Pixel = floor(uv * size); uv is outside [0, 1) off-screen."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        cam = points @ self.rotation.T + self.extrinsics[:3, 3]  # (N, 3) camera frame
        depth = cam[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            uv = self.focal * cam[:, :2] / depth[:, None] / self.size + 0.5  # (N, 2)
        return uv, depth

    def rays(self) -> Tuple[np.ndarray, np.ndarray]:
        """Rays through the pixel centers, row-major: origins (H*W, 3), unit directions (H*W, 3)."""
        s = self.size
        centers = (np.arange(s) + 0.5) / s - 0.5  # (s,) normalized offsets of pixel centers
        x, y = np.meshgrid(centers, centers)  # x varies along columns, y along rows
        cam_dirs = np.stack([x.ravel() * s / self.focal, y.ravel() * s / self.focal,
                             np.ones(s * s)], axis=1)  # (H*W, 3) camera frame
        dirs = cam_dirs @ self.rotation  # camera -> world
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        origins = np.broadcast_to(np.asarray(self.position, dtype=np.float64), dirs.shape).copy()
        return origins, dirs

    # -- serialization --------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-ready: parameters plus the matrices (for users who only read meta.json)."""
        d = asdict(self)
        d["position"] = list(self.position)
        d["target"] = list(self.target)
        d["intrinsics"] = self.intrinsics.tolist()
        d["extrinsics"] = self.extrinsics.tolist()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Camera":
        fields = {k: d[k] for k in ("position", "target", "fov_deg", "size", "azimuth",
                                    "elevation_deg", "distance") if k in d}
        fields["position"] = tuple(fields["position"])
        if "target" in fields:
            fields["target"] = tuple(fields["target"])
        return cls(**fields)


def turntable_cameras(views: int = 12, size: int = DEFAULT_SIZE, **camera_kwargs) -> list:
    """`views` cameras at azimuths k * 2 pi / views (30 degree steps for the released 12)."""
    return [Camera.turntable(2.0 * math.pi * k / views, size=size, **camera_kwargs)
            for k in range(views)]
