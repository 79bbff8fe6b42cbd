"""Dataset builder end to end: build, resume, skip broken meshes, check, read back."""
import json

import numpy as np
import pytest
import trimesh
from PIL import Image

from im2avatar_tf.building.builder import (REPORT_NAME, BuildOptions, build_dataset, build_model,
                                       is_complete, split_ids)
from im2avatar_tf.data.check import check_dataset
from im2avatar_tf.io import read_h5, write_h5
from im2avatar_tf.data.layout import VIEW_NAMES, human_model, read_split, shapenet_model
from im2avatar_tf.building.sources.folder import folder_jobs, folder_model_id
from im2avatar_tf.images import WHITE_RGB, read_image

SMALL = BuildOptions(resolution=16, image_size=32)


def _textured_box(extents) -> trimesh.Trimesh:
    box = trimesh.creation.box(extents)
    uv = box.vertices[:, [0, 2]] * 2.0  # tiles across the faces
    tex = np.zeros((8, 8, 3), np.uint8)
    tex[::2, ::2] = (220, 40, 40)
    tex[1::2, 1::2] = (40, 40, 220)
    box.visual = trimesh.visual.TextureVisuals(uv=uv, image=Image.fromarray(tex))
    return box


@pytest.fixture(scope="module")
def mesh_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("meshes")
    (root / "chair").mkdir()
    (root / "03467517").mkdir()  # guitar, by ShapeNet id
    _textured_box((0.6, 1.0, 0.5)).export(root / "chair" / "tall.obj")
    cyl = trimesh.creation.cylinder(0.3, 0.8)
    cyl.visual.vertex_colors = (np.abs(cyl.vertices) * 300).clip(0, 255).astype(np.uint8)
    cyl.export(root / "chair" / "round.ply")
    sphere = trimesh.creation.icosphere(2)
    sphere.visual.face_colors = [30, 160, 30, 255]
    sphere.export(root / "03467517" / "ball.glb")
    (root / "chair" / "corrupt.obj").write_text("v 0 0 0\nv 1 1\nf 1 2 9\n")
    (root / "chair" / "empty.ply").write_bytes(b"")
    # An OBJ whose texture image is missing.
    (root / "chair" / "notex").mkdir()
    _textured_box((0.5, 0.5, 0.5)).export(root / "chair" / "notex" / "notex.obj")
    for png in (root / "chair" / "notex").glob("*.png"):
        png.unlink()
    return root


