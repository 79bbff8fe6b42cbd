"""Photos with a background: the cut-out (GrabCut from the border), a user's own alpha kept,
the coverage warnings, the framing ratio; the real `reconstruct --remove-background`."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from im2avatar_tf import background as bg
from im2avatar_tf.framing import crop_to_foreground

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "im2avatar_tf" / "demo" / "examples" / "car_blue.png"


def _object_and_mask():
    """A demo car render (plain light background) and its true object mask."""
    image = np.asarray(Image.open(EXAMPLE).convert("RGB"))
    mask = np.abs(image.astype(int) - image[0, 0].astype(int)).max(-1) > 12
    return image, mask


def _on_bricks(image, mask):
    """The object composited onto scikit-image's brick photograph."""
    from skimage import data

    bricks = np.repeat(data.brick()[..., None], 3, axis=-1)
    bricks = np.asarray(Image.fromarray(bricks).resize(image.shape[1::-1]))
    return np.where(mask[..., None], image, bricks)


def test_grabcut_recovers_an_object_on_a_textured_photo():
    image, mask = _object_and_mask()
    rgba = bg.remove_background(_on_bricks(image, mask))
    assert rgba.shape == image.shape[:2] + (4,) and rgba.dtype == np.uint8
    found = rgba[..., 3] > 0
    assert (found & mask).sum() / (found | mask).sum() > 0.95
    np.testing.assert_array_equal(rgba[..., :3], _on_bricks(image, mask))  # colors untouched


def test_an_image_with_its_own_alpha_keeps_it():
    image, mask = _object_and_mask()
    rgba = np.concatenate([_on_bricks(image, mask), np.where(mask, 255, 0)[..., None]], -1)
    rgba = rgba.astype(np.uint8)
    assert bg.has_real_alpha(rgba)
    np.testing.assert_array_equal(bg.remove_background(rgba), rgba)
    opaque = rgba.copy()
    opaque[..., 3] = 255  # an alpha channel that says nothing: segmented like RGB
    assert not bg.has_real_alpha(opaque)
    assert (bg.remove_background(opaque)[..., 3] == 0).any()


def test_the_cut_out_is_deterministic():
    image, mask = _object_and_mask()
    photo = _on_bricks(image, mask)
    np.testing.assert_array_equal(bg.remove_background(photo), bg.remove_background(photo))


def test_coverage_warnings_name_the_image():
    rgba = np.zeros((100, 100, 4), np.uint8)
    rgba[50, 50, 3] = 255  # 0.01 %
    assert "photo.jpg: the object covers 0.0%" in bg.coverage_warning(rgba, "photo.jpg")
    rgba[..., 3] = 255
    assert "background was probably kept" in bg.coverage_warning(rgba, "photo.jpg")
    rgba[:20, :, 3] = 0
    assert bg.coverage_warning(rgba, "photo.jpg") is None


def test_foreground_ratio_frames_the_object_at_that_fraction():
    image, mask = _object_and_mask()
    rgba = np.concatenate([image, np.where(mask, 255, 0)[..., None]], -1).astype(np.uint8)
    for ratio in (0.5, 0.7, 0.9):
        framed = crop_to_foreground(rgba, margin=bg.foreground_margin(ratio))
        rows = np.flatnonzero((framed[..., 3] > 0).any(1))
        cols = np.flatnonzero((framed[..., 3] > 0).any(0))
        longer = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
        # the frame is the crop's longer side (preprocess pads it square)
        assert longer / max(framed.shape[:2]) == pytest.approx(ratio, abs=0.03)
    with pytest.raises(ValueError, match="foreground ratio"):
        bg.foreground_margin(0)


def test_a_tiny_image_is_a_clear_error():
    with pytest.raises(ValueError, match="too small"):
        bg.foreground_mask(np.zeros((3, 3, 3), np.uint8))


@pytest.mark.slow
def test_reconstruct_remove_background_on_a_photo(tmp_path):
    image, mask = _object_and_mask()
    photo = tmp_path / "car_on_bricks.jpg"
    Image.fromarray(_on_bricks(image, mask)).save(photo, quality=95)
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "run.py", "reconstruct", str(photo), "--model", "car",
                          "--remove-background", "--out", str(out), "--no-preview"],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    seen = np.asarray(Image.open(out / "car_on_bricks_input.png").convert("RGB")).astype(int)
    # What the network saw: the car on the plain training background, no bricks left.
    plain = np.abs(seen - 245).max(-1) <= 12
    assert 0.4 < plain.mean() < 0.9
    assert plain[0].all() and plain[-1].all() and plain[:, 0].all() and plain[:, -1].all()
    assert (out / "car_on_bricks.glb").stat().st_size > 0


def test_the_python_api_removes_the_background_with_a_warning_for_a_lost_object():
    from im2avatar_tf.inference import ForegroundWarning, Reconstructor

    image, mask = _object_and_mask()
    model = Reconstructor.from_pretrained("car")
    result = model.predict(_on_bricks(image, mask), remove_background=True)
    seen = np.rint(result.image * 255).astype(int)
    assert np.abs(seen[0] - 245).max() <= 12  # the bricks are gone from the input it saw
    with pytest.warns(ForegroundWarning, match="image 0: the object covers"):
        model.predict(np.full((64, 64, 3), 128, np.uint8), remove_background=True)
