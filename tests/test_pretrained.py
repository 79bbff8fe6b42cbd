"""The model zoo (`pretrained/`): the shipped models load by name with their files checked,
reconstruct from the command line, export, and list with their metrics; a changed file is a
clear error; float16 and int8 storage round-trip; publishing refuses networks that do not beat the
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
    assert total <= 80 * 10**6  # issue 29's budget for the whole zoo (32³ and 64³ models): 80 MB


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


@needs_zoo
def test_a_zoo_model_renames_with_its_files_unchanged(tmp_path, monkeypatch, capsys):
    """`models --rename OLD NEW`: the folder, manifest entry and README line move, the files
    keep their sha256 and load under the new name; taken or unknown names are clear errors."""
    old, other = SHIPPED[0], SHIPPED[-1]
    zoo = _zoo_copy(tmp_path, monkeypatch)
    files = pretrained.get(old).files
    assert cli.main(["models", "--rename", old, f"{old}-32"]) == 0
    assert old not in pretrained.names() and f"{old}-32" in pretrained.names()
    model = pretrained.get(f"{old}-32")
    assert model.files == files and not (zoo / old).exists()
    pretrained.verify(model)
    assert f"| {old}-32 | " in (zoo / "README.md").read_text()
    assert f"as `{old}`" in (zoo / "README.md").read_text()
    assert Reconstructor.from_pretrained(f"{old}-32").preset.name == model.preset
    capsys.readouterr()
    assert cli.main(["models", "--rename", f"{old}-32", other]) == 1
    assert "already has a model called" in capsys.readouterr().err
    assert cli.main(["models", "--rename", old, "x"]) == 1
    assert "no zoo model called" in capsys.readouterr().err
    assert cli.main(["models", "--rename", other, "../x"]) == 1
    assert "not a plain folder name" in capsys.readouterr().err
    # A rename stopped after moving the folder: run again, it checks the files and finishes;
    # once more, it changes nothing.
    (zoo / other).rename(zoo / f"{other}-x")
    for _ in range(2):
        assert cli.main(["models", "--rename", other, f"{other}-x"]) == 0
        assert f"{other}-x" in pretrained.names() and other not in pretrained.names()
    pretrained.verify(pretrained.get(f"{other}-x"))
    assert pretrained.get(f"{other}-x").training["renamed_from"] == other


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


def test_int8_weights_round_trip_at_a_third_of_the_size(model_dir, tmp_path):
    """int8: kernels as int8 with one float32 scale per last-axis slice, 1-D weights float16;
    loaded back within a scale step per weight, a smaller file, and `as_stored` gives what a
    file gives."""
    from im2avatar_tf.models import load_network

    net = load_network(model_dir / "color.keras")
    first = next(w for w in net.weights if len(w.shape) >= 2)
    zeroed = first.numpy()
    zeroed[..., 0] = 0.0  # an all-zero slice must stay zero (no division by a zero scale)
    first.assign(zeroed)
    for dtype in pretrained.WEIGHT_ENCODINGS:
        pretrained.save_weights(net, tmp_path / f"{dtype}.npz", dtype)
    with np.load(tmp_path / "int8.npz") as data:
        kernels = [k for k in data.files if data[k].ndim >= 2]
        assert kernels and all(data[k].dtype == np.int8 for k in kernels)
        assert all(data[k + pretrained.SCALE_SUFFIX].shape == (data[k].shape[-1],)
                   for k in kernels)
        assert all(data[k].dtype == np.float16 for k in data.files
                   if data[k].ndim == 1 and not k.endswith(pretrained.SCALE_SUFFIX))
    assert (tmp_path / "int8.npz").stat().st_size < 0.6 * (tmp_path / "float16.npz").stat().st_size
    preset = get_preset("tiny")
    copy = pretrained.load_weights(pretrained.build_network("color", preset), tmp_path / "int8.npz")
    for w, c in zip(net.get_weights(), copy.get_weights()):
        step = (np.abs(w).reshape(-1, w.shape[-1]).max(axis=0) / 127 if w.ndim >= 2
                else np.abs(w) * 1e-3)
        assert np.all(np.abs(c - w) <= step / 2 + 1e-6)
    decoded = next(c for w, c in zip(net.weights, copy.get_weights()) if w is first)
    assert not decoded[..., 0].any() and decoded[..., 1:].any()
    stored = pretrained.as_stored(net, "color", preset, "int8")
    for a, b in zip(stored.get_weights(), copy.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="weights encoding must be one of"):
        pretrained.encode(net, "int4")


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


@pytest.mark.slow
def test_int8_publishing_measures_its_cost_and_refuses_a_costly_one(model_dir, tmp_path,
                                                                  monkeypatch):
    """--weights int8: the stored int8 networks are scored, the same networks in float16 are
    scored on the same test split, and the cost is recorded (manifest, README); a cost over
    QUANTIZATION_LIMITS refuses the model and writes nothing. The baseline verdict is stubbed
    as a pass so the write path runs; what is scored is real."""
    from im2avatar_tf import publish as publishing
    from im2avatar_tf.models import load_network

    full = tmp_path / "full"  # untrained networks whose shape network fills the grid, so
    shutil.copytree(model_dir, full)  # every test model has an IoU and colored voxels
    shape = load_network(full / "shape.keras")
    bn = shape.get_layer("deconv4_bn")
    bn.beta.assign(bn.beta + 5.0)
    shape.save(full / "shape.keras")
    model_dir = full
    root = write_toy_dataset(tmp_path / "toy", categories=("car",), resolution=32,
                             split_sizes={"train": 2, "val": 1, "test": 2})
    real_score = publishing.score_test_set

    def passing(*args, **kwargs):
        return {**real_score(*args, **kwargs), "beats_mean_shape": True, "beats_mean_color": True}

    monkeypatch.setattr(publishing, "score_test_set", passing)
    zoo = tmp_path / "zoo"
    model = publishing.publish("car", "car", [model_dir], [model_dir], root, zoo=zoo,
                               progress=False, color_t=1.0, weights="int8")
    q = model.training["quantization"]
    assert model.weights_dtype == "int8" and q["n_models"] == 2
    shipped = model.metrics["in distribution"]
    # The float16 side, independently: the same networks published as float16 files.
    float16 = publishing.publish("car16", "car", [model_dir], [model_dir], root, zoo=zoo,
                                 progress=False, color_t=1.0).metrics["in distribution"]
    for metric, key in (("iou", "iou"), ("psnr_rgb", "psnr_rgb_t1")):
        assert np.isfinite(q[metric]["float16"]) and q[metric]["int8"] == shipped[key]
        assert q[metric]["float16"] == pytest.approx(float16[key], abs=1e-9)
        assert q[metric]["cost"] == pytest.approx(q[metric]["float16"] - q[metric]["int8"])
    assert q["psnr_rgb"]["cost"] != 0  # int8 colors differ from float16's, a little
    with np.load(zoo / "car" / "shape.weights.npz") as data:
        assert any(k.endswith(pretrained.SCALE_SUFFIX) for k in data.files)
    readme = (zoo / "README.md").read_text()
    assert "MiB, int8" in readme and "weights int8 per channel" in readme
    assert "| car | tiny (64 px -> 32³) |" in readme  # each model's preset and resolution

    monkeypatch.setattr(publishing, "QUANTIZATION_LIMITS", {"iou": -1.0, "psnr_rgb": -1.0})
    with pytest.raises(publishing.QuantizationTooCostly, match="--weights float16"):
        publishing.publish("costly", "car", [model_dir], [model_dir], root, zoo=zoo,
                           progress=False, color_t=1.0, weights="int8")
    assert not (zoo / "costly").exists()
    assert list(pretrained.read_manifest(zoo)["models"]) == ["car", "car16"]


def test_a_lost_metric_counts_as_a_costly_quantization(monkeypatch):
    """A metric int8 loses (NaN: no voxel colored any more) refuses the model."""
    from im2avatar_tf import publish as publishing

    monkeypatch.setattr(publishing, "_evaluate",
                        lambda *a: {"iou": 0.5, "psnr_rgb_t1": 15.0, "n_models": 3})
    shipped = {"iou": 0.5, "psnr_rgb_t1": float("nan"), "n_models": 3}
    with pytest.raises(publishing.QuantizationTooCostly, match="psnr_rgb"):
        publishing.quantization_cost({"shape": None, "color": None}, shipped, Path("toy"),
                                     "car", None, 1.0, "int8")
    ok = publishing.quantization_cost({"shape": None, "color": None},
                                      {**shipped, "psnr_rgb_t1": 14.9, "iou": 0.495},
                                      Path("toy"), "car", None, 1.0, "int8")
    assert ok["iou"]["cost"] == pytest.approx(0.005)
    assert ok["psnr_rgb"]["cost"] == pytest.approx(0.1)


def test_the_zoo_readme_states_each_networks_own_schedule():
    from im2avatar_tf import publish as publishing

    same = {n: {"steps": 1000, "batch_size": 32} for n in ("shape", "color")}
    assert publishing._schedule_text(same) == "1000 steps of batch 32 per network"
    own = {"shape": {"steps": 540, "batch_size": 60}, "color": {"steps": 810, "batch_size": 40}}
    assert publishing._schedule_text(own) == ("shape 540 steps of batch 60, "
                                              "color 810 steps of batch 40")
