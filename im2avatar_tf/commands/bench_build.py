"""Seconds per model of the dataset builder, split into load / voxelize / render / flow / write,
for procedural meshes and real ones (the Sweet Home 3D catalogue, when installed). One process
on one core: the figure to compare with the target of 2 s per model per core at 64^3 / 128 px.

Example: python run.py bench-build --count 3 --real 6
"""
from __future__ import annotations

from .options import int_range, nonnegative_int, positive_int

HELP = "time the dataset builder per model (voxelize / render / flow split), procedural and real"
STAGES = ("load", "voxelize", "render", "flow", "write")


def add_arguments(parser) -> None:
    parser.add_argument("--resolution", type=int_range(2, 512), default=64, help="volume resolution (64)")
    parser.add_argument("--image-size", type=int_range(8, 4096), default=128, help="view size (128)")
    parser.add_argument("--count", type=positive_int, default=2,
                        help="procedural models per category (2)")
    parser.add_argument("--real", type=nonnegative_int, default=6,
                        help="Sweet Home 3D models, spread over categories (6; 0 to skip)")
    parser.add_argument("--seed", type=nonnegative_int, default=1, help="procedural seed (1)")


def run(args) -> int:
    import tempfile

    from ..config import CATEGORIES
    from ..building.builder import BuildOptions
    from ..building.sources import sweethome3d
    from ..building.sources.procedural.jobs import procedural_jobs

    options = BuildOptions(resolution=args.resolution, image_size=args.image_size)
    groups = {"procedural": procedural_jobs(CATEGORIES, args.count, args.seed)}
    if args.real > 0:
        if sweethome3d.available():
            per_cat = max(1, args.real // len(CATEGORIES))
            groups["sweethome3d"] = sweethome3d.sweethome3d_jobs(CATEGORIES, per_cat)[:args.real]
        else:
            print(f"real meshes skipped: {sweethome3d.INSTALL_HINT}")
    print(f"{args.resolution}^3, 12 views of {args.image_size} px, one process; seconds per model")
    print(f"{'source':12s} {'category':9s} {'model':36s} {'tris':>7s} "
          + " ".join(f"{s:>8s}" for s in STAGES) + f" {'total':>8s}")
    with tempfile.TemporaryDirectory() as tmp:
        for source, jobs in groups.items():
            rows = [_time_job(job, tmp, options) for job in jobs]
            for job, row in zip(jobs, rows):
                if isinstance(row, str):
                    print(f"{source:12s} {job.category:9s} {job.model_id[:36]:36s} skipped: {row}")
                    continue
                print(f"{source:12s} {job.category:9s} {job.model_id[:36]:36s} "
                      f"{row['tris']:7d} " + " ".join(f"{row[s]:8.3f}" for s in STAGES)
                      + f" {sum(row[s] for s in STAGES):8.3f}")
            good = [r for r in rows if not isinstance(r, str)]
            if good:
                mean = {s: sum(r[s] for r in good) / len(good) for s in STAGES}
                print(f"{source:12s} {'MEAN':9s} {f'{len(good)} models':36s} {'':7s} "
                      + " ".join(f"{mean[s]:8.3f}" for s in STAGES)
                      + f" {sum(mean.values()):8.3f}")
    return 0


def _time_job(job, root, options):
    import time

    from ..building.builder import build_model
    from ..building.meshes import MeshError

    try:
        t0 = time.perf_counter()
        mesh = job.load()
        load = time.perf_counter() - t0
        meta = build_model(mesh, job.paths(root, options.resolution), options, job.source)
    except MeshError as e:
        return str(e)
    return {"load": load, **meta["seconds"], "tris": meta["mesh"]["triangles"]}
