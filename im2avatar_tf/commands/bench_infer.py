"""Measure inference speed on this machine's CPU (or GPU, if TensorFlow sees one).

Reports, with model loading and the first (tracing) call excluded:
- single-image latency, split into preprocessing, the network forward pass (shape + color) and
  mesh extraction (final colors + marching cubes + vertex colors); the forward pass of the
  BN-folded inference copies (`fold=True`) and of the networks as trained (`fold=False`) are
  timed interleaved, so a changing machine load hits both alike;
- batch throughput of the forward pass (images/s at --batch);
- ONNX Runtime beside TensorFlow (single image and batch, interleaved), when installed;
- the exported SavedModel's size on disk and its `serving_default` latency (preprocessing
  included).
Without --model it uses randomly initialised networks of --preset (said in the output): the
network timings are those of a trained model; random networks predict noise, so the mesh is
then extracted from a synthetic sphere shell about as large as a real prediction (a surface
shell of ~10k voxels at 64^3) with the networks' color volumes. Voxel and triangle counts are
reported, since mesh time grows with them.

Example: python run.py bench-infer --preset paper
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .options import add_preset_argument, positive_int, probability

HELP = "time single-image inference (network vs mesh extraction), batch throughput, export size"


def add_arguments(parser) -> None:
    add_preset_argument(parser, default="tiny")
    parser.add_argument("--model", default=None,
                        help="a model folder or a zoo name (`python run.py models`) to time "
                             "instead of random networks of --preset")
    parser.add_argument("--repeats", type=positive_int, default=10,
                        help="timed repetitions per figure (the median is reported). Default: 10")
    parser.add_argument("--batch", type=positive_int, default=8, help="batch size for throughput. Default: 8")
    parser.add_argument("--threshold", type=probability, default=0.8,
                        help="occupancy threshold for the mesh. Default: 0.8")
    parser.add_argument("--no-export", action="store_true", help="skip the SavedModel figures")
    parser.add_argument("--no-onnx", action="store_true",
                        help="skip ONNX Runtime (timed beside TensorFlow when onnxruntime and "
                             "tf2onnx are installed)")


@dataclass(frozen=True)
class Timing:
    """Median and best of repeated runs, in seconds."""

    median: float
    best: float

    @classmethod
    def of(cls, fn, repeats: int) -> "Timing":
        return cls.interleaved([fn], repeats)[0]

    @classmethod
    def interleaved(cls, fns, repeats: int) -> list:
        """One Timing per function, the functions run in turn `repeats` times."""
        times = [[] for _ in fns]
        for _ in range(repeats):
            for fn, spent in zip(fns, times):
                start = time.perf_counter()
                fn()
                spent.append(time.perf_counter() - start)
        return [cls(statistics.median(t), min(t)) for t in times]

    def __str__(self) -> str:
        return f"{self.median * 1e3:.1f} ms ({self.best * 1e3:.1f})"


def sphere_shell(resolution: int):
    """Occupancy probability (R, R, R) of a sphere shell about 2 voxels thick and of radius
    0.35 R: about as many surface voxels as a real prediction (~10k at 64^3)."""
    import numpy as np

    axis = np.arange(resolution) + 0.5 - resolution / 2
    radius = np.sqrt(sum(a ** 2 for a in np.meshgrid(axis, axis, axis, indexing="ij")))
    return np.exp(-((radius - 0.35 * resolution) / 1.6) ** 2).astype(np.float32)


def run(args) -> int:
    import numpy as np
    import tensorflow as tf

    from ..forward import keras_forward
    from ..images import preprocess
    from ..result import Result
    from ..machine import report
    from ..models.flops import forward_flops

    model, what = _networks(args)
    preset, shape_model, color_model = model.preset, model.shape, model.color
    folded = keras_forward(shape_model, color_model, fold=True)
    unfolded = keras_forward(shape_model, color_model, fold=False)
    size, res = preset.model.image_size, preset.model.volume_size
    devices = ", ".join(d.device_type for d in tf.config.list_logical_devices())
    machine = report()
    print(f"bench-infer: {what}; {size} px -> {res}^3; devices: {devices}; "
          f"median (best) of {args.repeats} runs; load and first call excluded")
    print(*machine.lines(), sep="\n", flush=True)
    load, cores = os.getloadavg()[0], os.cpu_count()
    if load > 0.5 * cores:
        print(f"note: load average {load:.1f} on {cores} cores before starting: other jobs "
              f"share the CPU, so the times below are inflated (the best runs less so)")

    photo = np.random.default_rng(0).integers(0, 256, (size * 3 // 2, size * 2, 3),
                                              dtype=np.uint8)  # an odd-sized picture
    one = np.asarray(preprocess(photo, size))[None]  # (1, S, S, 3)
    batch = np.repeat(one, args.batch, axis=0)  # (B, S, S, 3)
    for forward in (folded, unfolded):
        forward(one), forward(batch)  # trace both shapes
    t_pre = Timing.of(lambda: preprocess(photo, size), args.repeats)
    t_net, t_unfolded = Timing.interleaved([lambda: folded(one), lambda: unfolded(one)],
                                           args.repeats)
    t_batch = Timing.of(lambda: folded(batch), args.repeats)

    out = folded(one)
    occupancy = out["occupancy"][0, ..., 0] if args.model else sphere_shell(res)  # (R, R, R)

    def result():  # a fresh Result each time, so the cached final colors are recomputed
        return Result(image=one[0], occupancy=occupancy, regressed=out["regressed"][0],
                      confidence=out["confidence"][0], flow=out["flow"][0],
                      blended=out["blended"][0], threshold=args.threshold)

    print("single image:")
    print(f"  {t_pre!s:>20}  preprocessing ({photo.shape[1]}x{photo.shape[0]} uint8 -> {size} px)")
    gflop = (forward_flops(shape_model) + forward_flops(color_model)) / 1e9
    print(f"  {t_net!s:>20}  networks forward, BN folded (shape + color: {gflop:.2f} GFLOP, "
          f"{gflop / t_net.median:.0f} GFLOP/s = "
          f"{100 * gflop / t_net.median / machine.peak_gflops:.0f} % of peak)")
    print(f"  {t_unfolded!s:>20}  networks forward as trained (fold=False; interleaved with the "
          f"line above: folded x{t_unfolded.median / t_net.median:.2f} faster)")
    occupied = int(result().occupied.sum())
    if occupied:
        faces = len(result().to_mesh().faces)
        source = "predicted" if args.model else "synthetic-shell"
        t_mesh = Timing.of(lambda: result().to_mesh(), args.repeats)
        t_voxels = Timing.of(lambda: result().to_voxel_mesh(), args.repeats)
        print(f"  {t_mesh!s:>20}  mesh extraction "
              f"(final colors + marching cubes; {occupied} {source} voxels >= "
              f"{args.threshold:g}, {faces} triangles)")
        print(f"  {t_voxels!s:>20}  voxel mesh instead (one cube per voxel)")
    else:
        print(f"  mesh extraction: n/a, no voxel >= threshold {args.threshold:g}")
    print(f"batch of {args.batch}: {t_batch} -> {args.batch / t_batch.median:.1f} images/s "
          f"({args.batch / t_batch.best:.1f} best), networks forward, BN folded")
    if not args.no_onnx:
        _bench_onnx(model, folded, one, batch, args.repeats)
    if not args.no_export:
        _bench_saved_model(preset, shape_model, color_model, photo, args.repeats)
    return 0


def _bench_onnx(model, folded, one, batch, repeats: int) -> None:
    """ONNX Runtime beside TensorFlow: the BN-folded networks converted to ONNX, single-image
    and batch forward passes timed interleaved with TensorFlow's (the same inputs)."""
    import numpy as np

    from ..inference import onnx_forward

    try:
        with tempfile.TemporaryDirectory(prefix="bench_onnx_") as tmp:
            from ..export import onnx_session, write_onnx

            path = Path(tmp) / "model.onnx"
            start = time.perf_counter()
            write_onnx(model.preset, model.shape, model.color, path)
            t_convert = time.perf_counter() - start
            megabytes = path.stat().st_size / 2**20
            onnx = onnx_forward(onnx_session(path))
    except ImportError as e:
        print(f"ONNX Runtime: skipped ({e})")
        return
    onnx(one), onnx(batch)
    # "blended" samples the image at the nearest pixel of the flow: a flow a rounding step
    # away from a pixel boundary picks the neighbour, so it is compared apart, as a count.
    a, b = onnx(one), folded(one)
    gap = max(float(np.abs(a[k] - b[k]).max()) for k in a if k != "blended")
    flipped = float((np.abs(a["blended"] - b["blended"]).max(-1) > 1e-4).mean())
    t_tf, t_ort = Timing.interleaved([lambda: folded(one), lambda: onnx(one)], repeats)
    b_tf, b_ort = Timing.interleaved([lambda: folded(batch), lambda: onnx(batch)], repeats)
    n = len(batch)
    print(f"ONNX Runtime (BN folded, {megabytes:.1f} MiB, converted in {t_convert:.1f} s; "
          f"largest output difference to TensorFlow {gap:.1e}; blended colors that sampled "
          f"another pixel: {flipped:.2%}), interleaved with TensorFlow:")
    print(f"  single image: ONNX Runtime {t_ort}, TensorFlow {t_tf} -> "
          f"{'ONNX Runtime' if t_ort.median < t_tf.median else 'TensorFlow'} faster "
          f"(x{max(t_tf.median, t_ort.median) / min(t_tf.median, t_ort.median):.2f})")
    print(f"  batch of {n}: ONNX Runtime {n / b_ort.median:.1f} images/s, TensorFlow "
          f"{n / b_tf.median:.1f} images/s")


