"""The practitioners' outputs: STL for printing, fewer triangles (--faces) with their colors,
the same bytes for the same input. Volumes are made here (no TensorFlow); one test runs the
real `reconstruct` command on a zoo model and a demo image."""
import hashlib
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import trimesh

from im2avatar_tf import meshing
from im2avatar_tf.mesh_io import NotWatertightWarning, unpaired_edges, write_geometry

R = 24
ROOT = Path(__file__).resolve().parents[1]


def _car_like():
    """A smooth blob (a long box with a cabin, blurred) and colors that vary along x."""
    from scipy.ndimage import gaussian_filter

    solid = np.zeros((R, R, R), np.float32)
    solid[3:21, 5:11, 6:18] = 1.0
    solid[8:16, 11:15, 8:16] = 1.0
    probability = gaussian_filter(solid, 1.0)
    occupied = probability >= 0.5
    x = np.linspace(0, 1, R)[:, None, None, None]
    colors = np.broadcast_to(np.concatenate([x, 1 - x, np.full_like(x, 0.3)], -1),
                             (R, R, R, 3)).astype(np.float32)
    return probability, occupied, colors


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_stl_of_the_surface_is_watertight_and_reloads_with_its_triangles(tmp_path):
    probability, occupied, colors = _car_like()
    mesh = meshing.to_surface_mesh(probability, 0.5, occupied, colors)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NotWatertightWarning)
        path = write_geometry(mesh, tmp_path / "car.stl")
    loaded = trimesh.load(path)  # STL is a triangle soup: trimesh merges the vertices
    assert loaded.is_watertight and loaded.volume > 0
    assert len(loaded.faces) == len(mesh.faces)
    assert loaded.volume == pytest.approx(mesh.volume, rel=1e-5)


def test_stl_refuses_points(tmp_path):
    probability, occupied, colors = _car_like()
    with pytest.raises(ValueError, match="STL holds triangles"):
        write_geometry(meshing.to_points(occupied, colors), tmp_path / "car.stl")


def test_an_open_surface_written_as_stl_warns_with_its_file(tmp_path):
    open_box = trimesh.creation.box()
    open_box.update_faces(np.arange(len(open_box.faces)) > 1)  # one side removed
    assert unpaired_edges(open_box) == 4
    with pytest.warns(NotWatertightWarning, match="open.stl: not watertight"):
        write_geometry(open_box, tmp_path / "open.stl")


@pytest.mark.parametrize("max_faces", [1000, 300])
def test_simplified_surface_has_at_most_n_faces_and_the_nearest_voxels_colors(max_faces):
    probability, occupied, colors = _car_like()
    full = meshing.to_surface_mesh(probability, 0.5, occupied, colors)
    assert len(full.faces) > max_faces
    mesh = meshing.to_surface_mesh(probability, 0.5, occupied, colors, max_faces=max_faces)
    assert max_faces * 0.9 <= len(mesh.faces) <= max_faces
    assert mesh.volume == pytest.approx(full.volume, rel=0.1)  # still the same object
    # Colors: the nearest occupied voxel of each kept vertex, by brute force.
    centers = (np.argwhere(occupied) + 0.5) / R - 0.5
    distance = ((mesh.vertices[:, None] - centers[None]) ** 2).sum(-1)  # (V, N)
    ties = distance <= distance.min(axis=1, keepdims=True) + 1e-9  # equally near voxels
    error = np.abs(mesh.visual.vertex_colors[:, None, :3] - colors[occupied][None] * 255).max(-1)
    assert np.where(ties, error, np.inf).min(axis=1).max() <= 0.5 + 1e-6


def test_simplify_leaves_a_small_mesh_alone_and_refuses_too_few_faces():
    box = trimesh.creation.box()
    vertices, faces = meshing.simplify(box.vertices, box.faces, 100)
    assert vertices is box.vertices and faces is box.faces
    with pytest.raises(ValueError, match="at least 4"):
        meshing.simplify(box.vertices, box.faces, 3)


@pytest.mark.parametrize("suffix", [".glb", ".ply", ".obj", ".stl"])
def test_the_same_volumes_give_the_same_bytes(tmp_path, suffix):
    probability, occupied, colors = _car_like()
    digests = set()
    for run in range(2):
        mesh = meshing.to_surface_mesh(probability, 0.5, occupied, colors, max_faces=500)
        digests.add(_sha(write_geometry(mesh, tmp_path / f"{run}{suffix}")))
    assert len(digests) == 1


@pytest.mark.slow
def test_reconstruct_writes_a_watertight_stl_and_a_simplified_colored_glb(tmp_path):
    """The real command on a zoo model: the STL is closed; --faces keeps colors."""
    image = ROOT / "im2avatar_tf" / "demo" / "examples" / "car_blue.png"
    outputs = {}
    for fmt, extra in (("stl", []), ("glb", ["--faces", "400"]), ("glb", ["--faces", "400"])):
        out = tmp_path / f"{fmt}{len(outputs)}"
        subprocess.run([sys.executable, "run.py", "reconstruct", str(image), "--model", "car",
                        "--format", fmt, "--out", str(out), "--no-preview", *extra],
                       cwd=ROOT, check=True, capture_output=True, text=True)
        outputs[out.name] = out / f"car_blue.{fmt}"
    stl = trimesh.load(outputs["stl0"])
    assert stl.is_watertight and stl.volume > 0
    (glb,) = trimesh.load(outputs["glb1"], process=False).geometry.values()
    assert len(glb.faces) <= 400
    rgb = np.asarray(glb.visual.vertex_attributes["color"])[:, :3]
    assert rgb.std(axis=0).max() > 1  # colors, not one flat value
    assert _sha(outputs["glb1"]) == _sha(outputs["glb2"])  # same input, same bytes


@pytest.mark.slow
def test_reconstruct_refuses_faces_with_voxels(tmp_path):
    image = ROOT / "im2avatar_tf" / "demo" / "examples" / "car_blue.png"
    run = subprocess.run([sys.executable, "run.py", "reconstruct", str(image), "--model", "car",
                          "--out", str(tmp_path / "o"), "--geometry", "voxels", "--faces", "100"],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode != 0
    assert "--faces simplifies the smooth surface" in run.stderr
    assert not (tmp_path / "o").exists()
