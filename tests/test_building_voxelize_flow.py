"""Colored shell voxelization and flow ground truth, against independently computed values."""
import numpy as np
import pytest
import trimesh

from im2avatar_tf.scene.camera import Camera
from im2avatar_tf.building.flow import SIMILAR_COLOR, flow_volume
from im2avatar_tf.building.voxelize import colored_shell
from im2avatar_tf.voxels import voxel_centers, voxel_index
from im2avatar_tf.scene.render import render

# Outward normal -> RGB 0..255 of that cube face; the three colors meeting at any corner are
# linearly independent, so a corner's mixture weights can be solved for.
FACE_COLORS = {
    (1, 0, 0): (255, 0, 0), (-1, 0, 0): (0, 255, 0), (0, 1, 0): (0, 0, 255),
    (0, -1, 0): (255, 255, 0), (0, 0, 1): (128, 128, 128), (0, 0, -1): (51, 153, 255),
}


def colored_cube(lo: float, hi: float) -> trimesh.Trimesh:
    """Axis-aligned cube [lo, hi]^3, each face a solid color from FACE_COLORS."""
    cube = trimesh.creation.box(bounds=[[lo] * 3, [hi] * 3])
    normals = np.round(cube.face_normals).astype(int)
    cube.visual.face_colors = [FACE_COLORS[tuple(n)] + (255,) for n in normals]
    return cube


@pytest.mark.parametrize("r", [16, 32])
def test_cube_gives_expected_shell_and_colors(r):
    # Faces through voxel centers of indices a and b: the shell is the box's boundary layer,
    # a face voxel has its face's color, an edge voxel the mean of two faces (equal areas in
    # it), a corner voxel the mean of three.
    a, b = r // 4, 3 * r // 4
    lo, hi = -0.5 + (a + 0.5) / r, -0.5 + (b + 0.5) / r
    shell = colored_shell(colored_cube(lo, hi), r)

    i, j, k = np.meshgrid(*[np.arange(r)] * 3, indexing="ij")
    inside = [(x >= a) & (x <= b) for x in (i, j, k)]
    box = inside[0] & inside[1] & inside[2]
    on = {(axis, side): (x == (b if side > 0 else a))
          for axis, x in enumerate((i, j, k)) for side in (1, -1)}
    expected_shell = box & np.any([m for m in on.values()], axis=0)
    np.testing.assert_array_equal(shell.occupied, expected_shell)

    expected = np.zeros((r, r, r, 3))
    count = np.zeros((r, r, r))
    for (axis, side), mask in on.items():
        normal = [0, 0, 0]
        normal[axis] = side
        m = mask & box
        expected[m] += np.array(FACE_COLORS[tuple(normal)]) / 255.0
        count[m] += 1
    expected = np.where(count[..., None] > 0, expected / np.maximum(count, 1)[..., None], -1.0)
    # Face and edge voxels: exact (one face; two faces with equal areas inside the voxel).
    exact = count != 3
    np.testing.assert_allclose(shell.color[exact], expected[exact], atol=1e-5)
    # Corner voxels: a quarter voxel of each of three faces; the lattice weighs them only
    # approximately equally (a few samples each), so check a proper mixture of all three.
    corners = np.argwhere(count == 3)
    assert len(corners) == 8
    for c in corners:
        faces = [np.array(FACE_COLORS[n]) / 255.0 for n in _corner_normals(c, a, b)]
        weights = np.linalg.solve(np.stack(faces, 1), shell.color[tuple(c)])
        assert weights.sum() == pytest.approx(1.0, abs=1e-5) and weights.min() > 0.1


def _corner_normals(c, a, b):
    out = []
    for axis in range(3):
        n = [0, 0, 0]
        n[axis] = 1 if c[axis] == b else -1
        out.append(tuple(n))
    return out


def test_thin_and_sliver_geometry_leaves_no_holes():
    # A thin rod (0.2 voxel across) along x through a row of voxel centers, and a single
    # long sliver triangle: every voxel they pass through is occupied, no other.
    r = 32
    y = z = -0.5 + (10 + 0.5) / r
    rod = trimesh.creation.cylinder(radius=0.1 / r, segment=[[-0.4, y, z], [0.4, y, z]],
                                    sections=6)
    shell = colored_shell(rod, r)
    xs = voxel_index(np.array([[-0.4, y, z], [0.4, y, z]]), r)[:, 0]
    expected = np.zeros((r, r, r), bool)
    expected[xs[0]:xs[1] + 1, 10, 10] = True
    np.testing.assert_array_equal(shell.occupied, expected)

    y2 = -0.5 + (20 + 0.5) / r
    sliver = trimesh.Trimesh([[-0.45, y2, 0.0], [0.45, y2, 0.0], [0.45, y2 + 1e-4, 0.0]],
                             [[0, 1, 2]], process=False)
    occupied = colored_shell(sliver, r).occupied
    cols = voxel_index(np.array([[-0.45, y2, 0.0], [0.45, y2, 0.0]]), r)
    assert occupied.sum() == cols[1, 0] - cols[0, 0] + 1
    assert occupied[cols[0, 0]:cols[1, 0] + 1, 20, cols[0, 2]].all()


