"""Several views of one object fused into one model (`fusion`, `predict(fuse=True)`,
`reconstruct --fuse`), on volumes made here and on the zoo car with its demo views."""
import numpy as np
import pytest

from im2avatar_tf import cli
from im2avatar_tf.colors import final_colors
from im2avatar_tf.fusion import fuse, fused_colors
from im2avatar_tf.result import Result

R = 8


def _view(seed, occupancy=None, confidence=None):
    rng = np.random.default_rng(seed)
    return Result(
        image=rng.random((16, 16, 3), dtype=np.float32),
        occupancy=rng.random((R,) * 3, dtype=np.float32) if occupancy is None else occupancy,
        regressed=rng.random((R,) * 3 + (3,), dtype=np.float32),
        confidence=(rng.random((R,) * 3 + (1,), dtype=np.float32) if confidence is None
                    else confidence),
        flow=rng.random((R,) * 3 + (2,), dtype=np.float32),
        blended=rng.random((R,) * 3 + (3,), dtype=np.float32), threshold=0.5, name=f"v{seed}")


def test_occupancy_is_the_mean_and_one_view_is_itself():
    views = [_view(s) for s in range(3)]
    fused = fuse(views)
    np.testing.assert_allclose(fused.occupancy, np.mean([v.occupancy for v in views], 0),
                               rtol=1e-6)
    assert fuse(views[:1]) is views[0]
    assert fused.name == "v0_fused" and fused.threshold == 0.5


def test_a_voxel_takes_its_color_from_the_views_that_see_it():
    seen = np.zeros((R,) * 3 + (1,), np.float32)  # w = 0: this view sees every voxel
    unseen = np.ones((R,) * 3 + (1,), np.float32)  # w = 1: this one sees none
    a, b = _view(0, confidence=seen), _view(1, confidence=unseen)
    expected = final_colors(a.regressed, a.confidence, a.flow, a.image, t=a.color_t)
    np.testing.assert_allclose(fused_colors([a, b]), expected, atol=1e-6)
    np.testing.assert_allclose(fused_colors([b, a]), expected, atol=1e-6)  # order-free
    # Seen by nobody: the mean of the regressed colors.
    np.testing.assert_allclose(fused_colors([b, _view(2, confidence=unseen)]),
                               (b.regressed + _view(2).regressed) / 2, atol=1e-6)


def test_the_fused_result_saves_and_reads_its_colors_back_as_any_result(tmp_path):
    views = [_view(s) for s in range(4)]
    fused = fuse(views)
    mask = fused.occupied
    np.testing.assert_allclose(fused.colors[mask], fused_colors(views)[mask], atol=1e-6)
    fused.save(tmp_path / "f.h5")  # the released format: colors as regressed, w = 1
    assert (tmp_path / "f_color.h5").exists()


def test_different_resolutions_do_not_fuse():
    small = Result(image=np.zeros((8, 8, 3), np.float32), occupancy=np.zeros((4,) * 3),
                   regressed=np.zeros((4,) * 3 + (3,)), confidence=np.zeros((4,) * 3 + (1,)),
                   flow=np.zeros((4,) * 3 + (2,)), blended=np.zeros((4,) * 3 + (3,)))
    with pytest.raises(ValueError, match="different resolutions"):
        fuse([_view(0), small])


def test_reconstruct_fuse_writes_one_model_from_the_views(model_dir, tmp_path, capsys):
    from PIL import Image

    paths = []
    for i in range(3):
        rng = np.random.default_rng(i)
        paths.append(tmp_path / f"view{i}.png")
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(paths[-1])
    out = tmp_path / "out"
    code = cli.main(["reconstruct", *map(str, paths), "--model", str(model_dir), "--out",
                     str(out), "--fuse", "--format", "ply", "--threshold", "0.5", "--views", "1"])
    printed = capsys.readouterr().out
    assert code == 0 and "reconstructed 1 model from 3 view(s)" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "view0_fused.ply", "view0_fused_input.png", "view0_fused_preview.png"]
    code = cli.main(["reconstruct", *map(str, paths), "--model", str(model_dir), "--out",
                     str(out), "--fuse", "--format", "ply", "--threshold", "0.5"])
    assert code == 0 and "3 of 3 image(s) already reconstructed" in capsys.readouterr().out
