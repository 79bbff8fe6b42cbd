"""Build the "Colorful Human" set in the released human layout (TF-free glue).

`python run.py build-dataset --source human --bodies 40 --styles 16 --pairs 367 --out DIR`
lands here (`build_human`). Three steps, each resumable:

1. Plan: which (style, body) pairs, and their split (`human_gen.plan`: ~90/10, the test split
   holding bodies and styles never seen in training); written to `DIR/human_plan.json`.
2. Generate: the torch/anny program `python -m im2avatar_tf.commands.human_generator`
   runs in a subprocess and writes one textured GLB + JSON sidecar per pair into a mesh cache
   (default `<cache>/human/meshes-seed{seed}`, `caches.root()`); finished pairs are skipped.
3. Build: each mesh goes through the dataset builder's `build_model` (same voxelizer,
   renderer, cameras and flow as every other source), white background, into
   `DIR/{clothesK}/{meshN_new}/`; complete models are skipped. Then the split lists
   `train_list_human.txt` / `test_list_human.txt` ("clothesK meshN_new" lines).

`--human-variety` (`human_gen.variety`) picks what the people widen: `wide` (the default:
photo poses and clothing with volume), `poses`, `clothes`, or `classic` (the earlier set: 16
painted styles, its own plan and mesh cache). The non-classic ones plan a split held out by
body and by outfit (`plan.make_heldout_plan`) and count outfits with `--styles`.

This module never imports torch or anny: the generator is a separate process, so the
TensorFlow side's import graph stays free of them. Without the optional extra installed,
`build_human` says exactly what to install. `SOURCE` is the `human` source of build-dataset
(`building.sources`).
"""
from __future__ import annotations

import functools
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from ... import caches
from ...data.layout import HUMAN, human_model, write_split
from ...io import atomic_write_text
from .base import Request, Source
from .human_gen import plan as plan_mod
from .human_gen import variety as varieties
from .human_gen.styles import STYLES

REPO = Path(__file__).resolve().parents[3]  # the folder holding the package (PYTHONPATH)
EXTRA_MODULES = ("torch", "anny", "warp")
INSTALL_HINT = ("pip install torch==2.13.0 && pip install -r requirements-human.txt "
                "(torch first and pinned, so pip keeps the CPU wheel)")
DEFAULTS = {"bodies": 40, "styles": 16, "pairs": 367}  # the classic variety's


WIDE_VERSION = 2  # = human_generator.WIDE_VERSION (not imported: keeps this module light)


def mesh_cache(seed: int, variety: str = "classic") -> Path:
    """The generator's mesh cache of a variety and seed (classic: the earlier path). The wide
    varieties' carry the generator version: finished meshes are reused by name, so a changed
    generator must not find the old ones."""
    name = (f"meshes-seed{seed}" if variety == "classic"
            else f"meshes-{variety}-v{WIDE_VERSION}-seed{seed}")
    return caches.root() / "human" / name


def make_plan(variety: str, bodies: int, styles: int, pairs: int, seed: int) -> plan_mod.Plan:
    """The pairs and split of a variety: classic's held-out bodies or styles, the others'
    held out by body and by outfit."""
    if varieties.variety(variety).split == "body-and-outfit":
        return plan_mod.make_heldout_plan(bodies, styles, pairs, seed)
    return plan_mod.make_plan(bodies, styles, pairs, seed)


def missing_extra() -> List[str]:
    """The optional extra's modules that are not installed (found without importing them)."""
    return [m for m in EXTRA_MODULES if importlib.util.find_spec(m) is None]


def require_extra() -> None:
    missing = missing_extra()
    if missing:
        raise ValueError(f"--source human needs the optional human extra ({', '.join(missing)} "
                         f"not installed): {INSTALL_HINT}")


