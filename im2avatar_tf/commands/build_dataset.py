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
  python run.py build-dataset --source human-real --out data/human-real
      (the Sweet Home 3D people, test only; needs sweethome3d-furniture)
  python run.py build-dataset --source torcs --out data/torcs --resolution 32
      (the 17 cars of the TORCS game, test only; needs apt-get install torcs-data)
"""
from __future__ import annotations

import os

from .options import (add_preset_argument, float_range, int_range, nonnegative_int,
                      positive_int)

HELP = ("build a dataset (colored voxels, views, flow) from procedural, folder, SweetHome3D, "
        "human or TORCS meshes")


def add_arguments(parser) -> None:
    from ..building.sources import names

    parser.add_argument("--source", choices=names(), default="procedural",
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
                             "sweethome3d, human-real, torcs: at most this many)")
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
                             "245,245,245, and white for --source human and human-real)")
    parser.add_argument("--elevation", type=float_range(-90, 90, lo_open=True, hi_open=True),
                        default=None, help="camera elevation, degrees")
    parser.add_argument("--distance", type=float_range(0, lo_open=True), default=None,
                        help="camera distance")
    parser.add_argument("--fov", type=float_range(0, 180, lo_open=True, hi_open=True),
                        default=None, help="vertical field of view, degrees")
    parser.add_argument("--up", choices=("y", "z", "x"), default="y",
                        help="folder source: the meshes' up axis (default y)")
    parser.add_argument("--front", choices=("+z", "-z", "+x", "-x", "+y", "-y"), default=None,
                        help="folder source: the axis the meshes' front faces (a car's nose), "
                             "perpendicular to --up. The build turns meshes into the procedural "
                             "training data's frame, y up and front +z (a generated car's "
                             "headlights and grille are at +z), so e.g. game or CAD models "
                             "facing +x need --front +x. Negative axes need '=': --front=-x. "
                             "Default: +z, or -y with --up z (Blender's convention)")
    parser.add_argument("--workers", type=positive_int, default=os.cpu_count() or 1,
                        help="worker processes (default: all cores)")
    parser.add_argument("--seed", type=nonnegative_int, default=0,
                        help="procedural seed and split shuffle seed (default 0)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--torcs-split", choices=("test", "by-model"), default=None,
                        help="torcs only: every car in the test split (default), or held out "
                             "by car body: cars sharing body geometry in one split, "
                             "train / val / test 0.5 / 0.1 / 0.4 of the bodies by --seed")
    human = parser.add_argument_group("human source only (im2avatar_tf.building.sources.human)")
    human.add_argument("--bodies", type=positive_int, default=None, help="human only: body meshes")
    human.add_argument("--styles", type=positive_int, default=None,
                       help="human only: clothing styles")
    human.add_argument("--pairs", type=positive_int, default=None,
                       help="human only: (clothes, body) pairs")
    human.add_argument("--human-variety", default=None,
                       choices=("classic", "poses", "clothes", "wide"),
                       help="human only: what the generated people widen (docs/human.md): "
                            "wide (default: photo poses and clothing with volume), poses, "
                            "clothes, or classic (the earlier 16 painted styles)")


def build_options(args, resolution: int, background=None):
    """The builder's typed options from this command's flags (absent ones keep the defaults);
    `background`: the source's own default, used when --background is not given."""
    from ..building.builder import BuildOptions, parse_background

    given = {"image_size": args.image_size, "views": args.views, "shading": args.shading,
             "elevation_deg": args.elevation, "distance": args.distance, "fov_deg": args.fov,
             "up": args.up, "front": args.front}
    if args.background is not None:
        given["background"] = parse_background(args.background)
    elif background is not None:
        given["background"] = tuple(background)
    return BuildOptions(resolution=resolution, **{k: v for k, v in given.items() if v is not None})


def run(args) -> int:
    from ..building import sources
    from ..building.meshes import orientation
    from ..building.sources.base import Request

    orientation(args.up, args.front)  # --front parallel to --up: one error line, before any work
    if args.source != "human":
        given = [f"--{n.replace('_', '-')}" for n in ("bodies", "styles", "pairs", "human_variety")
                 if getattr(args, n, None) is not None]
        if given:
            raise ValueError(f"{', '.join(given)} only apply to --source human")
    if args.source != "torcs" and args.torcs_split is not None:
        raise ValueError("--torcs-split only applies to --source torcs")
    if args.source != "folder" and args.front is not None:
        raise ValueError("--front only applies to --source folder (the other sources' meshes "
                         "are already in the procedural frame)")
    from ..config import get_preset

    preset = get_preset(args.preset) if args.preset else None
    resolution = args.resolution or (preset.model.volume_size if preset else 64)
    source = sources.get(args.source)
    request = Request(
        out=args.out or os.path.join("data", source.out_dir(resolution)),
        options=build_options(args, resolution, background=source.background), preset=preset,
        categories=tuple(args.categories) if args.categories else None, count=args.count,
        seed=args.seed, workers=args.workers, progress=not args.no_progress, input=args.input,
        mapping=args.mapping, bodies=args.bodies, styles=args.styles, pairs=args.pairs,
        human_variety=getattr(args, "human_variety", None), torcs_split=args.torcs_split)
    return 0 if source.build(request) else 1
