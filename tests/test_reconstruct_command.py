"""`reconstruct` over a folder: a stopped run resumes (finished images are skipped), the rate
is printed. A tiny, randomly initialised model dir (nothing is trained)."""
import numpy as np
import pytest
from PIL import Image

from im2avatar_tf import cli


def _folder(tmp_path, count=3):
    images = tmp_path / "images"
    images.mkdir()
    for i in range(count):
        rng = np.random.default_rng(i)
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(images / f"{i}.png")
    return images


def _run(images, model_dir, out, *extra):
    return cli.main(["reconstruct", str(images), "--model", str(model_dir), "--out", str(out),
                     "--format", "ply", "--threshold", "0.5", "--views", "1", *extra])


@pytest.mark.slow
def test_a_second_run_skips_what_is_done_and_redoes_what_is_missing(model_dir, tmp_path, capsys):
    images, out = _folder(tmp_path), tmp_path / "out"
    assert _run(images, model_dir, out) == 0
    first = capsys.readouterr().out
    assert "reconstructed 3 of 3 image(s)" in first and "images per minute" in first
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}

    (out / "1_preview.png").unlink()  # stopped between the model and its preview
    assert _run(images, model_dir, out) == 0
    second = capsys.readouterr().out
    assert "2 of 3 image(s) already reconstructed" in second
    assert "reconstructed 1 of 1 image(s)" in second
    for name in ("0.ply", "0_preview.png", "2.ply"):
        assert (out / name).stat().st_mtime_ns == stamps[name]  # not written again
    assert (out / "1_preview.png").exists()

    assert _run(images, model_dir, out) == 0
    assert "3 of 3 image(s) already reconstructed" in capsys.readouterr().out
    assert _run(images, model_dir, out, "--overwrite") == 0
    assert "reconstructed 3 of 3 image(s)" in capsys.readouterr().out
    assert (out / "0.ply").stat().st_mtime_ns != stamps["0.ply"]


def test_no_preview_runs_resume_on_the_model_files_alone(model_dir, tmp_path, capsys):
    images, out = _folder(tmp_path, count=2), tmp_path / "out"
    assert _run(images, model_dir, out, "--no-preview", "--format", "h5") == 0
    capsys.readouterr()
    (out / "0_color.h5").unlink()
    assert _run(images, model_dir, out, "--no-preview", "--format", "h5") == 0
    assert "1 of 2 image(s) already reconstructed" in capsys.readouterr().out
    assert (out / "0_color.h5").exists()