def cache_env(cache_root: Optional[Path] = None) -> Dict[str, str]:
    """Environment for the generator: anny's and warp's caches inside the project's cache
    folder (`caches.root()`); nothing is downloaded."""
    cache_root = Path(cache_root or caches.root())
    env = dict(os.environ)
    env.setdefault("ANNY_CACHE_DIR", str(cache_root / "anny"))
    env.setdefault("WARP_CACHE_PATH", str(cache_root / "warp"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def generate(pairs: Sequence[Tuple[int, int]], mesh_dir: Path, bodies: int, seed: int,
             progress: bool = True, texture_size: int = 512, variety: str = "classic",
             outfits: int = 48) -> None:
    """Run the generator subprocess for `pairs` (skips finished ones), showing progress."""
    from tqdm import tqdm

    mesh_dir.mkdir(parents=True, exist_ok=True)
    todo = [p for p in pairs if not _mesh_done(mesh_dir, *p)]
    if not todo:
        return
    pairs_file = mesh_dir / ".pairs.json"
    atomic_write_text(pairs_file, json.dumps([list(p) for p in todo]))
    cmd = [sys.executable, "-m", "im2avatar_tf.commands.human_generator",
           "--out", str(mesh_dir),
           "--bodies", str(bodies), "--seed", str(seed), "--pairs-file", str(pairs_file),
           "--texture-size", str(texture_size), "--jsonl"]
    if variety != "classic":
        cmd += ["--variety", variety, "--outfits", str(outfits)]
    bar = tqdm(total=len(todo), desc="generating people", unit="mesh", disable=not progress)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cache_env(), cwd=str(REPO))
    try:
        for line in proc.stdout:
            if line.startswith("{"):
                bar.update(1)
        err = proc.stderr.read()
        code = proc.wait()
    finally:
        bar.close()
        if proc.poll() is None:
            proc.kill()
    if code != 0:
        tail = "\n".join(err.strip().splitlines()[-15:])
        raise RuntimeError(f"the human generator failed (exit {code}):\n{tail}")
    pairs_file.unlink(missing_ok=True)


def _mesh_done(mesh_dir: Path, style_id: int, body_id: int) -> bool:
    stem = f"{plan_mod.clothes_name(style_id)}_{plan_mod.mesh_name(body_id)}"
    return (mesh_dir / f"{stem}.json").exists() and (mesh_dir / f"{stem}.glb").exists()


def build_human(out: Path, bodies: int = 40, styles: int = 16, pairs: int = 367, seed: int = 0,
                options=None, workers: int = 1, progress: bool = True,
                mesh_dir: Optional[Path] = None, plan: Optional[plan_mod.Plan] = None,
                variety: str = "classic") -> dict:
    """Plan, generate and build the human set into `out`; returns a summary dict.
    `plan` overrides the planned pairs and split (tests pin exact pairs this way). The meshes
    are built by the dataset builder's `build_dataset` (one `Job` per pair, its clothes folder
    as the group); the split lists follow the plan. `variety` (human_gen.variety): classic,
    poses, clothes or wide; with a non-classic one, `styles` counts outfits."""
    from ...images import WHITE_RGB
    from ..builder import BuildOptions, build_dataset, is_complete

    require_extra()
    kind = varieties.variety(variety)
    if not kind.outfits and not 1 <= styles <= len(STYLES):
        raise ValueError(f"--styles must be 1..{len(STYLES)} (the named styles), got {styles}")
    options = options or BuildOptions(background=WHITE_RGB)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plan = plan or make_plan(variety, bodies, styles, pairs, seed)
    bodies = max(bodies, plan.bodies)
    styles = max(styles, plan.styles)
    plan_doc = plan.to_dict()
    if variety != "classic":
        plan_doc["variety"] = kind.to_dict()
    atomic_write_text(out / "human_plan.json", json.dumps(plan_doc, indent=1))
    mesh_dir = Path(mesh_dir or mesh_cache(seed, variety))

    t0 = time.perf_counter()
    todo = [p for p in plan.pairs if not is_complete(
        human_model(out, plan_mod.clothes_name(p[0]), plan_mod.mesh_name(p[1]),
                    options.resolution), options)]
    generate(todo, mesh_dir, bodies, seed, progress, variety=variety, outfits=styles)
    t_generate = time.perf_counter() - t0

    t1 = time.perf_counter()
    report = build_dataset(_jobs(plan, mesh_dir, options.up, variety), out, options, workers=workers,
                           progress=progress, splits=False)
    t_build = time.perf_counter() - t1
    failed = {s["entry"]: s["reason"] for s in report.skipped}

    ok = lambda ps: [plan_mod.entry(p) for p in ps if plan_mod.entry(p) not in failed]  # noqa
    write_split(out, "train", HUMAN.CATEGORY, ok(plan.train))
    write_split(out, "test", HUMAN.CATEGORY, ok(plan.test))
    summary = {
        "pairs": len(plan.pairs), "train": len(ok(plan.train)), "test": len(ok(plan.test)),
        "built": len(report.built), "reused": len(report.reused),
        "failed": failed, "held_out_bodies": [plan_mod.mesh_name(b) for b in plan.held_out_bodies],
        "held_out_styles": [plan_mod.clothes_name(s) for s in plan.held_out_styles],
        "seconds_generate": round(t_generate, 2), "seconds_build": round(t_build, 2),
        "seconds_per_human": round((t_generate + t_build) / max(1, len(todo)), 3),
        "mesh_cache": str(mesh_dir), "resolution": options.resolution, "variety": variety,
    }
    atomic_write_text(out / "human_report.json", json.dumps(summary, indent=1))
    return summary


class Human(Source):
    """The regenerated Colorful Human set (needs the human extra), on a white background."""

    name = "human"
    default_out = "human-r{resolution}"
    background = HUMAN.background  # the reference's white (section 4.2)

    def build(self, request: Request) -> bool:
        require_extra()
        variety = getattr(request, "human_variety", None) or varieties.DEFAULT
        kind = varieties.variety(variety)
        bodies = request.bodies or kind.bodies_default
        styles = request.styles or kind.styles_default
        pairs = request.pairs or min(kind.pairs_default, bodies * styles)
        if not request.pairs and kind.split == "body-and-outfit":
            pairs = plan_mod.most_heldout_pairs(bodies, styles, pairs)
        options = request.options
        out = Path(request.out)
        request.say(f"human set ({variety}): {pairs} pairs of {styles} "
                    f"{'outfits' if kind.outfits else 'styles'} x {bodies} bodies -> {out} "
                    f"({options.resolution}^3, {options.views} views of {options.image_size} px, "
                    f"background {','.join(map(str, options.background))})")
        summary = build_human(out, bodies, styles, pairs, request.seed, options,
                              workers=request.workers, progress=request.progress,
                              variety=variety)
        request.say(f"built {summary['built']}, reused {summary['reused']}, failed "
                    f"{len(summary['failed'])}; train {summary['train']}, test {summary['test']} "
                    f"(held out: bodies {summary['held_out_bodies']}, styles "
                    f"{summary['held_out_styles']}); {summary['seconds_per_human']} s per human")
        return not summary["failed"]


SOURCE = Human()


def _jobs(plan: plan_mod.Plan, mesh_dir: Path, up: str, variety: str = "classic") -> list:
    """One builder `Job` per planned pair: category "human", the clothes folder as its group,
    the generated GLB as its mesh and the plan's split and held-out flags as its source."""
    from ..builder import Job
    from ..meshes import load_mesh

    test = {tuple(p) for p in plan.test}
    jobs = []
    for p in plan.pairs:
        clothes, mesh = plan_mod.clothes_name(p[0]), plan_mod.mesh_name(p[1])
        stem = mesh_dir / f"{clothes}_{mesh}"
        sidecar = json.loads(stem.with_suffix(".json").read_text()) if _mesh_done(
            mesh_dir, *p) else {}
        source = {"source": "human", "split": "test" if tuple(p) in test else "train",
                  "held_out_body": p[1] in plan.held_out_bodies,
                  "held_out_style": p[0] in plan.held_out_styles,
                  "held_out_bodies": plan.held_out_bodies,
                  "held_out_styles": plan.held_out_styles, "generator": sidecar}
        if variety != "classic":  # styles are outfits here: no outfit or body of a test
            source["variety"] = variety  # person is in training (plan.make_heldout_plan)
        jobs.append(Job(HUMAN.CATEGORY, mesh,
                        functools.partial(load_mesh, stem.with_suffix(".glb")), source, up=up,
                        group=clothes))
    return jobs
