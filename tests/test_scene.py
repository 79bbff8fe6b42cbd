"""Camera projection and ray-cast rendering, against values computed by hand."""
import math

import numpy as np
import pytest
import trimesh

from im2avatar_tf.scene.camera import Camera, turntable_cameras
from im2avatar_tf.scene.render import render, turntable
from im2avatar_tf.scene.surface import surface_colors


def test_projection_of_known_points_at_zero_elevation():
    d, fov, size = 2.0, 40.0, 100
    half = d * math.tan(math.radians(fov) / 2)  # half-width of the view at the origin's depth
    cam = Camera.turntable(0.0, elevation_deg=0.0, distance=d, fov_deg=fov, size=size)
    pts = np.array([[0.0, 0.0, 0.0], [0.5 * half, 0.0, 0.0], [0.0, 0.5 * half, 0.0],
                    [0.0, 0.0, 1.0]])  # last one: 1 unit nearer the camera (on the axis)
    uv, depth = cam.project(pts)
    np.testing.assert_allclose(uv, [[0.5, 0.5], [0.75, 0.5], [0.5, 0.25], [0.5, 0.5]], atol=1e-12)
    np.testing.assert_allclose(depth, [2.0, 2.0, 2.0, 1.0])
    # Pixel = floor(uv * size): x to the right is column 75, y up is row 25.
    assert tuple(np.floor(uv[1] * size).astype(int)) == (75, 50)
    assert tuple(np.floor(uv[2] * size).astype(int)) == (50, 25)


def test_turntable_azimuth_turns_counter_clockwise_seen_from_above():
    cam = Camera.turntable(math.pi / 2, elevation_deg=0.0, distance=3.0)
    np.testing.assert_allclose(cam.position, [3.0, 0.0, 0.0], atol=1e-12)
    # Looking from +x towards -x with y up, world -z is on the image's right.
    uv, _ = cam.project(np.array([[0.0, 0.0, -0.3]]))
    assert uv[0, 0] > 0.5 and abs(uv[0, 1] - 0.5) < 1e-12


def test_elevation_looks_down_and_matrices_agree_with_project():
    cam = Camera.turntable(0.7, elevation_deg=30.0)
    assert cam.position[1] > 0  # above the object
    pts = np.random.default_rng(0).uniform(-0.5, 0.5, (20, 3))
    hom = (cam.extrinsics @ np.c_[pts, np.ones(20)].T)[:3]  # (3, N) camera frame
    pix = cam.intrinsics @ hom
    uv_matrix = (pix[:2] / pix[2]).T / cam.size
    uv, depth = cam.project(pts)
    np.testing.assert_allclose(uv, uv_matrix, atol=1e-12)
    np.testing.assert_allclose(depth, hom[2], atol=1e-12)
    assert Camera.from_dict(cam.to_dict()) == cam


def test_rays_pass_through_pixel_centers():
    cam = Camera.turntable(1.1, size=8)
    origins, dirs = cam.rays()
    assert origins.shape == dirs.shape == (64, 3)
    uv, _ = cam.project(origins + 2.0 * dirs)  # a point along each ray
    rows, cols = np.divmod(np.arange(64), 8)  # row-major order
    np.testing.assert_allclose(uv * 8, np.c_[cols + 0.5, rows + 0.5], atol=1e-9)


def test_render_silhouette_depth_and_color_of_a_sphere():
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=0.1)
    sphere.apply_translation([0.2, 0.1, 0.0])
    sphere.visual.face_colors = [255, 0, 0, 255]
    cam = Camera.turntable(0.0, elevation_deg=0.0, distance=2.0, size=64)
    view = render(sphere, cam, shading="flat")
    assert view.rgb.shape == (64, 64, 3) and view.rgb.dtype == np.uint8
    rows, cols = np.nonzero(view.mask)
    uv, _ = cam.project(np.array([[0.2, 0.1, 0.0]]))
    np.testing.assert_allclose([cols.mean() + 0.5, rows.mean() + 0.5], uv[0] * 64, atol=0.5)
    assert np.all(view.rgb[view.mask] == [255, 0, 0])
    assert np.all(view.rgb[~view.mask] == [245, 245, 245])
    assert np.all(np.isinf(view.depth[~view.mask]))
    # The nearest point of the sphere is 0.1 in front of its center (depth 2.0).
    assert view.depth[view.mask].min() == pytest.approx(1.9, abs=0.01)


def test_lambert_shading_darkens_but_keeps_hue():
    box = trimesh.creation.box((0.5, 0.5, 0.5))
    box.visual.face_colors = [0, 200, 0, 255]
    cam = Camera.turntable(0.5, size=48)
    lit = render(box, cam, "lambert").rgb[render(box, cam).mask]
    assert lit[:, 1].max() <= 200 and lit[:, 1].min() > 50
    assert np.all(lit[:, [0, 2]] == 0)
    assert len(np.unique(lit[:, 1])) >= 2  # faces at different angles differ


def test_surface_colors_wrap_tiled_texture_per_point():
    # One quad with u running 0..4: a 2-texel (black | white) texture tiles 4 times.
    from PIL import Image

    verts = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=float)
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    uv = np.array([[0, 0], [4, 0], [4, 1], [0, 1]], dtype=float)
    tex = Image.fromarray(np.array([[[0, 0, 0], [255, 255, 255]]], dtype=np.uint8))
    mesh = trimesh.Trimesh(verts, faces, visual=trimesh.visual.TextureVisuals(uv=uv, image=tex),
                           process=False)
    xs = np.array([0.05, 0.2, 0.3, 0.45, 0.55, 0.7, 0.8, 0.95])  # u = 4x: 0.2, 0.8, 1.2, ...
    pts = np.c_[xs, np.full(8, 0.1), np.zeros(8)]
    colors = surface_colors(mesh, pts, np.zeros(8, dtype=int))  # all on face 0 (y < x)
    expected = np.where(((4 * xs) % 1.0) < 0.5, 0.0, 1.0)
    np.testing.assert_allclose(colors[:, 0], expected)


def test_surface_colors_vertex_and_scene_parts():
    a = trimesh.creation.box((0.2, 0.2, 0.2))
    a.visual.vertex_colors = [0, 0, 255, 255]
    b = trimesh.creation.box((0.2, 0.2, 0.2))
    b.apply_translation([0.5, 0, 0])
    b.visual.face_colors = [255, 255, 0, 255]
    scene = trimesh.Scene([a, b])
    pts = np.array([a.triangles_center[0], b.triangles_center[3]])
    faces = np.array([0, len(a.faces) + 3])
    np.testing.assert_allclose(surface_colors(scene, pts, faces), [[0, 0, 1], [1, 1, 0]])


def test_turntable_frames_a_large_object_in_every_view():
    # A sphere of radius 0.7 (normalized chairs, tables, cars, guitars fit in it) is never clipped.
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=0.7)
    for img in turntable(sphere, views=4, size=32):
        edge = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]])
        assert np.all(edge == 245)
    assert len(turntable_cameras(12)) == 12
