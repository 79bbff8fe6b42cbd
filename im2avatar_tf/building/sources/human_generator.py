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

GENERATOR_VERSION = 1  # the classic variety's meshes
WIDE_VERSION = 2  # the poses / clothes / wide varieties' meshes


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

    def __init__(self, bodies, texture_size: int = 512, variety: str = "classic",
                 outfits=None, seed: int = 0):
        from .human_gen import atlas, mesh_out, rig
        from .human_gen.variety import variety as get_variety

        self.bodies = bodies
        self.variety = get_variety(variety)
        self.outfits = outfits
        self.seed = seed
        self.rig = rig.Rig()
        self.atlas = atlas.build_atlas(self.rig, texture_size)
        self.split = mesh_out.SeamSplit(self.rig.faces, self.rig.face_uv, self.rig.internal_faces)
        self._posed: Dict[int, tuple] = {}
        self._pair: Dict[tuple, tuple] = {}
        if self.variety.outfits:
            from .human_gen import garments

            self.fields = atlas.vertex_fields(self.rig, self.atlas)
            self.weights = self.rig.skinning_weights()
            self.body_faces = mesh_out.kept_faces(self.rig.faces, self.rig.internal_faces)
            self.neighbors = garments.vertex_neighbors(self.body_faces, self.rig.num_vertices)

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

    def pair_pose(self, style_id: int, body_id: int):
        """(pose, posed, attempts, unposed) of a pair in the wide varieties: drawn per pair."""
        from .human_gen import poses
        from .human_gen.variety import pair_seed

        key = (style_id, body_id)
        if key not in self._pair:
            self._pair.clear()  # one pair at a time: keeps memory flat
            pheno = self.rig.phenotype(self.bodies[body_id])
            seed = pair_seed(self.seed, style_id, body_id)
            unposed = self.rig.forward(pheno)
            if self.variety.poses == "photo":
                pose, posed, attempts = poses.photo_pose(self.rig, pheno, seed)
            elif seed % 5 == 0:  # the classic distribution: one in five in the rest pose
                pose, posed, attempts = dict(poses.REST), unposed, 0
            else:
                pose, posed, attempts = poses.natural_pose(self.rig, pheno, seed)
            self._pair[key] = (pose, posed, attempts, unposed)
        return self._pair[key]

    def mesh(self, style_id: int, body_id: int):
        from .human_gen import mesh_out, paint, styles

        body = self.bodies[body_id]
        if not self.variety.outfits:
            texture = paint.paint(self.atlas, styles.style(style_id), body.skin_tone)
            _, vertices, _ = self.posed(body_id)
            return mesh_out.textured_mesh(vertices, self.split, self.rig.uv, texture)
        outfit = self.outfits[style_id]
        pose, posed, _, unposed = self.pair_pose(style_id, body_id)
        if self.variety.clothes == "painted":
            texture = paint.paint(self.atlas, outfit.to_style(), body.skin_tone)
            return self._with_props(mesh_out.textured_mesh(posed.vertices, self.split, self.rig.uv,
                                                           texture), pose, posed, style_id, body_id)
        return self._dressed(outfit, body, pose, posed, unposed, style_id, body_id)

    def _dressed(self, outfit, body, pose, posed, unposed, style_id, body_id):
        """The body with its garment shells, skirts, hair extras and props (a Scene)."""
        import numpy as np

        from .human_gen import garments, mesh_out, paint
        from .human_gen.rig import GROUPS
        from .human_gen.variety import pair_seed

        seed = pair_seed(self.seed, style_id, body_id)
        texture = paint.paint_outfit(self.atlas, outfit, body.skin_tone, meshed=True, seed=seed)
        thickness = garments.shell_thickness(outfit, self.fields, self.neighbors)
        hidden = garments.hidden_vertices(outfit, self.fields)
        verts, faces, uv_of = garments.dress_body(posed.vertices, self.body_faces, self.split,
                                                  thickness, hidden)
        parts = [mesh_out.textured_parts(verts, faces, self.rig.uv[self.split.uv[uv_of]], texture)]
        extra = []
        b = self.rig.bone
        # (rest_heads are in anny's rest frame, offset from the vertices: use the bone frames)
        heads = {"waist": unposed.posed_heads[b("spine04")], "hip": unposed.posed_heads[b("upperleg01.L")],
                 "ankle": unposed.posed_heads[b("foot.L")]}
        skin = garments.Skin(unposed.vertices, self.weights, unposed.bone_poses, posed.bone_poses,
                             region=~np.isin(self.fields.group, [GROUPS.index("arm.L"),
                                                                 GROUPS.index("arm.R")]))
        if outfit.bottom in ("skirt", "dress"):
            flare = {"mini": 0.22, "knee": 0.25, "midi": 0.22, "maxi": 0.15}[outfit.length]
            ease = 0.012
            if pose.get("family") in ("sit", "sit_floor"):  # a flared skirt skinned to
                # raised thighs balloons
                flare, ease = 0.04, 0.006
            extra.append(garments.skirt(unposed.vertices, self.fields, heads, skin,
                                        paint.HEM_LEG_S[outfit.length], outfit.bottom_fabric,
                                        ease=ease, flare=flare, seed=seed))
        if outfit.outer == "coat":
            sit = pose.get("family") in ("sit", "sit_floor")
            extra.append(garments.skirt(unposed.vertices, self.fields, heads, skin,
                                        garments.COAT_HEM_S, outfit.outer_fabric,
                                        ease=0.02 if sit else 0.035, flare=0.03 if sit else 0.12,
                                        seed=seed))
        extra += garments.hair_extra(outfit, unposed.vertices, self.fields, skin, b("head"))
        return self._with_props(parts, pose, posed, style_id, body_id, extra)

    def _with_props(self, parts, pose, posed, style_id, body_id, extra=()):
        """`parts` (glTF axes) and `extra` (anny axes) with the pose's seat and held things,
        as one Scene."""
        from .human_gen import garments, mesh_out
        from .human_gen.variety import pair_seed

        parts = list(parts) if isinstance(parts, (list, tuple)) else [parts]
        extra = list(extra)
        if not pose.get("family"):
            return mesh_out.scene(parts, extra)
        seed = pair_seed(self.seed, style_id, body_id)
        fields = getattr(self, "fields", None)
        if fields is None:
            from .human_gen import atlas

            fields = self.fields = atlas.vertex_fields(self.rig, self.atlas)
        extra += garments.seat(pose.get("seat", "none"), posed.vertices, fields, seed)
        extra += garments.held(pose.get("held"), pose.get("held_side"), posed.vertices, fields, seed)
        return mesh_out.scene(parts, extra)

    def sidecar(self, style_id: int, body_id: int, seconds: float) -> dict:
        from .human_gen import paint, styles

        body = self.bodies[body_id]
        if self.variety.outfits:
            pose, posed, attempts, _ = self.pair_pose(style_id, body_id)
            vertices = posed.vertices
            outfit = self.outfits[style_id]
            clothing = {"outfit_id": style_id, "outfit": outfit.to_dict(),
                        "painted_style": outfit.to_style().to_dict()
                        if self.variety.clothes == "painted" else None}
        else:
            pose, vertices, attempts = self.posed(body_id)
            clothing = {"style": styles.style(style_id).to_dict()}
        rebuild = None
        if self.variety.outfits:  # designs are prefix-stable: these ids suffice
            rebuild = (f"python -m im2avatar_tf.commands.human_generator --variety "
                       f"{self.variety.name} --seed {self.seed} --bodies {body_id + 1} "
                       f"--outfits {style_id + 1} --pairs {style_id}:{body_id} "
                       f"--texture-size {self.atlas.size} --out DIR")
        return {
            "rebuild": rebuild,
            "generator": "im2avatar_tf.building.sources.human_generator",
            "generator_version": GENERATOR_VERSION if not self.variety.outfits else WIDE_VERSION,
            "anny_version": self.rig.anny_version, "style_id": style_id,
            "variety": self.variety.to_dict(), "seed": self.seed,
            **clothing, "body_id": body_id, "body": body.to_dict(),
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
        if meta["variety"]["name"] == "classic":  # the earlier generator's sidecar, as it was
            for key in ("variety", "seed", "rebuild"):
                meta.pop(key)
        mesh_out.write_sidecar(out / f"{stem}.json", meta)
        return meta


def is_done(out: Path, style_id: int, body_id: int) -> bool:
    stem = pair_stem(style_id, body_id)
    return (out / f"{stem}.json").exists() and (out / f"{stem}.glb").exists()


def generate(out: os.PathLike, bodies: int = 40, seed: int = 0, pairs: Optional[str] = None,
             pairs_file: Optional[str] = None, texture_size: int = 512,
             preview: Optional[str] = None, preview_body: int = 0, jsonl: bool = False,
             variety: str = "classic", outfits: int = 48) -> int:
    """Write the meshes of `pairs` ("STYLE:BODY,..." 0-based ids) and/or `pairs_file` (a JSON
    list of [style, body]) of a body design of `bodies` (seeded by `seed`) into `out`; with
    `preview`, a sheet of every style on body `preview_body`. Returns an exit status."""
    from ... import caches

    os.environ.setdefault("ANNY_CACHE_DIR", str(caches.root() / "anny"))
    os.environ.setdefault("WARP_CACHE_PATH", str(Path(os.environ["ANNY_CACHE_DIR"]).parent / "warp"))
    from .human_gen import variety as varieties
    from .human_gen.outfits import design_outfits
    from .human_gen.styles import STYLES

    kind = varieties.variety(variety)
    bodies = varieties.design(variety, bodies, seed)
    clothes = design_outfits(outfits, seed) if kind.outfits else None
    n_styles = len(clothes) if kind.outfits else len(STYLES)
    pairs = _parse_pairs(pairs, pairs_file)
    for s, b in pairs:
        if not (0 <= s < n_styles and 0 <= b < len(bodies)):
            print(f"error: pair {s}:{b} out of range ({n_styles} styles, {len(bodies)} bodies)",
                  file=sys.stderr)
            return 2
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    todo = [(s, b) for s, b in pairs if not is_done(out, s, b)]
    if not todo and not preview:
        return 0
    gen = Generator(bodies, texture_size, variety, clothes, seed)
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

        if kind.outfits:  # people of the first pairs asked, else outfit k on body k
            shown = pairs[:24] or [(k % n_styles, k % len(bodies)) for k in range(16)]
            meshes = [gen.mesh(s, b) for s, b in shown]
            labels = [f"{clothes[s].name} / {_pose_label(gen, s, b)}" for s, b in shown]
        else:
            meshes = [gen.mesh(s, preview_body) for s in range(len(STYLES))]
            labels = [f"{s}: {st.name}" for s, st in enumerate(STYLES)]
        sheet.sheet(meshes, labels, Path(preview))
    return 0


def _pose_label(gen: Generator, style_id: int, body_id: int) -> str:
    pose = gen.pair_pose(style_id, body_id)[0]
    body = gen.bodies[body_id]
    label = pose.get("family", "rest" if not pose else "natural")
    extra = pose.get("seat") if pose.get("seat") not in (None, "none") else pose.get("held")
    return f"{label}{'+' + extra if extra else ''}, {body.age_years:.0f} y"

