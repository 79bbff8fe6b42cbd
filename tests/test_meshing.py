"""Meshes from volumes and the colored writers (no TensorFlow here).

Expected colors are computed independently of the code under test: by brute force over
voxels, and with the sRGB curve written out below.
"""
import json
import struct

import numpy as np
import pytest
import trimesh

from im2avatar_tf import meshing
from im2avatar_tf.voxels import voxel_centers
from im2avatar_tf.framing import crop_to_foreground
from im2avatar_tf.mesh_io import write_geometry

R = 12


def _volumes(seed=0):
    """A blob of occupied voxels (two boxes) and random colors."""
    rng = np.random.default_rng(seed)
    occupied = np.zeros((R, R, R), bool)
    occupied[2:6, 3:7, 4:9] = True
    occupied[6:9, 5:7, 5:7] = True  # touches the first box: shared faces are hidden
    probability = np.where(occupied, 0.9, 0.1).astype(np.float32)
    colors = rng.random((R, R, R, 3)).astype(np.float32)
    return occupied, probability, colors


def _srgb_to_linear(c):
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _load(path):
    """Reload a written file; a glb comes back as a scene holding our one mesh."""
    loaded = trimesh.load(path, process=False)
    if isinstance(loaded, trimesh.Scene):
        (loaded,) = loaded.geometry.values()
    return loaded


def _world_to_voxel(points):
    """World point -> index of the voxel containing it (center of voxel i: (i + .5) / R - .5)."""
    return np.floor((points + 0.5) * R).astype(int)


def test_points_sit_at_the_voxel_centers_of_the_training_voxelizer():
    occupied, _, colors = _volumes()
    points = meshing.to_points(occupied, colors)
    np.testing.assert_allclose(points.vertices, voxel_centers(R)[occupied], atol=1e-12)


def test_voxel_mesh_is_closed_with_each_voxels_color():
    occupied, _, colors = _volumes()
    mesh = meshing.to_voxel_mesh(occupied, colors)
    assert mesh.is_watertight
    assert mesh.volume == pytest.approx(occupied.sum() / R ** 3)  # positive: faces point out
    # Every face lies on its voxel's boundary: step half a voxel inwards from its centroid.
    inside = mesh.triangles_center - 0.5 / R * mesh.face_normals
    voxel = _world_to_voxel(inside)
    assert occupied[tuple(voxel.T)].all()
    expected = np.round(colors[tuple(voxel.T)] * 255)
    np.testing.assert_array_equal(mesh.visual.face_colors[:, :3], expected)
    # Shared vertices: one vertex per lattice corner.
    assert len(np.unique(np.round(mesh.vertices * R * 2), axis=0)) == len(mesh.vertices)


def test_surface_mesh_is_closed_and_takes_the_nearest_occupied_voxels_color():
    axis = np.arange(R) + 0.5 - R / 2
    radius = np.sqrt(sum(a ** 2 for a in np.meshgrid(axis, axis, axis, indexing="ij")))
    probability = np.clip(1.0 - radius / 8.0, 0.0, 1.0)  # a ball: 0.5 at radius 4 voxels
    occupied = probability >= 0.5
    colors = np.random.default_rng(1).random((R, R, R, 3))
    mesh = meshing.to_surface_mesh(probability, 0.5, occupied, colors)
    assert mesh.is_watertight
    assert mesh.volume == pytest.approx(4 / 3 * np.pi * (4 / R) ** 3, rel=0.1)
    # Brute force: the nearest occupied voxel center of every vertex.
    centers = (np.argwhere(occupied) + 0.5) / R - 0.5
    nearest = np.argmin(((mesh.vertices[:, None] - centers[None]) ** 2).sum(-1), axis=1)
    voxel_colors = colors[occupied][nearest]
    assert np.abs(mesh.visual.vertex_colors[:, :3] - voxel_colors * 255).max() <= 0.5 + 1e-6


def test_surface_mesh_is_closed_where_the_object_touches_the_border():
    probability = np.zeros((R, R, R), np.float32)
    probability[:, 3:9, 3:9] = 1.0  # a bar through the whole volume
    mesh = meshing.to_surface_mesh(probability, 0.8, probability >= 0.8, np.ones((R, R, R, 3)))
    assert mesh.is_watertight


def test_empty_prediction_names_the_fix():
    probability = np.full((R, R, R), 0.3, np.float32)
    with pytest.raises(meshing.EmptyPredictionError, match="lower the threshold"):
        meshing.require_occupied(probability >= 0.8, probability, 0.8)


@pytest.mark.parametrize("suffix", [".ply", ".obj", ".glb"])
def test_each_format_reloads_with_the_expected_vertex_colors(tmp_path, suffix):
    occupied, probability, colors = _volumes()
    mesh = meshing.to_surface_mesh(probability, 0.5, occupied, colors)
    path = write_geometry(mesh, tmp_path / f"model{suffix}")
    loaded = _load(path)
    if suffix == ".glb":
        rgba = loaded.visual.vertex_attributes["color"]  # kept beside the material
        expected = np.round(_srgb_to_linear(mesh.visual.vertex_colors[:, :3] / 255) * 255)
    else:
        rgba = loaded.visual.vertex_colors
        expected = mesh.visual.vertex_colors[:, :3]
    # Match vertices by position: loaders may reorder them.
    _, index = trimesh.proximity.cKDTree(mesh.vertices).query(loaded.vertices)
    assert np.abs(np.asarray(rgba)[:, :3].astype(int) - expected[index]).max() <= 1
    assert len(loaded.faces) == len(mesh.faces)


