"""What an experiment's options make of the presets, without training: --color-batch-size
changes the color network's batch and steps (same samples) and leaves the others' run dirs."""
import json

from im2avatar_tf.cli import build_parser

from experiments import _common as common
from experiments import _report as report
from tests._toy_data import write_toy_dataset


def test_color_batch_size_keeps_the_samples_and_only_the_color_run_dir(tmp_path):
    write_toy_dataset(tmp_path / "toy", categories=("car",),
                      split_sizes={"train": 4, "val": 1, "test": 1}, resolution=64)
    args = ["claims", "--preset", "paper", "--data", str(tmp_path / "toy"), "--categories",
            "car", "--steps", "540", "--runs-dir", str(tmp_path / "runs")]
    plain = common.setup("claims", build_parser().parse_args(args))
    small = common.setup("claims", build_parser().parse_args(args + ["--color-batch-size", "40"]))
    seeded = {"train": {"seed": 1}}
    assert common.run_dir(small, "shape", "car", **seeded) == common.run_dir(plain, "shape", "car",
                                                                          **seeded)
    assert common.run_dir(small, "color", "car", **seeded) != common.run_dir(plain, "color", "car",
                                                                          **seeded)
    changed = common.network_changes(small, "color", seeded)["train"]
    assert changed == {"seed": 1, "batch_size": 40, "steps": 810}  # 540 x 60 = 810 x 40 samples
    assert common.network_changes(small, "shape", seeded) == seeded
    assert common.network_changes(plain, "color", seeded) == seeded
    # the reports say so: the context line, and each curve in its own run's optimizer steps
    assert report.batch_text(plain) == "batch 60"
    assert report.batch_text(small) == ("batch 60 (the color networks: 40, 810 optimizer steps, "
                                        "the same samples)")
    color_dir = tmp_path / "color-run"
    color_dir.mkdir()
    (color_dir / "config.json").write_text(small.preset.replace(train={"batch_size": 40}).to_json())
    assert report.run_batch_size(color_dir, 60) == 40
    (color_dir / "config.json").write_text(json.dumps({"train": {"batch_size": 40}}))  # no Preset
    assert report.run_batch_size(color_dir, 60) == 60
    assert report.run_batch_size(tmp_path / "no-run", 60) == 60
