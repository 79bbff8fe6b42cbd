"""Generate clothed people as textured meshes: `python -m im2avatar_tf.building.sources.human_generator`.

The torch/anny program of the human set, run as a subprocess by `im2avatar_tf.building.sources.human`
(never imported by the TensorFlow side; it does not import TensorFlow). For every requested
(style, body) pair it writes, atomically:

    {out}/{clothesK}_{meshN_new}.glb    the posed body, textured with the style (glTF axes:
                                        +y up, facing +z, meters)
    {out}/{clothesK}_{meshN_new}.json   sidecar: style, body phenotype, pose angles, axes,
                                        anny version; written last, so it marks a finished pair

Pairs already finished are skipped (resumable). With `--jsonl`, one JSON line per finished pair
goes to stdout (the glue turns them into its progress bar); otherwise a tqdm bar shows.
`--preview PNG` renders all styles on one body, front and back, into a sheet.

Examples::

    python -m im2avatar_tf.building.sources.human_generator --out cache/human/meshes --bodies 40 --pairs 0:0,3:7
    python -m im2avatar_tf.building.sources.human_generator --out /tmp/m --bodies 40 --preview sheet.png
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

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


def build_parser() -> argparse.ArgumentParser:
    from im2avatar_tf.commands.options import int_range, nonnegative_int, positive_int

    p = argparse.ArgumentParser(prog="python -m im2avatar_tf.building.sources.human_generator",
                                description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder for the .glb meshes and .json sidecars")
    p.add_argument("--bodies", type=positive_int, default=40, help="size of the body design (default 40)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the body design (default 0)")
    p.add_argument("--pairs", default=None,
                   help="comma-separated STYLE:BODY pairs (0-based ids), e.g. 0:0,3:7")
    p.add_argument("--pairs-file", default=None, help="JSON list of [style, body] pairs")
    p.add_argument("--texture-size", type=int_range(16, 8192), default=512, help="texture side in pixels (512)")
    p.add_argument("--preview", default=None,
                   help="write a sheet of every style on --preview-body, front and back, to this PNG")
    p.add_argument("--preview-body", type=nonnegative_int, default=0, help="body id of the preview sheet (0)")
    p.add_argument("--jsonl", action="store_true",
                   help="one JSON line per finished pair on stdout instead of a progress bar")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("ANNY_CACHE_DIR", str(DEFAULT_CACHE))
    os.environ.setdefault("WARP_CACHE_PATH", str(Path(os.environ["ANNY_CACHE_DIR"]).parent / "warp"))
    from .human_gen.bodies import design_bodies
    from .human_gen.styles import STYLES

    bodies = design_bodies(args.bodies, args.seed)
    pairs = _parse_pairs(args.pairs, args.pairs_file)
    for s, b in pairs:
        if not (0 <= s < len(STYLES) and 0 <= b < len(bodies)):
            print(f"error: pair {s}:{b} out of range ({len(STYLES)} styles, {len(bodies)} bodies)",
                  file=sys.stderr)
            return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    todo = [(s, b) for s, b in pairs if not is_done(out, s, b)]
    if not todo and not args.preview:
        return 0
    gen = Generator(bodies, args.texture_size)
    # Body by body: each body is posed once and reused for its styles.
    todo.sort(key=lambda p: (p[1], p[0]))
    bar = None
    if not args.jsonl:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="people", unit="mesh", file=sys.stderr)
    for s, b in todo:
        meta = gen.write(out, s, b)
        if args.jsonl:
            print(json.dumps({"pair": [s, b], "stem": pair_stem(s, b), "seconds": meta["seconds"]}),
                  flush=True)
        else:
            bar.update(1)
    if bar is not None:
        bar.close()
    if args.preview:
        from .human_gen import preview

        body = args.preview_body
        meshes = [gen.mesh(s, body) for s in range(len(STYLES))]
        labels = [f"{s}: {st.name}" for s, st in enumerate(STYLES)]
        preview.sheet(meshes, labels, Path(args.preview))
    return 0


if __name__ == "__main__":
    sys.exit(main())
