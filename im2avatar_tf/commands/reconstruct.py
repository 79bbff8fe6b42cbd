"""Reconstruct colored 3D models from images with a trained or exported model.

For each image NAME it writes, under --out:
  NAME.FORMAT        the colored model (.ply / .obj / .glb; .stl without colors), or
                     NAME_shape.h5 + NAME_color.h5
                     (the released prediction volumes) for --format h5
  NAME_input.png     the preprocessed input: exactly what the networks saw
  NAME_preview.png   the input beside turntable renders of the model (unless --no-preview)
Files that are not images are skipped and listed at the end, as are empty predictions (no
voxel reaches --threshold: lower it, or try --crop).

Examples:
  python run.py reconstruct im2avatar_tf/demo/examples/car_blue.png --model car --out out/
  python run.py reconstruct photos/ chair.png --model runs/chair-small --out out/ --format glb
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Dict, List

from .options import float_range, int_range, positive_int, probability

HELP = "reconstruct colored 3D models from images (glb, ply, obj or the released h5 volumes)"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def add_arguments(parser) -> None:
    from ..images import MAX_ASPECT, MAX_PIXELS

    parser.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR",
                        help="image files, or folders whose images (png, jpg, ...) are all "
                             "used. Read upright (EXIF orientation applied); an image over "
                             f"{MAX_PIXELS / 1e6:.0f} megapixels is skipped, from its header "
                             "(before decoding: decompression bombs); one more than "
                             f"{MAX_ASPECT:g}:1 wide or tall gets a warning (it is squashed)")
    parser.add_argument("--model", required=True,
                        help="a pretrained model's name (`python run.py models` lists them, "
                             "e.g. car), a model folder (config.json + shape.keras + "
                             "color.keras from `train`) or a folder made by `export`")
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument("--format", default="glb", choices=("glb", "ply", "obj", "stl", "h5"),
                        help="glb opens colored in Blender and web viewers; ply and obj carry "
                             "vertex colors for MeshLab; stl (no colors: the format has none) "
                             "is for 3D printing, watertight with --geometry mesh; h5 writes "
                             "the released volumes. Default: glb")
    parser.add_argument("--faces", type=int_range(4, 10_000_000), default=None, metavar="N",
                        help="simplify the smooth surface to at most N triangles (quadric "
                             "decimation, fast-simplification), colors kept per vertex; "
                             "--geometry mesh only. Default: marching cubes as it is")
    parser.add_argument("--geometry", default="mesh", choices=("mesh", "voxels", "points"),
                        help="mesh: smooth surface (marching cubes); voxels: one cube per "
                             "occupied voxel; points: voxel centers. Default: mesh")
    parser.add_argument("--threshold", type=probability, default=None,
                        help="occupancy probability for a voxel to count (default: a zoo "
                             "model's own, else the evaluation's 0.8); lower it for fuller, "
                             "noisier models")
    parser.add_argument("--crop", action="store_true",
                        help="crop each image to its foreground (alpha, or what differs from "
                             "the border color) before the usual resize and pad")
    parser.add_argument("--crop-margin", type=float_range(0, 10), default=0.1,
                        help="margin kept around the foreground by --crop, as a fraction of "
                             "its longer side. Default: 0.1")
    parser.add_argument("--remove-background", action="store_true",
                        help="for photos with a scene behind the object: cut the object out "
                             "(OpenCV GrabCut from the frame's border; an image with its own "
                             "alpha channel keeps it) and warn when the cut-out covers under "
                             "1 %% or over 95 %% of the frame; the photo's framing is kept "
                             "(--foreground-ratio reframes)")
    parser.add_argument("--foreground-ratio", type=float_range(0, 1, lo_open=True), default=None,
                        metavar="R",
                        help="crop to the foreground so its longer side is R of the network's "
                             "input; replaces --crop. The training views: cars 0.57, chairs "
                             "0.72 on average; the networks read size in the frame as size, so "
                             "reframe only a photo whose object is far off that")
    parser.add_argument("--runtime", choices=("tensorflow", "onnxruntime"), default="tensorflow",
                        help="what runs the networks: TensorFlow (default), or ONNX Runtime "
                             "(needs tf2onnx and onnxruntime; a model that is not an ONNX "
                             "export is converted first, in seconds: `export --format onnx` "
                             "keeps the file)")
    parser.add_argument("--fuse", action="store_true",
                        help="the images are views of ONE object (front, side, back ...): write "
                             "one model, NAME_fused (NAME: the first image), from all of them: "
                             "the mean occupancy of the views, each voxel's color from the "
                             "views that see it (weighted by 1 - the color network's "
                             "confidence w). No camera poses needed: the networks predict in "
                             "the object's own frame")
    parser.add_argument("--batch-size", type=positive_int, default=8,
                        help="images per forward pass. Default: 8")
    parser.add_argument("--views", type=int_range(1, 64), default=4,
                        help="turntable views in each preview. Default: 4")
    parser.add_argument("--no-preview", action="store_true", help="do not render previews")
    parser.add_argument("--overwrite", action="store_true",
                        help="reconstruct every image again; by default an image whose outputs "
                             "are all in --out already (the model, and its preview unless "
                             "--no-preview) is skipped, so a stopped run over a folder resumes")


def collect_images(inputs: List[str]) -> List[Path]:
    """Files as given (checked later, when read) and the images inside folders, sorted. A
    broken symbolic link in a folder is kept, so it is reported with the skipped files."""
    paths = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.iterdir()
                           if (p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
                           or (p.is_symlink() and not p.exists()))
            if not found:
                print(f"warning: no images ({', '.join(IMAGE_SUFFIXES)}) in folder {item}")
            paths.extend(found)
        else:
            paths.append(item)
    return paths


def unique_names(paths: List[Path]) -> Dict[Path, str]:
    """Output name per input: its stem, with _2, _3, ... where two inputs share a stem."""
    names, used = {}, set()
    for path in paths:
        name, n = path.stem, 1
        while name in used:
            n += 1
            name = f"{path.stem}_{n}"
        used.add(name)
        names[path] = name
    return names


def outputs_of(out: Path, name: str, fmt: str, preview: bool) -> List[Path]:
    """The files `reconstruct` writes for the image named `name` (the input PNG aside)."""
    files = ([out / f"{name}_shape.h5", out / f"{name}_color.h5"] if fmt == "h5"
             else [out / f"{name}.{fmt}"])
    return files + ([out / f"{name}_preview.png"] if preview else [])


def check_out_folder(out: Path) -> bool:
    """Refuse an --out that cannot be written, before anything expensive (loading the model).
    Returns whether the folder still has to be created."""
    if out.exists():
        if not out.is_dir():
            raise ValueError(f"--out {out} is a file, not a folder")
        if not os.access(out, os.W_OK | os.X_OK):
            raise PermissionError(f"--out {out} is not writable")
        return False
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"--out {out} cannot be created: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"--out {out} cannot be created: {parent} is not writable")
    return True


def run(args) -> int:
    if args.faces is not None and args.geometry != "mesh":
        raise ValueError(f"--faces simplifies the smooth surface: use it with --geometry mesh, "
                         f"not {args.geometry}")
    if args.format == "stl" and args.geometry == "points":
        raise ValueError("--format stl holds triangles: use --geometry mesh or voxels, not points")
    out = Path(args.out)
    create_out = check_out_folder(out)
    paths = collect_images(args.inputs)
    if not paths:
        raise FileNotFoundError("no images to reconstruct: give image files or folders with images")
    try:
        return _reconstruct(args, paths, out)
    finally:
        if create_out and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # a failed run leaves no empty output folder behind


def _reconstruct(args, paths: List[Path], out: Path) -> int:
    from tqdm import tqdm

    import numpy as np

    from ..fusion import fuse
    from ..images import read_image
    from ..inference import BlankImageWarning, Reconstructor
    from ..result import save_png
    from ..meshing import EmptyPredictionError

    names = unique_names(paths)
    if args.fuse:  # one model from every view, named after the first image
        names = {p: f"{names[paths[0]]}_fused" for p in paths}
    already = [] if args.overwrite else [
        p for p in paths
        if all(f.is_file() for f in outputs_of(out, names[p], args.format, not args.no_preview))]
    if args.fuse and len(already) < len(paths):
        already = []  # a fused model is made from all of its views or not at all
    if already:
        print(f"{len(already)} of {len(paths)} image(s) already reconstructed in {out}/: "
              f"skipped (--overwrite redoes them)")
        paths = [p for p in paths if p not in set(already)]
        if not paths:
            return 0
    reconstructor = Reconstructor.load(args.model, runtime=args.runtime)
    out.mkdir(parents=True, exist_ok=True)
    print(f"{reconstructor}; {len(paths)} image(s) -> {out}/ as .{args.format}")
    started = time.monotonic()

    done: List[str] = []
    skipped: List[str] = []
    empty: List[str] = []
    blank: List[str] = []
    views: List = []  # --fuse: every view's Result, fused after the loop

    def save(name, result, source) -> None:
        try:
            result.save(out / f"{name}.{args.format}", geometry=args.geometry,
                        max_faces=args.faces)
            done.append(name)
        except EmptyPredictionError as e:
            result.save_input(out / f"{name}_input.png")
            empty.append(f"{source}: {e}")
        if not args.no_preview:
            save_png(out / f"{name}_preview.png", result.preview(views=args.views))

    options = dict(crop=args.crop, crop_margin=args.crop_margin,
                   remove_background=args.remove_background,
                   foreground_ratio=args.foreground_ratio)
    with tqdm(total=len(paths), unit="image", desc="reconstruct") as bar:
        for start in range(0, len(paths), args.batch_size):
            batch, inputs = [], []
            for path in paths[start:start + args.batch_size]:
                try:  # read here, so that one unreadable file is skipped, not the batch
                    pixels, notes = reconstructor.prepare(read_image(path), str(path), **options)
                except (ValueError, FileNotFoundError) as e:
                    skipped.append(str(e))
                    bar.update(1)
                    continue
                for note in notes:
                    bar.write(f"warning: {note}", file=sys.stderr)
                if any(isinstance(note, BlankImageWarning) for note in notes):
                    blank.append(str(path))
                batch.append(pixels)
                inputs.append(path)
            if not batch:
                continue
            results = reconstructor.results(np.stack(batch), [names[p] for p in inputs],
                                            args.threshold)
            for path, result in zip(inputs, results):
                if args.fuse:
                    views.append(result)
                else:
                    save(names[path], result, path)
                bar.update(1)
    if views:
        name = names[paths[0]]
        save(name, fuse(views, name=name), f"{len(views)} fused views")

    minutes = (time.monotonic() - started) / 60
    print((f"reconstructed {len(done)} model from {len(views)} view(s)" if args.fuse else
           f"reconstructed {len(done)} of {len(paths)} image(s)")
          + (f" into {out}/" if done else "")
          + f" in {minutes * 60:.1f} s ({len(paths) / max(minutes, 1e-9):.1f} images per minute, "
            f"previews and files included)")
    for title, items in (("skipped", skipped), ("empty predictions", empty),
                         ("no foreground (blank or fully transparent)", blank)):
        if items:
            print(f"{title}: {len(items)}")
            for line in items:
                print(f"  {line}")
    return 0 if done else 1