def test_voxel_centers_axis_order():
    c = voxel_centers(4)
    assert c.shape == (4, 4, 4, 3)
    np.testing.assert_allclose(c[0, 1, 3], [-0.375, -0.125, 0.375])  # (x, y, z) = (i, j, k)
    np.testing.assert_array_equal(voxel_index(c.reshape(-1, 3), 4).reshape(4, 4, 4, 3),
                                  np.stack(np.meshgrid(*[np.arange(4)] * 3, indexing="ij"), -1))


@pytest.fixture(scope="module")
def cube_view():
    r = 32
    cube = colored_cube(-0.3, 0.3)
    # Make the back face (-z) red like the +x face: its hidden voxels have a match in view.
    back = np.all(np.round(cube.face_normals) == [0, 0, -1], axis=1)
    colors = cube.visual.face_colors.copy()
    colors[back] = [255, 0, 0, 255]
    cube.visual.face_colors = colors
    shell = colored_shell(cube, r)
    cam = Camera.turntable(0.4, elevation_deg=20.0, size=64)
    view = render(cube, cam)
    return shell, cam, view, flow_volume(shell.color, cam, view)


def test_flow_is_minus_one_exactly_off_the_surface(cube_view):
    shell, _, _, flow = cube_view
    assert flow.shape == shell.color.shape[:3] + (2,) and flow.dtype == np.float32
    np.testing.assert_array_equal(flow[..., 0] > -0.5, shell.occupied)
    assert np.all(flow[~shell.occupied] == -1.0)
    assert flow[shell.occupied].min() >= 0.0 and flow[shell.occupied].max() < 1.0


def test_visible_voxels_flow_equals_their_projection(cube_view):
    shell, cam, view, flow = cube_view
    r = shell.resolution
    # Voxels of the +z face (facing the camera at azimuth 0.4 rad) are visible.
    k = np.nonzero(shell.occupied.any(axis=(0, 1)))[0].max()
    idx = np.argwhere(shell.occupied[:, :, k])
    centers = voxel_centers(r)[idx[:, 0], idx[:, 1], k]
    uv, _ = cam.project(centers)
    np.testing.assert_allclose(flow[idx[:, 0], idx[:, 1], k], uv, atol=1e-6)


def test_occluded_voxels_flow_to_the_closest_similar_pixel(cube_view):
    shell, cam, view, flow = cube_view
    r = shell.resolution
    # Voxels of the back face interior (-z, now red) are hidden from this camera.
    k = np.nonzero(shell.occupied.any(axis=(0, 1)))[0].min()
    face = np.argwhere(shell.occupied[:, :, k])  # (n, 2) i, j of the back face
    lo, hi = face.min(axis=0), face.max(axis=0)
    inner = face[np.all((face > lo) & (face < hi), axis=1)]  # away from the cube's edges
    idx = np.c_[inner, np.full(len(inner), k)]
    assert len(idx) > 20
    rows, cols = np.nonzero(view.mask)
    albedo = view.albedo[rows, cols]
    for i, j, kk in idx[::7]:
        pixel = np.floor(flow[i, j, kk] * cam.size).astype(int)  # (col, row)
        color = shell.color[i, j, kk]
        np.testing.assert_allclose(color, [1, 0, 0], atol=1e-6)
        assert view.mask[pixel[1], pixel[0]]
        assert np.linalg.norm(view.albedo[pixel[1], pixel[0]] - color) <= SIMILAR_COLOR
        # Independently: no similar pixel is closer to the voxel's projection.
        proj = cam.project(voxel_centers(r)[i, j, kk][None])[0][0] * cam.size
        similar = np.linalg.norm(albedo - color, axis=1) <= SIMILAR_COLOR
        dist = np.hypot(cols[similar] + 0.5 - proj[0], rows[similar] + 0.5 - proj[1])
        chosen = np.hypot(pixel[0] + 0.5 - proj[0], pixel[1] + 0.5 - proj[1])
        assert chosen <= dist.min() + 1e-9


def test_occluded_voxel_without_similar_color_falls_back_to_nearest_foreground(cube_view):
    shell, cam, view, flow = cube_view
    # The bottom face (-y, yellow) is never seen from above and no pixel is yellow.
    j = np.nonzero(shell.occupied.any(axis=(0, 2)))[0].min()
    i = k = shell.resolution // 2  # the middle of the bottom face
    assert np.allclose(shell.color[i, j, k], [1, 1, 0])
    pixel = np.floor(flow[i, j, k] * cam.size).astype(int)
    proj = cam.project(voxel_centers(shell.resolution)[i, j, k][None])[0][0] * cam.size
    rows, cols = np.nonzero(view.mask)
    nearest = np.hypot(cols + 0.5 - proj[0], rows + 0.5 - proj[1]).min()
    assert view.mask[pixel[1], pixel[0]]
    assert np.hypot(pixel[0] + 0.5 - proj[0], pixel[1] + 0.5 - proj[1]) == pytest.approx(nearest)
