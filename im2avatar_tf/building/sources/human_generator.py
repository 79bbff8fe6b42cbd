"""Generate clothed people as textured meshes (`generate`), the torch/anny program of the
human set: run as a subprocess, `python -m im2avatar_tf.commands.human_generator` (its
command line), by `im2avatar_tf.building.sources.human` (never imported by the TensorFlow
side; it does not import TensorFlow). For every requested
(style, body) pair it writes, atomically:

    {out}/{clothesK}_{meshN_new}.glb    the posed body, textured with the style (glTF axes:
                                        +y up, facing +z, meters)
    {out}/{clothesK}_{meshN_new}.json   sidecar: style, body phenotype, pose angles, axes,
                                        anny version; written last, so it marks a finished pair

Pairs already finished are skipped (resumable). With `jsonl`, one JSON line per finished pair
goes to stdout (the glue turns them into its progress bar); otherwise a tqdm bar shows.
`preview` (a PNG path) renders all styles on one body, front and back, into a sheet.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

GENERATOR_VERSION = 1
DEFAULT_CACHE = Path(__file__).resolve().parents[3] / "cache" / "anny"


def _parse_pairs(text: Optional[str], path: Optional[str]) -> List[Tuple[int, int]]:
    pairs: List[Tuple[int, int]] = []
    if path:
        pairs += [tuple(map(int, p)) for p in json.loads(Path(path).read_text())]
    if text:
        for item in text.split(","):
            s, b = item.split(":")
            pairs.append((int(s), int(b)))
    return pairs


def pair_stem(style_id: int, body_id: int) -> str:
    from .human_gen.plan import clothes_name, mesh_name

    return f"{clothes_name(style_id)}_{mesh_name(body_id)}"


class Generator:
    """Holds the anny rig, the UV atlas and per-body poses; makes one pair at a time."""

    def __init__(self, bodies, texture_size: int = 512):
        from .human_gen import atlas, mesh_out, rig

        self.bodies = bodies
        self.rig = rig.Rig()
        self.atlas = atlas.build_atlas(self.rig, texture_size)
        self.split = mesh_out.SeamSplit(self.rig.faces, self.rig.face_uv, self.rig.internal_faces)
        self._posed: Dict[int, tuple] = {}

    def posed(self, body_id: int):
        """(pose angles, vertices (V, 3), attempts) of a body, computed once."""
        from .human_gen import poses

        if body_id not in self._posed:
            body = self.bodies[body_id]
            pheno = self.rig.phenotype(body)
            if body.pose == "rest":
                self._posed[body_id] = (dict(poses.REST), self.rig.forward(pheno).vertices, 0)
            else:
                pose, out, attempts = poses.natural_pose(self.rig, pheno, body.pose_seed)
                self._posed[body_id] = (pose, out.vertices, attempts)
        return self._posed[body_id]

    def mesh(self, style_id: int, body_id: int):
        from .human_gen import mesh_out, paint, styles

        body = self.bodies[body_id]
        texture = paint.paint(self.atlas, styles.style(style_id), body.skin_tone)
        _, vertices, _ = self.posed(body_id)
        return mesh_out.textured_mesh(vertices, self.split, self.rig.uv, texture)

    def sidecar(self, style_id: int, body_id: int, seconds: float) -> dict:
        from .human_gen import paint, styles

        body = self.bodies[body_id]
        pose, vertices, attempts = self.posed(body_id)
        return {
            "generator": "im2avatar_tf.building.sources.human_generator", "generator_version": GENERATOR_VERSION,
            "anny_version": self.rig.anny_version, "style_id": style_id,
            "style": styles.style(style_id).to_dict(), "body_id": body_id, "body": body.to_dict(),
            "anny_phenotype": self.rig.phenotype(body), "pose": pose, "pose_attempts": attempts,
            "axes": {"up": "+y", "front": "+z", "units": "m"},
            "height_m": float(vertices[:, 2].max() - vertices[:, 2].min()),
            "texture_size": self.atlas.size, "regions": list(paint.REGION_NAMES),
            "seconds": round(seconds, 3),
            "licence": "body: anny (Apache-2.0) with MakeHuman CC0 assets; clothing: generated",
        }

    def write(self, out: Path, style_id: int, body_id: int) -> dict:
        from .human_gen import mesh_out

        t = time.perf_counter()
        stem = pair_stem(style_id, body_id)
        mesh_out.write_glb(self.mesh(style_id, body_id), out / f"{stem}.glb")
        meta = self.sidecar(style_id, body_id, time.perf_counter() - t)
        mesh_out.write_sidecar(out / f"{stem}.json", meta)
        return meta


def is_done(out: Path, style_id: int, body_id: int) -> bool:
    stem = pair_stem(style_id, body_id)
    return (out / f"{stem}.json").exists() and (out / f"{stem}.glb").exists()


def generate(out: os.PathLike, bodies: int = 40, seed: int = 0, pairs: Optional[str] = None,
             pairs_file: Optional[str] = None, texture_size: int = 512,
             preview: Optional[str] = None, preview_body: int = 0, jsonl: bool = False) -> int:
    """Write the meshes of `pairs` ("STYLE:BODY,..." 0-based ids) and/or `pairs_file` (a JSON
    list of [style, body]) of a body design of `bodies` (seeded by `seed`) into `out`; with
    `preview`, a sheet of every style on body `preview_body`. Returns an exit status."""
    os.environ.setdefault("ANNY_CACHE_DIR", str(DEFAULT_CACHE))
    os.environ.setdefault("WARP_CACHE_PATH", str(Path(os.environ["ANNY_CACHE_DIR"]).parent / "warp"))
    from .human_gen.bodies import design_bodies
    from .human_gen.styles import STYLES

    bodies = design_bodies(bodies, seed)
    pairs = _parse_pairs(pairs, pairs_file)
    for s, b in pairs:
        if not (0 <= s < len(STYLES) and 0 <= b < len(bodies)):
            print(f"error: pair {s}:{b} out of range ({len(STYLES)} styles, {len(bodies)} bodies)",
                  file=sys.stderr)
            return 2
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    todo = [(s, b) for s, b in pairs if not is_done(out, s, b)]
    if not todo and not preview:
        return 0
    gen = Generator(bodies, texture_size)
    # Body by body: each body is posed once and reused for its styles.
    todo.sort(key=lambda p: (p[1], p[0]))
    bar = None
    if not jsonl:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="people", unit="mesh", file=sys.stderr)
    for s, b in todo:
        meta = gen.write(out, s, b)
        if jsonl:
            print(json.dumps({"pair": [s, b], "stem": pair_stem(s, b), "seconds": meta["seconds"]}),
                  flush=True)
        else:
            bar.update(1)
    if bar is not None:
        bar.close()
    if preview:
        from .human_gen import preview as sheet

        meshes = [gen.mesh(s, preview_body) for s in range(len(STYLES))]
        labels = [f"{s}: {st.name}" for s, st in enumerate(STYLES)]
        sheet.sheet(meshes, labels, Path(preview))
    return 0