@pytest.fixture(scope="module")
def built(mesh_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("dataset")
    report = build_dataset(folder_jobs(mesh_folder), out, SMALL, workers=1, progress=False)
    return out, report


def test_broken_meshes_are_skipped_and_reported(built):
    out, report = built
    assert sorted(m for _, m in report.built) == ["ball", "round", "tall"]
    skipped = {s["model_id"]: s["reason"] for s in report.skipped}
    assert set(skipped) == {"corrupt", "empty", "notex"}
    assert "texture image" in skipped["notex"] and "not found" in skipped["notex"]
    on_disk = json.loads((out / REPORT_NAME).read_text())
    assert {s["model_id"] for s in on_disk["skipped"]} == set(skipped)
    assert not (out / "03001627" / "corrupt").exists()


def test_built_dataset_passes_check_and_reads_back(built):
    out, _ = built
    result = check_dataset(out, progress=False)
    assert result.ok, result.summary()
    assert result.models == 3 and result.resolution == 16
    models = [m for split in ("train", "val", "test")
              for m in read_split(out, split, "chair", resolution=16)]
    assert sorted(m.model_id for m in models) == ["round", "tall"]
    for m in models:
        color = read_h5(m.color)
        assert color.shape == (16, 16, 16, 3) and color.dtype == np.float32
        occupied = color[..., 0] > -0.5
        assert occupied.any() and np.all(color[~occupied] == -1)
        assert np.all((color[occupied] >= 0) & (color[occupied] <= 1))
        for name in VIEW_NAMES:
            img = read_image(m.view(name))
            assert img.shape == (32, 32, 3)
            flow = read_h5(m.flow(name))
            np.testing.assert_array_equal(flow[..., 0] > -0.5, occupied)
        meta = json.loads(m.meta.read_text())
        assert [v["name"] for v in meta["views"]] == list(VIEW_NAMES)
        assert meta["source"]["source"] == "folder"
    assert (out / "03467517" / "ball" / "meta.json").exists()  # ShapeNet id folder -> guitar


def test_check_dataset_finds_planted_errors(built, tmp_path):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(built[0], out)
    m = shapenet_model(out, "chair", "tall", 16)
    flow = read_h5(m.flow("0.523"))
    flow[0, 0, 0] = 0.5  # a flow off the surface
    write_h5(m.flow("0.523"), flow)
    m.view("3.140").unlink()
    (out / "data_list" / "test_list_chair.txt").write_text("does_not_exist\n")
    result = check_dataset(out, progress=False)
    kinds = {p.kind for p in result.problems if p.severity == "error"}
    assert {"flow valid off the surface", "view missing",
            "split entry without model folder"} <= kinds
    assert not result.ok


def test_rebuild_resumes_only_incomplete_models(built, mesh_folder):
    out, _ = built
    m = shapenet_model(out, "chair", "round", 16)
    m.meta.unlink()  # as if killed before the marker was written
    before = m.color.stat().st_mtime_ns
    jobs = [j for j in folder_jobs(mesh_folder) if j.model_id in ("round", "tall", "ball")]
    report = build_dataset(jobs, out, SMALL, workers=1, progress=False)
    assert report.built == [("chair", "round")]
    assert sorted(x[1] for x in report.reused) == ["ball", "tall"]
    assert is_complete(m, SMALL) and m.color.stat().st_mtime_ns != before
    assert not is_complete(m, BuildOptions(resolution=32, image_size=32))


def test_parallel_workers_build_the_same_volumes(mesh_folder, built, tmp_path):
    jobs = [j for j in folder_jobs(mesh_folder) if j.model_id in ("round", "tall")]
    report = build_dataset(jobs, tmp_path, SMALL, workers=2, progress=False)
    assert len(report.built) == 2
    for mid in ("round", "tall"):
        a = read_h5(shapenet_model(tmp_path, "chair", mid, 16).flow("2.617"))
        b = read_h5(shapenet_model(built[0], "chair", mid, 16).flow("2.617"))
        np.testing.assert_array_equal(a, b)


def test_build_model_writes_the_human_layout_on_white(tmp_path):
    paths = human_model(tmp_path, "clothes3", "mesh7_new", 16)
    opts = BuildOptions(resolution=16, image_size=32, background=WHITE_RGB)
    meta = build_model(_textured_box((0.4, 1.0, 0.3)), paths, opts, {"source": "test"})
    assert paths.color == tmp_path / "clothes3" / "mesh7_new" / "mesh7_new.h5"
    assert all(p.exists() for p in paths.required_files())
    assert np.all(read_image(paths.view("0.000"))[0, 0] == 255)
    assert meta["style"] == "human" and len(meta["views"]) == 12


def test_splits_are_deterministic_and_proportioned():
    ids = [f"m{i:03d}" for i in range(50)]
    train, val, test = split_ids(ids, seed=3, category="car")
    assert (len(train), len(val), len(test)) == (35, 5, 10)
    assert sorted(train + val + test) == ids
    assert split_ids(list(reversed(ids)), seed=3, category="car") == (train, val, test)
    assert split_ids(ids, seed=4, category="car") != (train, val, test)


def test_folder_model_ids():
    from pathlib import Path

    assert folder_model_id(Path("a/b.obj")) == "a_b"
    assert folder_model_id(Path("a/a.obj")) == "a"
    assert folder_model_id(Path("1a2b/models/model_normalized.obj")) == "1a2b"
    assert folder_model_id(Path("x y.ply")) == "x_y"


def test_built_dataset_loads_through_the_training_loader(built):
    from im2avatar_tf.data.pipeline import list_models
    from im2avatar_tf.data.samples import load_color, load_flow

    out, _ = built
    entries, skipped = list_models(out, "train", ["chair"], 16)
    assert entries and not skipped
    color = load_color(entries[0].paths, 16)
    assert color.shape == (16, 16, 16, 3)
    assert load_flow(entries[0].paths, "0.000", 16).shape == (16, 16, 16, 2)


def test_preview_contact_sheet(built, tmp_path):
    from im2avatar_tf.data.preview import contact_sheet

    out = contact_sheet(built[0], tmp_path / "sheet.png", per_category=1, tile=32)
    sheet = np.asarray(Image.open(out))
    assert sheet.shape == (2 * (32 + 14), 6 * 32, 3)  # chair + guitar rows, 4 views + 2 voxels
    assert (np.abs(sheet.astype(int) - 245).sum(-1) > 30).mean() > 0.05


def test_procedural_source_builds_every_category(tmp_path):
    from im2avatar_tf.building.sources.procedural.jobs import procedural_jobs

    jobs = procedural_jobs(("car", "chair", "table", "guitar"), 1, seed=0)
    report = build_dataset(jobs, tmp_path, SMALL, progress=False)
    assert len(report.built) == 4, report.skipped
    assert check_dataset(tmp_path, progress=False).ok
    meta = json.loads(shapenet_model(tmp_path, "car", "proc0_00000", 16).meta.read_text())
    from im2avatar_tf.building.sources.procedural import describe

    params = meta["source"].pop("params")  # the sampled parameters: family, type, sizes, livery
    assert meta["source"] == {"source": "procedural", "category": "car", "index": 0, "seed": 0}
    assert params == describe("car", 0) and params["family"] == "wide"


def test_cli_build_and_check(mesh_folder, tmp_path, capsys):
    from im2avatar_tf.cli import main

    out = tmp_path / "cli"
    rc = main(["build-dataset", "--source", "folder", "--input", str(mesh_folder),
               "--out", str(out), "--resolution", "16", "--image-size", "32",
               "--categories", "guitar", "--workers", "1", "--no-progress"])
    assert rc == 0 and "built 1" in capsys.readouterr().out
    assert main(["check-dataset", str(out), "--no-progress"]) == 0
    (out / "02958343").mkdir()
    (out / "data_list" / "train_list_car.txt").write_text("ghost\n")
    assert main(["check-dataset", str(out), "--no-progress"]) == 1
    assert "split entry without model folder" in capsys.readouterr().out
    assert main(["build-dataset", "--source", "folder", "--out", str(out)]) == 1  # no --input
    assert "--input" in capsys.readouterr().err
    assert main(["build-dataset", "--bodies", "3", "--out", str(out)]) == 1


def test_folder_mapping_file(mesh_folder, tmp_path):
    mapping = tmp_path / "map.csv"
    mapping.write_text("path,category\nchair/tall.obj,table\n03467517/ball.glb,car\n")
    jobs = folder_jobs(mesh_folder, mapping)
    assert [(j.category, j.model_id) for j in jobs] == [("table", "chair_tall"),
                                                       ("car", "03467517_ball")]
    with pytest.raises(FileNotFoundError, match="not found"):
        folder_jobs(tmp_path / "nowhere")


def test_a_dead_worker_fails_the_build_instead_of_hanging(tmp_path):
    """A worker killed mid-job (as by the OOM killer) raises a clear error; the build does not
    wait forever for its result."""
    import functools
    import os

    from im2avatar_tf.building.builder import Job

    jobs = [Job("chair", f"m{i}", functools.partial(os._exit, 1)) for i in range(2)]
    with pytest.raises(RuntimeError, match="worker process died"):
        build_dataset(jobs, tmp_path, SMALL, workers=2, progress=False)


def test_write_png_and_to_uint8(tmp_path):
    """One float -> uint8 conversion (rounded, clipped) and one atomic PNG writer, which refuses
    floats instead of guessing their range and leaves no temporary file behind."""
    from im2avatar_tf.io import write_png
    from im2avatar_tf.images import to_uint8

    x = np.array([-0.1, 0.0, 0.9, 0.5, 1.0, 1.2], np.float32)
    np.testing.assert_array_equal(to_uint8(x), [0, 0, 230, 128, 255, 255])
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    assert to_uint8(img) is img
    path = write_png(tmp_path / "sub" / "a.png", img)
    np.testing.assert_array_equal(np.asarray(Image.open(path)), img)
    with pytest.raises(ValueError, match="to_uint8"):
        write_png(tmp_path / "b.png", img / 255.0)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["a.png"]


def test_atomic_dir_and_save_keras_leave_nothing_half_written(tmp_path):
    """A folder written through `atomic_dir` appears whole, with the usual permissions, and
    replaces the old one; a failed write leaves the old one and no temporary folder. The same
    for `save_keras`, whose temporary file keeps the `.keras` suffix Keras insists on."""
    import os

    from im2avatar_tf.io import atomic_dir, save_keras

    def failed_write(body):
        with pytest.raises(RuntimeError, match="killed"):
            with atomic_dir(final) as tmp:
                body(tmp)
                raise RuntimeError("killed")

    final = tmp_path / "out"
    failed_write(lambda tmp: (tmp / "a.txt").write_text("partial"))
    assert list(tmp_path.iterdir()) == []
    for name in ("a.txt", "b.txt"):
        with atomic_dir(final) as tmp:
            (tmp / name).write_text("complete")
    failed_write(lambda tmp: (tmp / "c.txt").write_text("partial"))
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert [p.name for p in final.iterdir()] == ["b.txt"]
    umask = os.umask(0)
    os.umask(umask)
    assert final.stat().st_mode & 0o777 == 0o777 & ~umask

    class Model:  # stands in for a Keras model
        def __init__(self, fail):
            self.fail = fail

        def save(self, path):
            assert str(path).endswith(".keras")
            path.write_text("partial" if self.fail else "model")
            if self.fail:
                raise RuntimeError("killed")

    keras_file = tmp_path / "m.keras"
    save_keras(Model(fail=False), keras_file)
    with pytest.raises(RuntimeError, match="killed"):
        save_keras(Model(fail=True), keras_file)
    assert keras_file.read_text() == "model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras", "out"]


