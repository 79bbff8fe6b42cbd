"""The Python API and the `reconstruct` command on a tiny, randomly initialised model dir
(the model-dir format: config.json + shape.keras + color.keras; nothing is trained)."""
import h5py
import numpy as np
import pytest
from PIL import Image

from im2avatar_tf import cli, pretrained
from im2avatar_tf.images import BACKGROUND_RGB
from im2avatar_tf.inference import Im2Avatar, Reconstructor, Result
from im2avatar_tf.meshing import EmptyPredictionError


@pytest.fixture(scope="module")
def rec(model_dir):
    return Reconstructor.from_dir(model_dir)


def _photo(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_single_image_gives_a_result_with_the_documented_shapes(rec):
    result = rec.predict(_photo(64, 64), threshold=0.5)
    r, s = rec.volume_size, rec.image_size
    assert isinstance(result, Result)
    assert result.image.shape == (s, s, 3) and result.occupancy.shape == (r, r, r)
    assert result.color_prediction().shape == (r, r, r, 9)
    assert 0.0 <= result.occupancy.min() and result.occupancy.max() <= 1.0


def test_the_model_object_saves_loads_and_predicts_as_its_reconstructor(rec, model_dir,
                                                                         tmp_path):
    model = Im2Avatar.from_dir(model_dir)
    assert list(model.networks) == ["shape", "color"] and model.preset == rec.preset
    copy = Im2Avatar.from_dir(model.save(tmp_path / "copy"))
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == [
        "color.keras", "config.json", "shape.keras"]
    photo = _photo(64, 64)
    mine, again, theirs = model.predict(photo), copy.predict(photo), rec.predict(photo)
    np.testing.assert_array_equal(mine.occupancy, again.occupancy)
    np.testing.assert_array_equal(mine.regressed, theirs.regressed)
    assert copy.preset == model.preset and mine.threshold == theirs.threshold == 0.8


def test_a_batch_matches_images_one_by_one(rec):
    # Continuous outputs only: blended jumps where float noise moves the flow across a pixel
    # edge (the released nearest sampler), see test_export.assert_outputs_match.
    photos = [_photo(64, 64, seed) for seed in range(3)]
    batch = rec.predict(np.stack(photos))
    for photo, result in zip(photos, batch):
        single = rec.predict(photo)
        np.testing.assert_allclose(result.occupancy, single.occupancy, atol=1e-5)
        np.testing.assert_allclose(result.regressed, single.regressed, atol=1e-5)
        np.testing.assert_allclose(result.flow, single.flow, atol=1e-5)


def test_rgba_grayscale_and_odd_sizes_are_preprocessed_like_training(rec):
    background = np.asarray(BACKGROUND_RGB) / 255.0
    transparent = np.zeros((40, 40, 4), np.uint8)  # fully transparent: all background
    gray = np.full((33, 33), 90, np.uint8)  # (H, W), no channel axis
    odd = np.full((37, 91, 3), 10, np.uint8)  # wide: padded above and below
    r_transparent, r_gray, r_odd = rec.predict([transparent, gray, odd])
    np.testing.assert_allclose(r_transparent.image, np.broadcast_to(background, (64, 64, 3)), atol=1e-6)
    np.testing.assert_allclose(r_gray.image, 90 / 255.0, atol=1e-6)  # gray -> equal RGB
    # 91 -> 64 wide, 37 -> 26 rows tall, centered: 19 background rows on top.
    np.testing.assert_allclose(r_odd.image[:19], np.broadcast_to(background, (19, 64, 3)), atol=1e-6)
    np.testing.assert_allclose(r_odd.image[20:44], 10 / 255.0, atol=1e-6)


def test_padding_uses_the_background_the_model_was_trained_on(model_dir, tmp_path):
    """A model trained on white views (the human set) pads and composites onto white."""
    import json
    import shutil

    white = tmp_path / "white_model"
    shutil.copytree(model_dir, white)
    config = json.loads((white / "config.json").read_text())
    config["data"]["background"] = [255, 255, 255]
    (white / "config.json").write_text(json.dumps(config))
    result = Reconstructor.from_dir(white).predict(np.zeros((40, 80, 4), np.uint8))
    np.testing.assert_allclose(result.image, 1.0, atol=1e-6)  # transparent + padding: white


def test_a_file_that_is_not_an_image_gives_the_clear_error(rec, tmp_path):
    garbage = tmp_path / "photo.png"
    garbage.write_bytes(np.random.default_rng(0).bytes(500))
    with pytest.raises(ValueError, match="photo.png is not a readable image"):
        rec.predict(garbage)


def test_final_colors_follow_the_evaluation_recipe():
    """c = 1 - w re-mapped with t = 0.2 (c' = c / t below t), image color at the flow pixel,
    background pixels replaced by the nearest foreground pixel (reference 5.2)."""
    res = 4
    image = np.full((8, 8, 3), 0.9, np.float32)  # background: the top-left color
    image[2, 5] = (0.1, 0.2, 0.3)
    image[6, 6] = (0.7, 0.1, 0.1)
    occupancy = np.zeros((res,) * 3, np.float32)
    regressed = np.full((res,) * 3 + (3,), 0.5, np.float32)
    confidence = np.zeros((res,) * 3 + (1,), np.float32)
    flow = np.zeros((res,) * 3 + (2,), np.float32)  # (x = column, y = row) in [0, 1)
    a, b, c = (1, 1, 1), (2, 2, 2), (3, 3, 3)
    occupancy[a] = occupancy[b] = occupancy[c] = 0.9
    confidence[a], flow[a] = 0.9, (6.5 / 8, 6.5 / 8)  # c' = 0.1 / 0.2: half and half
    confidence[b], flow[b] = 0.0, (0.0, 0.0)  # the image color; pixel (0, 0) is background
    confidence[c] = 1.0  # the regressed color
    result = Result(image=image, occupancy=occupancy, regressed=regressed, confidence=confidence,
                    flow=flow, blended=regressed, threshold=0.8)
    np.testing.assert_allclose(result.colors[a], (0.6, 0.3, 0.3), atol=1e-6)
    np.testing.assert_allclose(result.colors[b], (0.1, 0.2, 0.3), atol=1e-6)  # nearest: (2, 5)
    np.testing.assert_allclose(result.colors[c], (0.5, 0.5, 0.5), atol=1e-6)
    assert result.occupied.sum() == 3 and not result.colors[0, 0, 0].any()


def test_h5_is_the_released_prediction_format(rec, tmp_path):
    result = rec.predict(_photo(50, 70))
    written = result.save(tmp_path / "car.h5")
    assert {p.name for p in written} == {"car_shape.h5", "car_color.h5", "car_input.png"}
    with h5py.File(tmp_path / "car_shape.h5", "r") as f:
        np.testing.assert_array_equal(f["data"][...][..., 0], result.occupancy)
    with h5py.File(tmp_path / "car_color.h5", "r") as f:
        color = f["data"][...]
    r = rec.volume_size
    assert color.shape == (r, r, r, 9)
    for channels, volume in ((slice(0, 3), result.regressed), (slice(3, 4), result.confidence),
                             (slice(4, 6), result.flow), (slice(6, 9), result.blended)):
        np.testing.assert_array_equal(color[..., channels], volume)
    saved_input = np.asarray(Image.open(tmp_path / "car_input.png"))
    np.testing.assert_array_equal(saved_input, np.round(result.image * 255))


def test_pack_color_prediction_is_the_inverse_of_split():
    from im2avatar_tf.colors import pack_color_prediction, split_color_prediction

    color9 = np.random.default_rng(0).random((2, 4, 4, 4, 9)).astype(np.float32)
    parts = split_color_prediction(color9)
    assert {k: v.shape for k, v in parts.items()} == {
        "regressed": (2, 4, 4, 4, 3), "confidence": (2, 4, 4, 4, 1), "flow": (2, 4, 4, 4, 2),
        "blended": (2, 4, 4, 4, 3)}
    sampled = np.zeros((2, 4, 4, 4, 3))  # the color network's extra output: not packed
    np.testing.assert_array_equal(pack_color_prediction({**parts, "sampled": sampled}), color9)
    result = Result.from_prediction(np.zeros((8, 8, 3)), color9[0, ..., 0], color9[0])
    np.testing.assert_array_equal(result.color_prediction(), color9[0])


def test_an_empty_prediction_is_a_clear_error_not_a_crash(rec, tmp_path):
    result = rec.predict(_photo(64, 64)).with_threshold(0.999999)
    with pytest.raises(EmptyPredictionError, match="lower the threshold"):
        result.save(tmp_path / "x.glb")


def test_reconstruct_command_end_to_end(model_dir, tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(_photo(48, 80)).save(images / "wide.png")
    rgba = np.dstack([_photo(60, 60, 1), np.full((60, 60), 255, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(images / "cutout.png")
    (images / "notes.png").write_bytes(b"definitely not a png")
    out = tmp_path / "out"
    code = cli.main(["reconstruct", str(images), "--model", str(model_dir), "--out", str(out),
                     "--format", "ply", "--threshold", "0.5", "--views", "2"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "reconstructed 2 of 3" in printed and "notes.png is not a readable image" in printed
    for name in ("wide", "cutout"):
        assert (out / f"{name}.ply").stat().st_size > 0
        assert (out / f"{name}_input.png").exists()
        preview = np.asarray(Image.open(out / f"{name}_preview.png"))
        assert preview.shape == (128, 3 * 128, 3)  # the input, then 2 turntable views
        assert (preview[:, 128:] != preview[0, -1]).any()  # the renders show something
    assert not any(p.name.endswith(".tmp") for p in out.iterdir())  # atomic writes


def test_reconstruct_reports_empty_predictions_and_keeps_the_input(model_dir, tmp_path, capsys):
    Image.fromarray(_photo(64, 64)).save(tmp_path / "cup.jpg")
    out = tmp_path / "out"
    code = cli.main(["reconstruct", str(tmp_path / "cup.jpg"), "--model", str(model_dir),
                     "--out", str(out), "--threshold", "0.999999", "--no-preview"])
    printed = capsys.readouterr().out
    assert code == 1  # nothing reconstructed
    assert "empty predictions: 1" in printed and "lower the threshold" in printed
    assert (out / "cup_input.png").exists() and not (out / "cup.glb").exists()


@pytest.mark.slow
def test_bench_infer_says_when_it_times_random_networks(capsys):
    assert cli.main(["bench-infer", "--preset", "tiny", "--repeats", "1", "--no-export"]) == 0
    printed = capsys.readouterr().out
    assert "RANDOMLY INITIALISED networks of preset 'tiny'" in printed
    assert "networks forward" in printed and "mesh extraction (final colors" in printed
    gap = float(printed.split("largest output difference to TensorFlow ")[1].split(";")[0])
    assert gap <= 1e-4  # ONNX Runtime timed beside TensorFlow, on the same outputs


@pytest.mark.slow
@pytest.mark.skipif(not pretrained.names(), reason="no pretrained models in pretrained/")
def test_bench_infer_times_a_zoo_model_by_name(capsys):
    name = pretrained.names()[0]
    assert cli.main(["bench-infer", "--model", name, "--repeats", "1", "--no-export",
                     "--no-onnx"]) == 0
    printed = capsys.readouterr().out
    assert f"trained model, pretrained {name!r}" in printed and "networks forward" in printed
    assert "predicted voxels >=" in printed  # the trained networks' own prediction is meshed


def test_a_pil_image_is_read_like_its_file_upright_by_exif(rec, tmp_path):
    """A sideways phone JPEG (orientation 6) opened with PIL and passed in memory gives what the
    file gives: upright; the caller's image is left as it was."""
    pixels = np.zeros((40, 80, 3), np.uint8)
    pixels[:, :40] = (200, 30, 30)  # red on the left of the stored (sideways) pixels
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(pixels).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    with Image.open(tmp_path / "phone.jpg") as im:
        in_memory = rec.predict(im, threshold=0.5)
        assert im.size == (80, 40)  # not turned in place
    from_file = rec.predict(tmp_path / "phone.jpg", threshold=0.5)
    np.testing.assert_array_equal(in_memory.image, from_file.image)
    two = rec.predict([Image.open(tmp_path / "phone.jpg")] * 2, threshold=0.5)
    assert len(two) == 2
