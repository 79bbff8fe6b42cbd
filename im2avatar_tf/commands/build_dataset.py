"""Build a dataset in the released Im2Avatar layout from textured meshes.

Per model: a colored surface-shell volume, 12 rendered views (128 px turntable, 30 degree steps)
and one flow volume per view, plus meta.json (cameras, source, licence). Re-running resumes:
complete models are skipped. Broken meshes are skipped and listed in build_report.json.

Examples:
  python run.py build-dataset --source procedural --count 50 --out data/proc64
  python run.py build-dataset --source folder --input ~/meshes --out data/mine --resolution 32
  python run.py build-dataset --source sweethome3d --out data/sh3d
      (needs the Debian package: apt-get install sweethome3d-furniture)
  python run.py build-dataset --source human --out data/human --bodies 8 --styles 4
"""
from __future__ import annotations

import os

from ._common import (add_preset_argument, float_range, int_range, nonnegative_int,
                      positive_int)

HELP = "build a dataset (colored voxels, views, flow) from procedural, folder or SweetHome3D meshes"
SOURCES = ("procedural", "folder", "sweethome3d", "human")


def add_arguments(parser) -> None:
    parser.add_argument("--source", choices=SOURCES, default="procedural",
                        help="where meshes come from (default: procedural)")
    parser.add_argument("--out", default=None,
                        help="dataset root to write (default: data/<source>-r<resolution>)")
    parser.add_argument("--input", default=None, help="folder source: folder of meshes, one "
                        "subfolder per category (name or ShapeNet id)")
    parser.add_argument("--mapping", default=None, help="folder source: CSV (path,category) or "
                        "JSON {path: category} instead of category subfolders")
    parser.add_argument("--categories", nargs="+", default=None,
                        help="categories to build (default: the preset's, or car chair table "
                             "guitar; sweethome3d also offers human)")
    parser.add_argument("--count", type=positive_int, default=None,
                        help="models per category (procedural: how many to generate; "
                             "sweethome3d: at most this many)")
    add_preset_argument(parser, default=None)
    parser.add_argument("--resolution", type=int_range(2, 512), default=None,
                        help="volume resolution R (default: the preset's, else 64)")
    parser.add_argument("--image-size", type=int_range(8, 4096), default=128,
                        help="view size in pixels (128)")
    parser.add_argument("--views", type=int_range(1, 360), default=12,
                        help="views per model (12)")
    parser.add_argument("--shading", choices=("lambert", "flat"), default="lambert",
                        help="lambert + ambient (default) or flat albedo")
    parser.add_argument("--background", default=None,
                        help="background R,G,B, 'white' or 'gray' (default: the release's, "
                             "245,245,245, and white for --source human)")
    parser.add_argument("--elevation", type=float_range(-90, 90, lo_open=True, hi_open=True),
                        default=None, help="camera elevation, degrees")
    parser.add_argument("--distance", type=float_range(0, lo_open=True), default=None,
                        help="camera distance")
    parser.add_argument("--fov", type=float_range(0, 180, lo_open=True, hi_open=True),
                        default=None, help="vertical field of view, degrees")
    parser.add_argument("--up", choices=("y", "z", "x"), default="y",
                        help="folder source: the meshes' up axis (default y)")
    parser.add_argument("--workers", type=positive_int, default=os.cpu_count() or 1,
                        help="worker processes (default: all cores)")
    parser.add_argument("--seed", type=nonnegative_int, default=0,
                        help="procedural seed and split shuffle seed (default 0)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    human = parser.add_argument_group("human source only (im2avatar_tf.data.human)")
    human.add_argument("--bodies", type=positive_int, default=None, help="human only: body meshes")
    human.add_argument("--styles", type=positive_int, default=None, help="human only: clothing styles")
    human.add_argument("--pairs", type=positive_int, default=None, help="human only: (clothes, body) pairs")


def run(args) -> int:
    if args.source != "human":
        given = [f"--{n}" for n in ("bodies", "styles", "pairs") if getattr(args, n) is not None]
        if given:
            raise ValueError(f"{', '.join(given)} only apply to --source human")
    if args.source == "human":
        return _run_human(args)

    from ..config import CATEGORIES, get_preset
    from ..data.builder import BuildOptions, build_dataset

    preset = get_preset(args.preset) if args.preset else None
    resolution = args.resolution or (preset.model.volume_size if preset else 64)
    categories = tuple(args.categories or (preset.data.categories if preset else CATEGORIES))
    options = BuildOptions.from_args(args, resolution)
    out = args.out or os.path.join("data", f"{args.source}-r{resolution}")

    if args.source == "procedural":
        from ..data.sources import procedural_jobs

        jobs = [job for c in categories for job in procedural_jobs(
            [c], args.count or (preset.data.count(c) if preset else 10), args.seed)]
    elif args.source == "folder":
        from ..data.sources import folder_jobs

        if not args.input:
            raise ValueError("--source folder needs --input DIR (a folder of meshes)")
        jobs = folder_jobs(args.input, args.mapping, up=args.up)
        if args.categories:
            jobs = [j for j in jobs if j.category in categories]
    else:
        from ..data.sweethome3d import sweethome3d_jobs

        jobs = sweethome3d_jobs(categories, limit=args.count)
    if not jobs:
        raise ValueError(f"nothing to build for categories {list(categories)} from {args.source}")
    print(f"{len(jobs)} models -> {out} ({resolution}^3, {args.views} views of "
          f"{args.image_size} px, {args.workers} workers)")
    report = build_dataset(jobs, out, options, workers=args.workers, seed=args.seed,
                           progress=not args.no_progress)
    print(report.summary())
    if report.skipped:
        print(f"skipped models and reasons: {os.path.join(out, 'build_report.json')}")
    return 0 if report.built or report.reused else 1


def _run_human(args) -> int:
    try:
        from ..data import human
    except ModuleNotFoundError as e:
        if e.name and e.name.startswith("im2avatar_tf.data.human"):
            raise ValueError("--source human needs im2avatar_tf.data.human (the human-dataset "
                             "builder), which is not in this checkout; update the code "
                             "(git pull) or build another source") from None
        raise
    return int(human.build(args) or 0)