# -- --up / --front: meshes in any orientation land in the procedural frame (y up, front +z) --
def _car_like(vertices_map) -> trimesh.Trimesh:
    """A box long along z with a red front face (+z) and a blue bump on top at the front right
    (+x, +z): no mirror or rotation symmetry, so a wrong orientation shows in the volume.
    `vertices_map` re-orients the (V, 3) vertices exactly (an axis permutation with signs)."""
    body = trimesh.creation.box((0.5, 0.35, 1.0))
    body.visual.face_colors = np.where(body.face_normals[:, 2:3] > 0.9, [220, 30, 30, 255],
                                       [150, 150, 150, 255]).astype(np.uint8)
    bump = trimesh.creation.box((0.15, 0.15, 0.25))
    bump.apply_translation((0.15, 0.25, 0.3))
    bump.visual.face_colors = [30, 30, 220, 255]
    mesh = trimesh.util.concatenate([body, bump])
    colors = mesh.visual.face_colors.copy()
    return trimesh.Trimesh(vertices_map(mesh.vertices), mesh.faces, face_colors=colors,
                           process=False)


# The same model, saved three ways (numpy index maps: exact, unlike a float rotation matrix).
_ORIENTED = {
    "y-up, front +z": (lambda v: v, ()),  # the procedural convention, no flags
    "y-up, front +x": (lambda v: np.stack([v[:, 2], v[:, 1], -v[:, 0]], 1), ("--front", "+x")),
    "z-up, front +x": (lambda v: np.stack([v[:, 2], v[:, 0], v[:, 1]], 1),
                       ("--up", "z", "--front", "+x")),
}


