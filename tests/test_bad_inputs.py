"""A corpus of bad inputs and faults, run through the real command line (`python run.py ...` in
a subprocess), as a hostile but realistic user would (issue 15).

Every bad input is made here, small: corrupt, truncated, 16-bit, palette, CMYK and RGBA
images, a blank and a fully transparent one, a broken symbolic link, broken meshes, a tiny
dataset with corrupted files, a truncated `.keras` file. Each case asserts the exit code, no
traceback on stderr, a message naming the file, and no half-written output; the kill -9 cases
(one build, one training run) assert that re-running the command gives what an uninterrupted
run gives.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from im2avatar_tf.data import layout
from im2avatar_tf.io import read_h5, write_h5
from im2avatar_tf.images import MAX_PIXELS, ImageTooLargeError, read_image
from tests._toy_data import write_toy_dataset

REPO = Path(__file__).resolve().parents[1]
RUN = str(REPO / "run.py")


def cli(*args, cwd, timeout=300, env=None, python_code=None,
        file_size_limit=None) -> subprocess.CompletedProcess:
    """`python run.py ARGS` in `cwd`; with `python_code`, that code runs first in the same
    process (to slow a reader down) and then run.py as __main__; `file_size_limit` (bytes):
    `ulimit -f` for the command."""
    environ = {**os.environ, **(env or {})}
    if python_code is None:
        command = [sys.executable, RUN, *map(str, args)]
    else:
        environ["IM2AVATAR_ALLOCATOR"] = "default"  # a re-exec of run.py would drop the patch
        command = [sys.executable, "-c", f"import sys\nsys.path.insert(0, {str(REPO)!r})\n"
                   + python_code + "\nimport runpy\n"
                   f"sys.argv = [{RUN!r}] + sys.argv[1:]\n"
                   f"runpy.run_path({RUN!r}, run_name='__main__')\n", *map(str, args)]
    limit = None if file_size_limit is None else (lambda: resource.setrlimit(
        resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit)))
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=environ, preexec_fn=limit)


def start(*args, cwd) -> subprocess.Popen:
    """`python run.py ARGS` in the background, output discarded."""
    return subprocess.Popen([sys.executable, RUN, *map(str, args)], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def assert_clean_failure(out: subprocess.CompletedProcess, *names: str, code: int = 1) -> None:
    """Exit `code`, no traceback, and every name in the message."""
    assert out.returncode == code, (out.returncode, out.stdout[-2000:], out.stderr[-4000:])
    assert "Traceback" not in out.stderr, out.stderr[-4000:]
    for name in names:
        assert name in out.stderr + out.stdout, (name, out.stderr[-2000:])


def leftovers(folder: Path):
    """Temporary names the atomic writers use: none may survive a finished command."""
    return [p for p in folder.rglob("*") if p.name.startswith(".") and
            (p.name.endswith(".tmp") or p.name.endswith(".old"))]


# ------------------------------------------------------------------------------ bad images
def png16(array: np.ndarray) -> bytes:
    """A 16-bit PNG (gray (H, W), gray+alpha (H, W, 2), RGB or RGBA), written by hand: PIL
    cannot write 16-bit color."""
    array = np.asarray(array, np.uint16)
    h, w = array.shape[:2]
    channels = 1 if array.ndim == 2 else array.shape[-1]
    ctype = {1: 0, 2: 4, 3: 2, 4: 6}[channels]  # PNG color types: gray, gray+alpha, RGB, RGBA
    rows = b"".join(b"\x00" + array[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, ctype, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


GRAY16 = np.linspace(11, 65522, 48 * 40).reshape(48, 40).round().astype(np.uint16)  # issue's range
EXPECTED8 = np.round(GRAY16 / 65535.0 * 255.0).astype(np.uint8)


def _high_bit_depth_files(folder: Path):
    """{name: (path, expected uint8 (H, W, C))}: one file per high-bit-depth mode."""
    files = {}
    path = folder / "gray16.png"  # opens as I;16
    Image.fromarray(GRAY16).save(path)
    files["I;16"] = (path, EXPECTED8[..., None])
    path = folder / "gray16b.tif"  # opens as I;16B
    Image.frombytes("I;16B", GRAY16.shape[::-1], GRAY16.astype(">u2").tobytes()).save(path)
    files["I;16B"] = (path, EXPECTED8[..., None])
    path = folder / "int32.tif"  # opens as I, 16-bit values
    Image.fromarray(GRAY16.astype(np.int32)).save(path)
    files["I"] = (path, EXPECTED8[..., None])
    path = folder / "float.tif"  # opens as F, values in [0, 1]
    Image.fromarray((GRAY16 / 65535.0).astype(np.float32)).save(path)
    files["F"] = (path, EXPECTED8[..., None])
    path = folder / "float255.tif"  # F holding 0..255
    Image.fromarray((GRAY16 / 65535.0 * 255.0).astype(np.float32)).save(path)
    files["F 0..255"] = (path, EXPECTED8[..., None])
    rgb = np.stack([GRAY16, 65535 - GRAY16, np.full_like(GRAY16, 32896)], -1)
    path = folder / "rgb16.png"
    path.write_bytes(png16(rgb))
    files["RGB 16-bit"] = (path, (rgb >> 8).astype(np.uint8))
    rgba = np.concatenate([rgb, np.full_like(GRAY16, 65535)[..., None]], -1)
    path = folder / "rgba16.png"
    path.write_bytes(png16(rgba))
    files["RGBA 16-bit"] = (path, (rgba >> 8).astype(np.uint8))
    return files


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I", "F", "F 0..255", "RGB 16-bit",
                                  "RGBA 16-bit"])
def test_high_bit_depth_images_are_scaled_not_clipped(tmp_path, mode):
    path, expected = _high_bit_depth_files(tmp_path)[mode]
    image = read_image(path)
    assert image.dtype == np.uint8 and image.shape == expected.shape, (image.shape, expected.shape)
    assert np.abs(image.astype(int) - expected.astype(int)).max() <= 1
    assert (image[..., 0] == 255).mean() < 0.01  # not "almost white" (issue 15: 99.6 %)


def test_other_modes_read_as_their_colors(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[:, :4] = (200, 30, 30)
    rgb[:, 4:] = (30, 30, 200)
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=4).save(
        tmp_path / "palette.png")
    np.testing.assert_array_equal(read_image(tmp_path / "palette.png"), rgb)
    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # red
    cmyk.save(tmp_path / "cmyk.tif")
    np.testing.assert_array_equal(read_image(tmp_path / "cmyk.tif")[0, 0], (255, 0, 0))
    Image.fromarray(rgb[..., 0] > 100).save(tmp_path / "bits.png")  # mode 1
    assert set(np.unique(read_image(tmp_path / "bits.png"))) == {0, 255}
    bad = tmp_path / "nan.tif"
    Image.fromarray(np.full((4, 4), np.nan, np.float32)).save(bad)
    with pytest.raises(ValueError, match="nan.tif"):
        read_image(bad)


def _bad_image_folder(folder: Path) -> Path:
    folder.mkdir()
    rng = np.random.default_rng(0)
    photo = np.full((48, 48, 3), 245, np.uint8)
    photo[10:38, 14:34] = rng.integers(0, 200, (28, 20, 3))
    Image.fromarray(photo).save(folder / "good.png")
    Image.fromarray(photo).convert("P").save(folder / "palette.png")
    Image.fromarray(photo).convert("CMYK").save(folder / "cmyk.jpg")
    rgba = np.concatenate([photo, np.full((48, 48, 1), 255, np.uint8)], -1)
    rgba[:5, :, 3] = 0
    Image.fromarray(rgba).save(folder / "rgba.png")
    Image.fromarray(GRAY16).save(folder / "gray16.png")
    (folder / "rgb16.png").write_bytes(png16(np.stack([GRAY16, 65535 - GRAY16, GRAY16 // 2], -1)))
    Image.new("RGB", (32, 32), (245, 245, 245)).save(folder / "blank.png")
    Image.new("RGBA", (32, 32), (10, 200, 10, 0)).save(folder / "transparent.png")
    (folder / "corrupt.png").write_bytes(rng.integers(0, 256, 500, dtype=np.uint8).tobytes())
    full = (folder / "good.png").read_bytes()
    (folder / "truncated.png").write_bytes(full[:len(full) // 2])
    (folder / "broken.png").symlink_to(folder / "gone.png")  # a dangling symbolic link
    (folder / "notes.txt").write_text("not an image, not an image suffix: ignored")
    return folder


@pytest.mark.slow
def test_reconstruct_a_folder_of_bad_images(model_dir, tmp_path):
    images = _bad_image_folder(tmp_path / "photos")
    out = tmp_path / "out"
    run = cli("reconstruct", images, "--model", model_dir, "--out", out, "--format", "ply",
              "--geometry", "points", "--threshold", "0.05", "--no-preview", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    text = run.stdout + run.stderr
    assert "skipped: 3" in run.stdout
    for name in ("corrupt.png", "truncated.png"):
        assert f"{images / name} is not a readable image" in run.stdout
    assert f"{images / 'broken.png'} is a broken symbolic link" in run.stdout
    assert "no foreground (blank or fully transparent): 2" in run.stdout
    for name in ("blank.png", "transparent.png"):
        assert f"warning: {images / name} has no foreground" in run.stderr
    for name in ("good", "palette", "cmyk", "rgba", "gray16", "rgb16", "blank", "transparent"):
        assert (out / f"{name}.ply").is_file(), (name, text[-3000:])
    assert not (out / "corrupt.ply").exists() and not leftovers(out)


@pytest.mark.slow
def test_failed_reconstructs_leave_no_output_folder(model_dir, tmp_path):
    images = _bad_image_folder(tmp_path / "photos")
    # Every input bad: exit 1, each named, and no (empty) --out folder.
    out = tmp_path / "out"
    run = cli("reconstruct", images / "corrupt.png", images / "broken.png", "--model", model_dir,
              "--out", out, cwd=tmp_path)
    assert_clean_failure(run, "corrupt.png", "broken.png")
    assert not out.exists()
    # An --out that cannot be created is refused first: before the (missing) model is looked at.
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    run = cli("reconstruct", images / "good.png", "--model", tmp_path / "no_model",
              "--out", blocker / "out", cwd=tmp_path)
    assert_clean_failure(run, str(blocker))
    assert "no_model" not in run.stderr
    # A truncated .keras file: unreadable or corrupt (Keras says "File not found"), and how
    # to get a good one.
    broken = tmp_path / "broken_model"
    shutil.copytree(model_dir, broken)
    data = (broken / "shape.keras").read_bytes()
    (broken / "shape.keras").write_bytes(data[:len(data) // 2])
    run = cli("reconstruct", images / "good.png", "--model", broken, "--out", out, cwd=tmp_path)
    assert_clean_failure(run, str(broken / "shape.keras"), "unreadable or corrupt", "retrain")
    assert "File not found" not in run.stderr and not out.exists()


# ------------------------------------------- decompression bombs, EXIF, panoramas (issue 31)
RED, BLUE = (220, 20, 20), (20, 20, 220)


def bomb_png(path: Path, side: int = 12000) -> Path:
    """A 1-bit PNG of side x side pixels: ~17 KB on disk, gigabytes once decoded."""
    Image.new("1", (side, side)).save(path)
    return path


def sideways_jpeg(path: Path) -> Path:
    """A phone photo stored sideways: upright it is 20 wide x 40 tall, red above blue; the
    pixels are stored turned 90 degrees (40 wide x 20 tall) with EXIF orientation 6."""
    upright = np.zeros((40, 20, 3), np.uint8)
    upright[:20], upright[20:] = RED, BLUE
    stored = Image.fromarray(np.rot90(upright).copy())  # (20, 40): red on the left
    exif = stored.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    stored.save(path, exif=exif.tobytes(), quality=95)
    return path


def assert_upright(image: np.ndarray) -> None:
    """`sideways_jpeg` as read: (40, 20, 3), red above blue."""
    assert image.shape == (40, 20, 3), image.shape
    assert np.abs(image[5, 10].astype(int) - RED).max() < 40, image[5, 10]
    assert np.abs(image[35, 10].astype(int) - BLUE).max() < 40, image[35, 10]


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # PIL, of broken_exif.jpg
def test_images_are_read_upright_and_bombs_refused_before_decoding(tmp_path):
    assert_upright(read_image(sideways_jpeg(tmp_path / "phone.jpg")))
    broken = Image.new("RGB", (8, 4), RED)  # an unreadable EXIF block: read as stored
    broken.save(tmp_path / "broken_exif.jpg", exif=b"Exif\x00\x00Exif\x00\x00II*\x00garbage")
    assert read_image(tmp_path / "broken_exif.jpg").shape == (4, 8, 3)
    # Over the limit by one row: refused from the header, with its size and the limit.
    side = int(MAX_PIXELS ** 0.5)
    big = tmp_path / "big.png"
    Image.new("1", (side, MAX_PIXELS // side + 1)).save(big)
    with pytest.raises(ImageTooLargeError, match=rf"big.png is over the limit of "
                                                 rf"{MAX_PIXELS // 10 ** 6} megapixels: "
                                                 rf"{side} x \d+ pixels"):
        read_image(big)
    # Past PIL's own limit (its DecompressionBombWarning: an error, or a warning where a
    # test's or a user's filters reset ours): the same error.
    with pytest.raises(ImageTooLargeError, match="bomb.png is over the limit of 64 megapixels"):
        read_image(bomb_png(tmp_path / "bomb.png"))
    # Before decoding: a bomb cut after its header is refused as too large, not as truncated.
    for path in (big, tmp_path / "bomb.png"):
        path.write_bytes(path.read_bytes()[:100])
        with pytest.raises(ImageTooLargeError):
            read_image(path)


@pytest.mark.slow
def test_reconstruct_skips_a_bomb_turns_a_phone_photo_upright_and_warns_of_a_panorama(
        model_dir, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    bomb_png(photos / "bomb.png")
    sideways_jpeg(photos / "phone.jpg")
    rng = np.random.default_rng(0)
    panorama = rng.integers(0, 256, (200, 20000, 3), dtype=np.uint8)  # all of it foreground
    Image.fromarray(panorama).save(photos / "panorama.png")
    small_car = np.full((200, 20000, 3), 245, np.uint8)  # --crop finds a 3:2 object in it
    small_car[50:150, 9900:10050] = RED
    Image.fromarray(small_car).save(photos / "small_car.png")
    out = tmp_path / "out"
    run = cli("reconstruct", photos, "--model", model_dir, "--out", out, "--format", "ply",
              "--geometry", "points", "--threshold", "0.05", "--no-preview", "--crop",
              cwd=tmp_path)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert "skipped: 1" in run.stdout
    assert f"{photos / 'bomb.png'} is over the limit of 64 megapixels" in run.stdout
    assert (f"warning: {photos / 'panorama.png'} is 20000 x 200 pixels, 100:1 (over 4:1): "
            f"the networks see it squashed to 64 x 1 pixels") in run.stderr
    assert "small_car.png is" not in run.stderr  # cropped first: not squashed
    # What the networks saw: the photo upright (20 x 40 fitted to 64 px: 32 wide, padded
    # left and right), red above blue.
    seen = read_image(out / "phone_input.png")
    assert np.all(seen[:, :12] == 245) and np.all(seen[:, -12:] == 245)
    assert_upright(np.asarray(Image.fromarray(seen[:, 16:48]).resize((20, 40))))


def test_python_api_reads_images_the_same_way(model_dir, tmp_path):
    from im2avatar_tf.images import SquashedImageWarning
    from im2avatar_tf.inference import Reconstructor

    reconstructor = Reconstructor.from_dir(model_dir)
    with pytest.raises(ImageTooLargeError, match="bomb.png"):
        reconstructor.predict(bomb_png(tmp_path / "bomb.png"))
    batch, _ = reconstructor.preprocess(sideways_jpeg(tmp_path / "phone.jpg"))
    image = np.round(batch[0] * 255).astype(np.uint8)  # (64, 64, 3)
    assert np.all(image[:, :12] == 245) and np.all(image[:, -12:] == 245)  # upright: portrait
    with pytest.warns(SquashedImageWarning, match="image 0 is 20000 x 200 pixels, 100:1"):
        reconstructor.preprocess(np.zeros((200, 20000, 3), np.uint8))


# ------------------------------------------------------------------------------ arguments
@pytest.mark.parametrize("args, option", [
    (["train", "--epochs", "0"], "--epochs"),
    (["train", "--epochs", "-1"], "--epochs"),
    (["train", "--batch-size", "0"], "--batch-size"),
    (["train", "--batch-size", "-4"], "--batch-size"),
    (["build-dataset", "--count", "0"], "--count"),
    (["reconstruct", "x.png", "--model", "m", "--out", "out", "--threshold", "1.5"], "--threshold"),
    (["evaluate", "--model", "m", "--thresholds", "0.5", "nan"], "--thresholds"),
    (["table1", "--epochs", "0"], "--epochs"),
    (["train", "--steps", "0"], "--steps"),
    (["train", "--steps", "10", "--epochs", "2"], "--epochs"),  # one schedule, not two
    (["claims", "--seeds", "-1"], "--seeds"),
])
def test_nonsense_numbers_are_refused_before_anything_is_written(tmp_path, args, option):
    run = cli(*args, cwd=tmp_path, timeout=60)
    assert_clean_failure(run, f"argument {option}", code=2)
    assert list(tmp_path.iterdir()) == []  # no run folder, data, cache or output


# ------------------------------------------------------------------------------ meshes
def test_build_dataset_skips_broken_meshes_with_their_reason(tmp_path):
    import trimesh

    meshes = tmp_path / "meshes" / "chair"
    meshes.mkdir(parents=True)
    box = trimesh.creation.box((0.6, 1.0, 0.5))
    box.visual.face_colors = [200, 40, 40, 255]
    box.export(meshes / "good.ply")
    (meshes / "nan.obj").write_text("v nan 0 0\nv 1 nan 0\nv 0 1 nan\nf 1 2 3\n")
    (meshes / "empty.obj").write_text("")
    glb = tmp_path / "whole.glb"
    box.export(glb)
    (meshes / "truncated.glb").write_bytes(glb.read_bytes()[:100])
    (meshes / "garbage.stl").write_bytes(b"\x00\x01garbage" * 10)
    (meshes / "flat.obj").write_text("v 0 0 0\nv 1 0 0\nv 2 0 0\nf 1 2 3\n")
    (meshes / "nomtl.obj").write_text("mtllib missing.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    out = tmp_path / "data"
    run = cli("build-dataset", "--source", "folder", "--input", tmp_path / "meshes", "--out", out,
              "--resolution", 16, "--image-size", 32, "--workers", 1, "--no-progress",
              cwd=tmp_path)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert "skipped 6" in run.stdout and "build_report.json" in run.stdout
    reasons = {s["model_id"]: s["reason"]
               for s in json.loads((out / "build_report.json").read_text())["skipped"]}
    assert set(reasons) == {"nan", "empty", "truncated", "garbage", "flat", "nomtl"}
    assert "NaN" in reasons["nan"] and "nan.obj" in reasons["nan"]
    assert "degenerate" in reasons["flat"] and "missing.mtl" in reasons["nomtl"]
    assert all(f"{name}." in reasons[name] for name in reasons), reasons
    chair = out / "03001627"
    assert sorted(p.name for p in chair.iterdir()) == ["good"] and not leftovers(out)


@pytest.mark.parametrize("workers", [1, 2])
def test_build_dataset_stops_at_a_failed_write_naming_the_file(tmp_path, workers):
    """Issue 31: under `ulimit -f` the build segfaulted (workers 1: h5py after a failed
    write) or blamed "out of memory" (workers 2). Now: one line with the file and the OS
    error, exit 1, and nothing that looks complete."""
    out = tmp_path / "data"
    run = cli("build-dataset", "--source", "procedural", "--categories", "car", "--count", 3,
              "--out", out, "--resolution", 16, "--image-size", 32, "--workers", workers,
              "--no-progress", cwd=tmp_path, file_size_limit=1500, timeout=120)
    assert_clean_failure(run, f"cannot write {out}", "File too large [Errno 27]", "ulimit -f",
                         "the same command resumes")
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert not list(out.rglob("meta.json")) and not leftovers(out)
    assert not list(out.rglob("*.h5")) and not list(out.rglob("*.png"))  # none written whole


def test_a_malformed_zoo_manifest_is_named(tmp_path):
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    (zoo / "manifest.json").write_text('{"models": {"car": ')  # cut short
    run = cli("models", cwd=tmp_path, env={"IM2AVATAR_ZOO": str(zoo)}, timeout=60)
    assert_clean_failure(run, f"{zoo / 'manifest.json'} is not valid JSON", "restore it")
    (zoo / "manifest.json").write_text('["car"]')  # JSON, but not a manifest
    run = cli("models", cwd=tmp_path, env={"IM2AVATAR_ZOO": str(zoo)}, timeout=60)
    assert_clean_failure(run, f"{zoo / 'manifest.json'} has no \"models\" object")


def test_saved_model_serving_checks_its_input_shape(model_dir, tmp_path):
    """A signature does not enforce its shape: serving_default checks it, with a message."""
    import tensorflow as tf

    from im2avatar_tf import cli as commands

    assert commands.main(["export", "--model", str(model_dir), "--out", str(tmp_path)]) == 0
    serve = tf.saved_model.load(str(tmp_path / "saved_model")).signatures["serving_default"]
    good = serve(images=tf.zeros((2, 9, 7, 3), tf.uint8))
    assert good["occupancy"].shape[0] == 2
    for shape in [(8, 8, 3), (1, 1, 8, 8, 3), (0, 8, 8, 3), (1, 8, 8, 4), (1, 0, 0, 3),
                  (1, 8, 8, 1)]:
        with pytest.raises(tf.errors.InvalidArgumentError) as error:
            serve(images=tf.zeros(shape, tf.uint8))
        message = str(error.value)
        assert "serving_default takes uint8 images (N, H, W, 3) with N, H, W >= 1" in message
        assert f"got shape] [{' '.join(map(str, shape))}]" in message, (shape, message[-500:])


# ------------------------------------------------------------------------------ datasets
def _toy(folder: Path) -> Path:
    """Six train models of 'car' at 32^3 (the tiny preset's volume) and two test models."""
    return write_toy_dataset(folder, categories=("car",), split_sizes={"train": 6, "test": 2},
                             resolution=32)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    return _toy(tmp_path_factory.mktemp("toy"))


def _nan_flow_copy(toy: Path, dest: Path, model: str = "car_train_003") -> Path:
    shutil.copytree(toy, dest)
    m = layout.shapenet_model(dest, "car", model, 32)
    for view in layout.VIEW_NAMES:  # every view: whichever is drawn, it is bad
        flow = read_h5(m.flow(view))
        flow[0, 0, 0, 0] = np.nan
        write_h5(m.flow(view), flow, compress=False)
    return dest


def test_check_dataset_names_every_planted_problem(toy, tmp_path):
    data = shutil.copytree(toy, tmp_path / "data")
    models = {i: layout.shapenet_model(data, "car", f"car_train_{i:03d}", 32) for i in range(6)}
    flow = read_h5(models[0].flow("0.523"))
    flow[1, 2, 3, 0] = np.nan
    write_h5(models[0].flow("0.523"), flow, compress=False)  # NaN flow
    view = models[1].view("1.047")
    view.write_bytes(view.read_bytes()[:40])  # truncated PNG
    models[2].color.unlink()  # missing color volume
    models[3].flow("2.093").write_bytes(b"not an h5 file")  # garbage h5
    with h5py.File(models[4].color, "w") as f:  # wrong shape
        f["data"] = np.zeros((8, 8, 8, 3), np.float32)
    split = data / "data_list" / "train_list_car.txt"
    split.write_text(split.read_text() + "car_missing_model\n")
    run = cli("check-dataset", data, "--no-progress", cwd=tmp_path)
    assert_clean_failure(run, "car_train_000", "car_train_001", "car_train_002",
                         "car_train_003", "car_train_004", "car_missing_model")
    assert "1.047" in run.stdout and "2.093" in run.stdout


@pytest.mark.slow
def test_a_data_error_in_training_ends_promptly_with_one_line(toy, tmp_path):
    """Issue 15's hang: BadModelError raised inside the tf.data graph (--no-cache), other
    readers still in flight. The run ends at once with the message, exit 1, no traceback, and
    leaves no run folder that looks like a started run. The readers are slowed down so that
    several are in flight when the bad one fails: the case that hung at interpreter exit."""
    data = _nan_flow_copy(toy, tmp_path / "data")
    slow = ("import time\nfrom im2avatar_tf.data import pipeline\n"
            "_read = pipeline._RawReader.read\n"
            "def read(self, i, view):\n"
            "    out = _read(self, i, view)\n"
            "    time.sleep(0.3)\n"
            "    return out\n"
            "pipeline._RawReader.read = read\n")
    args = ["train", "--data", data, "--category", "car", "--network", "shape", "--epochs", 2,
            "--batch-size", 2, "--out", tmp_path / "run", "--no-cache"]
    run = cli(*args, cwd=tmp_path, python_code=slow, timeout=240)  # it hung: TimeoutExpired
    assert_clean_failure(run, "car_train_003", "_coor.h5", "NaN", "--skip-bad")
    assert not (tmp_path / "run").exists()
    # From the compact cache (the default) the same file is named when the cache is built,
    # before any run folder or cache entry is written.
    run = cli(*args[:-1], cwd=tmp_path)
    assert_clean_failure(run, "car_train_003", "_coor.h5", "NaN")
    assert not (tmp_path / "run").exists()
    assert not leftovers(tmp_path)


# ------------------------------------------------------------------------------ kill -9
def _kill_when(process: subprocess.Popen, ready, timeout: float = 300.0) -> None:
    """kill -9 `process` as soon as ready() holds; fail if it ended first."""
    t0 = time.time()
    while not ready():
        assert process.poll() is None, "the command finished before it could be killed"
        assert time.time() - t0 < timeout, "timed out waiting to kill"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL


def _tree(root: Path) -> dict:
    """{relative path: content} of a dataset, meta.json without its timings."""
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_dir() or path.name == "build_report.json":
            continue
        data = path.read_bytes()
        if path.name == "meta.json":
            meta = json.loads(data)
            meta.pop("seconds", None)
            data = json.dumps(meta, sort_keys=True).encode()
        files[path.relative_to(root).as_posix()] = data
    return files


@pytest.mark.slow
def test_build_dataset_killed_then_rerun_equals_an_uninterrupted_build(tmp_path):
    args = ["build-dataset", "--source", "procedural", "--categories", "car", "chair",
            "--count", 10, "--resolution", 16, "--image-size", 32, "--workers", 1,
            "--no-progress"]
    reference, out = tmp_path / "reference", tmp_path / "killed"
    uninterrupted = start(*args, "--out", reference, cwd=tmp_path)  # alongside, to save time
    process = start(*args, "--out", out, cwd=tmp_path)
    _kill_when(process, lambda: len(list(out.glob("*/*/meta.json"))) >= 2)
    assert uninterrupted.wait() == 0
    assert 2 <= len(list(out.glob("*/*/meta.json"))) < 20
    run = cli(*args, "--out", out, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads((out / "build_report.json").read_text())
    assert report["reused"] >= 2 and report["built"] + report["reused"] == 20
    assert _tree(out) == _tree(reference) and not leftovers(out)


def _weights(keras_file: Path) -> dict:
    with zipfile.ZipFile(keras_file) as archive, archive.open("model.weights.h5") as f:
        with h5py.File(f, "r") as h5:
            arrays = {}
            h5.visititems(lambda name, obj: arrays.__setitem__(name, obj[()])
                          if isinstance(obj, h5py.Dataset) else None)
    return arrays


@pytest.mark.slow
def test_train_killed_then_rerun_equals_an_uninterrupted_run(toy, tmp_path):
    # tiny preset: a checkpoint every 5 epochs; 7 epochs of 3 batches
    args = ["train", "--data", toy, "--category", "car", "--network", "shape", "--epochs", 7,
            "--batch-size", 2]
    reference, out = tmp_path / "reference", tmp_path / "killed"
    uninterrupted = start(*args, "--out", reference, cwd=tmp_path)  # alongside, to save time
    process = start(*args, "--out", out, cwd=tmp_path)
    _kill_when(process, lambda: (out / "checkpoints" / "shape" / "epoch_00005").is_dir())
    assert not (out / "shape.keras").exists()
    assert uninterrupted.wait(timeout=300) == 0
    run = cli(*args, "--out", out, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "resuming shape from" in run.stdout
    a, b = _weights(reference / "shape.keras"), _weights(out / "shape.keras")
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    losses = [np.genfromtxt(d / "log_shape.csv", delimiter=",", names=True)["loss"]
              for d in (reference, out)]
    np.testing.assert_array_equal(*losses)
    assert json.loads((out / "checkpoints" / "shape" / "finished.json").read_text()) == \
        {"epochs": 7, "of": 7}


def test_extra_training_data_that_is_not_there_is_named(toy, tmp_path):
    run = cli("train", "--data", toy, "--extra-train-data", tmp_path / "nope", "--category",
              "car", "--out", tmp_path / "run", cwd=tmp_path, timeout=120)
    assert_clean_failure(run, "--extra-train-data", str(tmp_path / "nope"), "build-dataset")
    assert not (tmp_path / "run").exists()