def test_glb_has_color_0_and_a_white_material_that_uses_it(tmp_path):
    occupied, probability, colors = _volumes()
    path = write_geometry(meshing.to_surface_mesh(probability, 0.5, occupied, colors),
                          tmp_path / "model.glb")
    data = path.read_bytes()
    assert data[:4] == b"glTF"
    length, kind = struct.unpack("<II", data[12:20])
    assert kind == 0x4E4F534A  # "JSON"
    gltf = json.loads(data[20:20 + length])
    primitive = gltf["meshes"][0]["primitives"][0]
    assert "COLOR_0" in primitive["attributes"]
    material = gltf["materials"][primitive["material"]]
    assert material["pbrMetallicRoughness"]["baseColorFactor"] == [1.0, 1.0, 1.0, 1.0]
    assert material["pbrMetallicRoughness"]["metallicFactor"] == 0.0
    assert "baseColorTexture" not in material["pbrMetallicRoughness"]


@pytest.mark.parametrize("suffix", [".ply", ".obj", ".glb"])
def test_voxel_mesh_face_colors_survive_as_exact_vertex_colors(tmp_path, suffix):
    occupied, _, colors = _volumes()
    mesh = meshing.to_voxel_mesh(occupied, colors)
    loaded = _load(write_geometry(mesh, tmp_path / f"voxels{suffix}"))
    rgba = (loaded.visual.vertex_attributes["color"] if suffix == ".glb"
            else loaded.visual.vertex_colors)
    # Each loaded face's three vertices carry its voxel's color.
    inside = loaded.triangles_center - 0.5 / R * loaded.face_normals
    expected = np.round(colors[tuple(_world_to_voxel(inside).T)] * 255)  # sRGB bytes
    if suffix == ".glb":
        expected = np.round(_srgb_to_linear(expected / 255) * 255)
    face_rgb = np.asarray(rgba)[loaded.faces][..., :3].astype(float)  # (F, 3 corners, 3)
    assert np.abs(face_rgb - expected[:, None, :]).max() <= 1


def test_points_write_with_colors(tmp_path):
    occupied, _, colors = _volumes()
    points = meshing.to_points(occupied, colors)
    loaded = _load(write_geometry(points, tmp_path / "points.ply"))
    assert len(loaded.vertices) == occupied.sum()
    voxel = _world_to_voxel(loaded.vertices)
    np.testing.assert_array_equal(loaded.colors[:, :3], np.round(colors[tuple(voxel.T)] * 255))


def test_unknown_suffix_is_a_clear_error(tmp_path):
    occupied, _, colors = _volumes()
    with pytest.raises(ValueError, match=r"\.ply, \.obj, \.glb, \.stl"):
        write_geometry(meshing.to_points(occupied, colors), tmp_path / "model.off")


def test_crop_to_foreground_keeps_the_object_and_a_margin():
    image = np.full((100, 200, 3), 250, np.uint8)
    image[40:60, 120:150] = (200, 30, 30)  # 20 x 30 object
    crop = crop_to_foreground(image, margin=0.1)  # 3 pixels kept on each side
    assert crop.shape == (26, 36, 3)
    assert (crop[3:23, 3:33] == (200, 30, 30)).all()


def test_crop_to_foreground_uses_alpha_when_there_is_one():
    image = np.zeros((50, 50, 4), np.uint8)
    image[10:20, 5:45] = (0, 0, 0, 255)  # black object on transparent black
    assert crop_to_foreground(image, margin=0.0).shape == (10, 40, 4)
    blank = np.full((30, 30, 3), 7, np.uint8)
    assert crop_to_foreground(blank) is blank  # nothing to crop to: unchanged


def test_result_from_released_prediction_previews_voxels_on_white():
    """`Result.from_prediction` reads the 9-channel color layout; its voxel preview on white
    shows the evaluation colors (confidence 1: the regressed color, wherever the flow points)."""
    from im2avatar_tf.images import WHITE_RGB
    from im2avatar_tf.result import Result

    occupied, probability, _ = _volumes()
    color9 = np.zeros((R, R, R, 9), np.float32)
    color9[..., 0:3] = (0.2, 0.6, 0.4)  # regressed
    color9[..., 3] = 1.0  # w: trust the regressed color
    color9[..., 4:6] = 0.5  # flow: the image center
    image = np.full((32, 32, 3), 0.9, np.float32)
    result = Result.from_prediction(image, probability, color9)
    np.testing.assert_allclose(result.colors[occupied],
                               np.broadcast_to([0.2, 0.6, 0.4], (occupied.sum(), 3)), atol=1e-6)
    assert not result.colors[~occupied].any()
    sheet = result.preview(views=2, size=64, geometry="voxels", background=WHITE_RGB)
    assert sheet.shape == (64, 3 * 64, 3) and sheet.dtype == np.uint8
    assert np.all(sheet[:, :64] == 230)  # the input, 0.9 rounded (not truncated to 229)
    assert tuple(sheet[0, -1]) == WHITE_RGB  # renders on white
    assert (sheet[:, 64:] != 255).any(axis=-1).mean() > 0.01  # the voxels are there