def _build_oriented(tmp_path, name, vertices_map, flags):
    from im2avatar_tf.cli import main

    folder = tmp_path / f"in {name}" / "car"
    folder.mkdir(parents=True, exist_ok=True)
    _car_like(vertices_map).export(folder / "m.ply")
    out = tmp_path / f"out {name} {' '.join(flags)}"
    assert main(["build-dataset", "--source", "folder", "--input", str(folder.parent),
                 "--out", str(out), "--resolution", "16", "--image-size", "32", "--views", "1",
                 "--workers", "1", "--no-progress", *flags]) == 0
    return read_h5(shapenet_model(out, "car", "m", 16).color)


def test_front_and_up_bring_any_orientation_to_the_same_volume(tmp_path, capsys):
    """--front (with --up) turns a model facing +x, y-up or z-up, into the procedural frame: its
    colored volume equals the one of the model saved facing +z; without --front it does not."""
    volumes = {name: _build_oriented(tmp_path, name, vmap, flags)
               for name, (vmap, flags) in _ORIENTED.items()}
    reference = volumes["y-up, front +z"]
    occupied = reference[..., 0] > -0.5
    front = reference[:, :, -1][occupied[:, :, -1]]  # the +z slab of voxels: the red face
    assert np.mean(front[:, 0] - front[:, 2] > 0.4) > 0.5  # red (its rim mixes with the gray)
    for name, volume in volumes.items():
        # The re-oriented vertices are exact and the rotations permute axes, so the normalized
        # meshes agree up to float rounding of the centering (a few ulp): a sample landing on
        # a voxel face may fall on the other side. Allow 1 % of the occupied voxels to differ
        # (typically none do); a wrong orientation changes about half of them.
        differ = np.any(np.abs(volume - reference) > 1e-3, axis=-1)
        assert differ.sum() <= 0.01 * occupied.sum(), (name, differ.sum(), occupied.sum())
    without = _build_oriented(tmp_path, "y-up, front +x", _ORIENTED["y-up, front +x"][0], ())
    differ = np.any(np.abs(without - reference) > 1e-3, axis=-1)
    assert differ.sum() > 0.3 * occupied.sum()