def _networks(args):
    """-> (the Im2Avatar model, a line saying what it is)."""
    from ..inference import Im2Avatar

    if args.model:
        model = Im2Avatar.load(args.model)
        return model, f"trained model, {model.source} (preset {model.preset.name!r})"
    from ..config import get_preset
    from ..models import build_color_model, build_shape_model

    preset = get_preset(args.preset)
    return (Im2Avatar(preset, build_shape_model(preset.model), build_color_model(preset.model)),
            f"RANDOMLY INITIALISED networks of preset {preset.name!r} (no --model given)")


def _bench_saved_model(preset, shape_model, color_model, photo, repeats: int) -> None:
    """Export to a temporary folder: its size on disk and `serving_default` latency."""
    import tensorflow as tf

    from ..export import write_saved_model

    with tempfile.TemporaryDirectory(prefix="bench_infer_") as tmp:
        path = Path(tmp) / "saved_model"
        start = time.perf_counter()
        write_saved_model(preset, shape_model, color_model, path)
        t_export = time.perf_counter() - start
        megabytes = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20
        serve = tf.saved_model.load(str(path)).signatures["serving_default"]
        images = tf.constant(photo[None])
        serve(images=images)
        t_serve = Timing.of(lambda: serve(images=images), repeats)
    print(f"SavedModel (BN folded): {megabytes:.1f} MiB on disk (exported in {t_export:.1f} s); "
          f"serving_default {t_serve} per image, preprocessing included")
