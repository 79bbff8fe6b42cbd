"""The model zoo (`pretrained/`): the shipped models load by name with their files checked,
reconstruct from the command line, export, and list with their metrics; a changed file is a
clear error; float16 storage round-trips; publishing refuses networks that do not beat the
trivial baselines and writes nothing then."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import trimesh

from im2avatar_tf import cli, pretrained
from im2avatar_tf.config import get_preset
from im2avatar_tf.inference import Reconstructor
from tests._toy_data import write_toy_dataset

SHIPPED = pretrained.names()
EXAMPLES = Path(__file__).resolve().parent.parent / "im2avatar_tf" / "demo" / "examples"
needs_zoo = pytest.mark.skipif(not SHIPPED, reason="no pretrained models in pretrained/")


def _example(category: str) -> Path:
    found = sorted(EXAMPLES.glob(f"{category}*.png"))
    if not found:
        pytest.skip(f"no example image for {category} in {EXAMPLES}")
    return found[0]


@needs_zoo
def test_the_manifest_describes_every_shipped_model_and_its_baselines():
    total = 0
    for name in SHIPPED:
        m = pretrained.get(name)
        pretrained.verify(m)  # every file matches its sha256
        assert set(m.files) == {"config.json", "shape.weights.npz", "color.weights.npz"}
        total += m.bytes
        ind = m.metrics["in distribution"]
        # Only models that beat both trivial baselines in distribution are shipped.
        assert ind["beats_mean_shape"] and ind["iou"] > ind["mean_shape_iou"]
        assert ind["beats_mean_color"]
        assert ind[f"psnr_rgb_t{m.color_t:g}"] > ind["mean_color_psnr_rgb"]
        assert m.training["data"] and m.command.startswith("python run.py publish-model")
        for root in m.training["data"]:
            if root["source"] not in ("procedural",):
                assert root["licences"], f"{name}: real training models without licences"
    assert total <= 40 * 2**20  # the budget for the whole zoo


@needs_zoo
def test_a_pretrained_model_reconstructs_its_example_by_name():
    name = SHIPPED[0]
    category = pretrained.get(name).category
    rec = Reconstructor.from_pretrained(name)
    assert rec.color_t == pretrained.get(name).color_t
    assert rec.threshold == pretrained.get(name).threshold  # predict's default
    result = rec.predict(str(_example(category)))
    assert result.occupied.sum() > 50  # a trained model sees an object in its own category
    assert result.colors[result.occupied].std() > 0
    rec.threshold = 0.99
    assert rec.predict(str(_example(category))).occupied.sum() < result.occupied.sum()


@needs_zoo
@pytest.mark.slow
def test_reconstruct_and_export_take_zoo_names(tmp_path, capsys):
    name = SHIPPED[0]
    image = _example(pretrained.get(name).category)
    out = tmp_path / "out"
    assert cli.main(["reconstruct", str(image), "--model", name, "--out", str(out),
                     "--no-preview"]) == 0
    (mesh,) = trimesh.load(out / f"{image.stem}.glb", process=False).geometry.values()
    colors = np.asarray(mesh.visual.vertex_attributes["color"])  # glTF COLOR_0
    assert len(mesh.faces) > 0 and colors.shape[0] == len(mesh.vertices)
    assert cli.main(["export", "--model", name, "--out", str(tmp_path / "exp")]) == 0
    exported = Reconstructor.from_dir(tmp_path / "exp")
    direct = Reconstructor.from_pretrained(name)
    assert exported.color_t == direct.color_t == pretrained.get(name).color_t
    batch, _ = direct.preprocess([str(image)])
    np.testing.assert_allclose(exported.forward(batch)["occupancy"],
                               direct.forward(batch)["occupancy"], atol=1e-4)
    a, b = exported.predict(str(image)), direct.predict(str(image))
    same = a.occupied & b.occupied  # the exported model colors like the zoo model
    assert np.abs(a.colors[same] - b.colors[same]).mean() < 1e-3
    assert cli.main(["models", "--check"]) == 0
    listing = capsys.readouterr().out
    assert all(n in listing for n in SHIPPED) and "mean shape" in listing


@needs_zoo
def test_a_folder_that_hides_a_zoo_name_says_so(tmp_path, monkeypatch):
    name = SHIPPED[0]
    (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="hides the pretrained model"):
        Reconstructor.load(name)


def _zoo_copy(tmp_path, monkeypatch) -> Path:
    """A copy of the shipped zoo that the test may damage, used in place of pretrained/."""
    zoo = tmp_path / "zoo"
    shutil.copytree(pretrained.ZOO_DIR, zoo)
    monkeypatch.setenv("IM2AVATAR_ZOO", str(zoo))
    return zoo


@needs_zoo
def test_a_missing_zoo_file_is_a_clear_error(tmp_path, monkeypatch):
    name = SHIPPED[0]
    (_zoo_copy(tmp_path, monkeypatch) / name / "color.weights.npz").unlink()
    with pytest.raises(pretrained.CorruptModelError, match="is missing.*git checkout"):
        Reconstructor.from_pretrained(name)


@needs_zoo
def test_a_changed_weight_file_is_a_clear_error(tmp_path, monkeypatch):
    name = SHIPPED[0]
    weights = _zoo_copy(tmp_path, monkeypatch) / name / "shape.weights.npz"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(pretrained.CorruptModelError, match="sha256.*git checkout"):
        Reconstructor.from_pretrained(name)
    assert cli.main(["models", "--check"]) == 1


def test_unknown_names_list_the_zoo(tmp_path, capsys):
    with pytest.raises(KeyError, match="python run.py models"):
        pretrained.get("no-such-model")
    with pytest.raises(FileNotFoundError, match="neither a folder or file nor a pretrained"):
        Reconstructor.load(str(tmp_path / "no-such-model"))
    assert cli.main(["export", "--model", str(tmp_path / "no-such-model"), "--out",
                     str(tmp_path / "exp")]) != 0
    assert "nor a pretrained model name" in capsys.readouterr().err
    assert not (tmp_path / "exp").exists()


def test_float16_weights_round_trip(model_dir, tmp_path):
    from im2avatar_tf.models import load_network

    net = load_network(model_dir / "shape.keras")
    pretrained.save_weights(net, tmp_path / "shape.weights.npz")
    with np.load(tmp_path / "shape.weights.npz") as data:
        assert all(data[k].dtype == np.float16 for k in data.files)
    copy = pretrained.load_weights(pretrained.build_network("shape", get_preset("tiny")),
                                   tmp_path / "shape.weights.npz")
    image = np.random.default_rng(0).random((1, 64, 64, 3), dtype=np.float32)
    a = np.asarray(net(image, training=False))
    b = np.asarray(copy(image, training=False))
    np.testing.assert_allclose(b, a, atol=2e-2 * np.abs(a).max())
    with pytest.raises(pretrained.CorruptModelError, match="does not fit"):
        pretrained.load_weights(pretrained.build_network("color", get_preset("tiny")),
                                tmp_path / "shape.weights.npz")


@pytest.mark.slow
def test_publishing_refuses_networks_that_do_not_beat_the_baselines(model_dir, tmp_path):
    """Untrained networks on a toy set: chosen on val, stored, scored, refused; no zoo files."""
    from im2avatar_tf.publish import NotBetterThanBaselines, publish

    root = write_toy_dataset(tmp_path / "toy", categories=("car",), resolution=32,
                             split_sizes={"train": 2, "val": 1, "test": 1})
    zoo = tmp_path / "zoo"
    with pytest.raises(FileNotFoundError, match="--real-test .* is not a folder"):
        publish("car", "car", [model_dir], [model_dir], root, real_test=tmp_path / "typo",
                zoo=zoo, progress=False)
    with pytest.raises(NotBetterThanBaselines, match="does not beat"):
        publish("car", "car", [model_dir], [model_dir], root, zoo=zoo, progress=False)
    assert not zoo.exists() or not list(zoo.iterdir())  # no model folder, no manifest
    assert pretrained.read_manifest(zoo) == {"format": 1, "models": {}}


def test_publishing_without_a_validation_split_chooses_nothing(model_dir, tmp_path):
    """A set with train and test only (the human layout): no choice may be made on test, so
    publishing needs one candidate of each and a fixed t; then it scores (and refuses)."""
    from im2avatar_tf.publish import NotBetterThanBaselines, publish

    root = write_toy_dataset(tmp_path / "toy", categories=("car",), resolution=32,
                             split_sizes={"train": 2, "test": 1})
    zoo = tmp_path / "zoo"
    with pytest.raises(ValueError, match="no validation split .* --color-t"):
        publish("car", "car", [model_dir, model_dir], [model_dir], root, zoo=zoo,
                progress=False, color_t=1.0)
    with pytest.raises(ValueError, match="no validation split"):
        publish("car", "car", [model_dir], [model_dir], root, zoo=zoo, progress=False)
    other = tmp_path / "bilinear"  # a color network of another model configuration
    shutil.copytree(model_dir, other)
    config = json.loads((other / "config.json").read_text())
    config["model"]["decoder"]["sampler"] = "bilinear"
    (other / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="different model configurations"):
        publish("car", "car", [model_dir], [other], root, zoo=zoo, progress=False, color_t=1.0)
    with pytest.raises(NotBetterThanBaselines, match="does not beat"):
        publish("car", "car", [model_dir], [model_dir], root, zoo=zoo, progress=False,
                color_t=1.0)
    assert pretrained.read_manifest(zoo) == {"format": 1, "models": {}}


@pytest.mark.slow
def test_publishing_scores_each_real_test_set(model_dir, tmp_path, monkeypatch):
    """Several --real-test sets: each is scored (beside the same baselines' fit roots) under
    its own label, 'real (<folder>)'; a set without the category gets n_models 0. The verdict
    is stubbed as a pass so the write path runs; what is scored is real."""
    from im2avatar_tf import publish as publishing

    root = write_toy_dataset(tmp_path / "toy", categories=("car",), resolution=32,
                             split_sizes={"train": 2, "val": 1, "test": 1})
    real_a = write_toy_dataset(tmp_path / "real-a", categories=("car",), resolution=32,
                               split_sizes={"test": 2}, seed=4)
    real_b = write_toy_dataset(tmp_path / "real-b", categories=("chair",), resolution=32,
                               split_sizes={"test": 1}, seed=5)
    scored = []
    real_score = publishing.score_test_set

    def passing(nets, test_root, fit_roots, *args, **kwargs):
        out = real_score(nets, test_root, fit_roots, *args, **kwargs)
        scored.append((Path(test_root).name, [Path(r).name for r in fit_roots], out["n_models"]))
        return {**out, "beats_mean_shape": True, "beats_mean_color": True}

    monkeypatch.setattr(publishing, "score_test_set", passing)
    zoo = tmp_path / "zoo"
    model = publishing.publish("car", "car", [model_dir], [model_dir], root,
                               real_test=[real_a, real_b], zoo=zoo, progress=False)
    assert list(model.metrics) == ["in distribution", "real (real-a)", "real (real-b)"]
    assert scored == [("toy", ["toy"], 1), ("real-a", ["toy"], 2)]
    assert model.metrics["real (real-b)"]["n_models"] == 0
    manifest = pretrained.read_manifest(zoo)
    assert list(manifest["models"]["car"]["metrics"]) == list(model.metrics)
    assert "real (real-a)" in (zoo / "README.md").read_text()
