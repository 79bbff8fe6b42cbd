"""ONNX: `export --format onnx` and `--runtime onnxruntime` give TensorFlow's outputs (a tiny,
randomly initialised model dir: nothing is trained)."""
import numpy as np
import pytest

from im2avatar_tf import cli
from im2avatar_tf.inference import Im2Avatar, Reconstructor

pytest.importorskip("onnxruntime")
pytest.importorskip("tf2onnx")


@pytest.fixture(scope="module")
def onnx_export(model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx_export")
    Im2Avatar.from_dir(model_dir).export_onnx(out)
    return out


@pytest.mark.slow
def test_onnx_runtime_outputs_equal_tensorflows(model_dir, onnx_export):
    batch = np.random.default_rng(0).random((3, 64, 64, 3), dtype=np.float32)
    tf_out = Reconstructor.from_dir(model_dir).forward(batch)
    onnx = Reconstructor.from_dir(onnx_export)
    assert "im2avatar.onnx" in onnx.source
    ort_out = onnx.forward(batch)
    assert sorted(ort_out) == sorted(tf_out)
    for key in tf_out:
        assert ort_out[key].shape == tf_out[key].shape
        gap = np.abs(ort_out[key] - tf_out[key]).max(-1)
        if key == "blended":  # nearest-pixel sampling: a flow on a pixel boundary may flip
            assert (gap > 1e-4).mean() < 0.001
        else:
            assert gap.max() <= 1e-4, key


@pytest.mark.slow
def test_the_cli_runs_an_onnx_export_and_converts_a_model_dir(model_dir, onnx_export, tmp_path,
                                                              capsys):
    image = tmp_path / "photo.png"
    from PIL import Image

    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), np.uint8)).save(image)
    args = [str(image), "--format", "h5", "--no-preview"]
    assert cli.main(["reconstruct", *args, "--model", str(onnx_export), "--out",
                     str(tmp_path / "a")]) == 0
    assert cli.main(["reconstruct", *args, "--model", str(model_dir), "--runtime",
                     "onnxruntime", "--out", str(tmp_path / "b")]) == 0
    assert cli.main(["reconstruct", *args, "--model", str(model_dir), "--out",
                     str(tmp_path / "c")]) == 0
    import h5py

    def read(folder):
        with h5py.File(tmp_path / folder / "photo_shape.h5") as f:
            return f["data"][()]

    assert np.abs(read("a") - read("c")).max() <= 1e-4  # occupancy probabilities
    assert np.abs(read("b") - read("c")).max() <= 1e-4
    assert "Reconstructor(preset='tiny'" in capsys.readouterr().out


def test_a_model_without_onnx_says_how_to_export_one(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="export --format onnx"):
        Reconstructor.from_dir(tmp_path, runtime="onnxruntime")