def test_front_parallel_to_up_is_refused(tmp_path, capsys):
    from im2avatar_tf.building.meshes import DEFAULT_FRONT, orientation
    from im2avatar_tf.cli import main

    for flags in (["--up", "z", "--front", "+z"], ["--front=-y"]):
        rc = main(["build-dataset", "--source", "folder", "--input", str(tmp_path / "none"),
                   "--out", str(tmp_path / "out"), "--no-progress", *flags])
        err = capsys.readouterr().err
        up = flags[1] if flags[0] == "--up" else "y"
        assert rc == 1 and "--front" in err and f"--up {up}" in err and "parallel" in err, err
    assert not (tmp_path / "out").exists()  # refused before any work
    # One rotation for both axes, proper (det +1), and the defaults keep what --up alone did.
    for up, front in DEFAULT_FRONT.items():
        for f in ("+z", "-z", "+x", "-x", "+y", "-y"):
            if f[1] != up:
                rot = orientation(up, f)
                assert np.isclose(np.linalg.det(rot), 1.0)
                assert np.allclose(rot @ np.eye(3)["xyz".index(up)], [0, 1, 0])
    np.testing.assert_array_equal(orientation("z"), [[1, 0, 0], [0, 0, 1], [0, -1, 0]])
    np.testing.assert_array_equal(orientation("x"), [[0, -1, 0], [1, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(orientation("y"), np.eye(3))


def test_rebuilding_with_another_front_rebuilds_and_front_needs_the_folder_source(tmp_path,
                                                                                  capsys):
    from im2avatar_tf.cli import main

    name = "y-up, front +x"
    vmap = _ORIENTED[name][0]
    wrong = _build_oriented(tmp_path, name, vmap, ())  # built facing the wrong way first
    fixed = _build_oriented(tmp_path, name, vmap, ())  # the same command reuses it
    np.testing.assert_array_equal(wrong, fixed)
    folder = tmp_path / f"in {name}"
    out = tmp_path / f"out {name} "
    assert main(["build-dataset", "--source", "folder", "--input", str(folder), "--out", str(out),
                 "--resolution", "16", "--image-size", "32", "--views", "1", "--workers", "1",
                 "--no-progress", "--front", "+x"]) == 0
    report = json.loads((out / "build_report.json").read_text())
    assert report["built"] == 1 and report["reused"] == 0  # not the old orientation reused
    reference = _build_oriented(tmp_path, "y-up, front +z", _ORIENTED["y-up, front +z"][0], ())
    rebuilt = read_h5(shapenet_model(out, "car", "m", 16).color)
    assert np.any(np.abs(rebuilt - reference) > 1e-3, axis=-1).sum() <= \
        0.01 * (reference[..., 0] > -0.5).sum()
    capsys.readouterr()
    rc = main(["build-dataset", "--source", "procedural", "--front", "+x", "--out",
               str(tmp_path / "p"), "--no-progress"])
    assert rc == 1 and "--front only applies to --source folder" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()
