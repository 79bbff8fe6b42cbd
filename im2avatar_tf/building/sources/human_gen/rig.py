"""The anny body model behind one small interface (torch; generator process only).

anny conventions we rely on (checked on anny 0.6.2): meters, +z up, the body faces -y, its
left side at +x; rest pose is an A-pose; `Anny()` builds offline from the package's own
MakeHuman (CC0) assets and caches the build in ``$ANNY_CACHE_DIR``; pose parameters are one
4x4 delta per bone in the ``local-ref`` parameterization, i.e. a rotation about world-aligned
axes at the bone's head, composed after the parent's pose.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List

import numpy as np
import torch

from .bodies import Body

# Bone groups by name prefix, for poses (collision checks) and for clothing regions.
GROUPS = ("torso", "head", "arm.L", "arm.R", "leg.L", "leg.R")
INTERNAL_SEGMENTS = ("mouth_cavity", "tongue", "eye_cavity.L", "eye_cavity.R")


def bone_group(label: str) -> str:
    side = label.rsplit(".", 1)[-1] if "." in label else ""
    if label.startswith(("upperarm", "lowerarm", "wrist", "finger", "metacarpal")):
        return f"arm.{side}"
    if label.startswith(("upperleg", "lowerleg", "foot", "toe")):
        return f"leg.{side}"
    if label.startswith(("neck", "head", "eye", "jaw", "tongue")):
        return "head"
    return "torso"  # root, pelvis, spine, clavicle, shoulder


def check_cache_env() -> str:
    """The anny cache folder; refuses to fall back to the home folder."""
    cache = os.environ.get("ANNY_CACHE_DIR")
    if not cache:
        raise RuntimeError("ANNY_CACHE_DIR is not set: point it at the project's cache folder "
                           "(the glue sets <repo>/cache/anny), never the home folder")
    return cache


@dataclass
class Posed:
    vertices: np.ndarray  # (V, 3) float64, anny coordinates
    rest_heads: np.ndarray  # (J, 3) rest-pose bone heads of this body
    posed_heads: np.ndarray  # (J, 3)
    bone_poses: np.ndarray = None  # (J, 4, 4) posed bone frames (garments are skinned with them)


class Rig:
    """anny model + the fixed per-vertex data every body shares (faces, UVs, groups)."""

    def __init__(self):
        check_cache_env()
        try:  # warp prints its banner and kernel loads on stdout, which the glue parses
            import warp

            warp.config.quiet = True
        except ImportError:
            pass
        import anny

        self.anny_version = anny.__version__
        self.model = anny.Anny().to(dtype=torch.float64)
        prune_build_cache()
        self.model.eval()
        m = self.model
        self.bone_labels: List[str] = list(m.bone_labels)
        self.faces = m.faces.cpu().numpy().astype(np.int64)  # (F, 3) triangles
        if self.faces.ndim != 2 or self.faces.shape[1] != 3:
            raise RuntimeError(f"expected a triangle mesh from anny, got faces {self.faces.shape}")
        self.uv = m.texture_coordinates.cpu().numpy().astype(np.float64)  # (T, 2), v up
        self.face_uv = m.face_texture_coordinate_indices.cpu().numpy().astype(np.int64)  # (F, 3)
        weights = m.vertex_bone_weights.cpu().numpy()  # (V, 9)
        indices = m.vertex_bone_indices.cpu().numpy()  # (V, 9)
        self.num_vertices = weights.shape[0]
        group_of_bone = np.array([GROUPS.index(bone_group(b)) for b in self.bone_labels])
        gw = np.zeros((self.num_vertices, len(GROUPS)))
        np.add.at(gw, (np.repeat(np.arange(self.num_vertices), weights.shape[1]),
                       group_of_bone[indices.ravel()]), weights.ravel())
        self.group_weights = gw / np.maximum(gw.sum(1, keepdims=True), 1e-12)  # (V, G)
        self.vertex_group = self.group_weights.argmax(1)  # (V,) dominant group
        self.internal_faces = self._internal_faces()

    def _internal_faces(self) -> np.ndarray:
        """Faces inside the head (mouth cavity, tongue, eye sockets), found through anny's UV
        segmentation at each face's UV centroid. Dropped from the output mesh, or the voxel
        shell would get interior voxels."""
        import yaml
        from PIL import Image
        from anny.paths import get_anny_root_dir

        folder = get_anny_root_dir() / "data" / "segmentation"
        colors = yaml.safe_load((folder / "body_parts_segmentation.yaml").read_text())["colors"]
        img = np.asarray(Image.open(folder / "body_parts_segmentation.png").convert("RGB"), np.int32)
        h, w = img.shape[:2]
        centroid = self.uv[self.face_uv].mean(1)  # (F, 2)
        cols = np.clip((centroid[:, 0] * w).astype(int), 0, w - 1)
        rows = np.clip(((1.0 - centroid[:, 1]) * h).astype(int), 0, h - 1)
        rgb = img[rows, cols]  # (F, 3)
        inside = np.zeros(len(self.faces), bool)
        for name in INTERNAL_SEGMENTS:
            inside |= np.abs(rgb - np.array(colors[name])).sum(1) < 30
        return np.flatnonzero(inside)

    def bone(self, label: str) -> int:
        return self.bone_labels.index(label)

    def phenotype(self, body: Body) -> Dict[str, float]:
        """anny's phenotype kwargs for a body (age in years -> anny's age scale)."""
        return {"gender": body.gender, "age": anny_age(body.age_years), "muscle": body.muscle,
                "weight": body.weight, "height": body.height, "proportions": body.proportions}

    @torch.no_grad()
    def forward(self, phenotype: Dict[str, float], deltas: torch.Tensor = None) -> Posed:
        """Vertices for a phenotype and optional per-bone deltas (1, J, 4, 4)."""
        out = self.model(pose_parameters=deltas, phenotype_kwargs=phenotype)
        return Posed(vertices=out["vertices"][0].cpu().numpy(),
                     rest_heads=out["rest_bone_heads"][0].cpu().numpy(),
                     posed_heads=out["bone_poses"][0, :, :3, 3].cpu().numpy(),
                     bone_poses=out["bone_poses"][0].cpu().numpy())

    def skinning_weights(self) -> np.ndarray:
        """(V, J) dense per-vertex bone weights (anny keeps 9 per vertex)."""
        w = self.model.vertex_bone_weights.cpu().numpy()
        i = self.model.vertex_bone_indices.cpu().numpy()
        dense = np.zeros((len(w), len(self.bone_labels)))
        np.add.at(dense, (np.repeat(np.arange(len(w)), w.shape[1]), i.ravel()), w.ravel())
        return dense

    def identity(self) -> torch.Tensor:
        return torch.eye(4, dtype=torch.float64).repeat(1, len(self.bone_labels), 1, 1)


def prune_build_cache() -> None:
    """Delete anny's intermediate build caches once the compact model data is cached.

    `Anny()` caches three stages (loaded MakeHuman data 560 MB, full model data 215 MB, the
    compact model 51 MB on anny 0.6.2) but loads only the last one afterwards: keeping 51 MB
    instead of 790 MB. A missing stage is rebuilt by anny only if the compact one goes."""
    from anny.paths import get_anny_cache_path

    root = get_anny_cache_path()
    for folder in root.glob("v*"):
        if any(folder.glob("build_compact_model_data_*")):
            for stale in (*folder.glob("load_data_*"), *folder.glob("build_model_data_*")):
                stale.unlink(missing_ok=True)


def anny_age(years: float) -> float:
    """Age in years -> anny's age parameter, through anny's own calibration table
    (morphological age anchors of `anny.shape_distribution`)."""
    from anny.paths import get_anny_root_dir

    table = torch.load(str(get_anny_root_dir() / "data" / "shape_calibration" / "boys.pth"),
                       weights_only=True)["morphological_age_mapping"]
    years_at = table["morphological_age_anchors"].numpy()
    anny_at = table["anny_age_anchors"].numpy()
    return float(np.interp(years, years_at, anny_at))
