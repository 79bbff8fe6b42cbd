"""quickstart end to end on a toy dataset, 1 epoch: every stage runs and writes its files
(a 1-epoch model predicts nothing at 0.8; the summary must say so rather than fail)."""
from __future__ import annotations

import json
import math

import pytest

from im2avatar_tf.cli import main
from tests._toy_data import write_toy_dataset


@pytest.mark.slow
def test_quickstart_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the input cache goes here
    data = write_toy_dataset(tmp_path / "toy", categories=("car", "chair"),
                             split_sizes={"train": 8, "test": 1}, resolution=32)
    assert main(["quickstart", "--data", str(data), "--epochs", "1", "--out", "qs"]) == 0
    summary = json.loads((tmp_path / "qs" / "summary.json").read_text())
    assert [r["metric"] for r in summary["metrics"]][:2] == [
        "IoU (model at 0.8)", "PSNR RGB, released blend t=0.2"]
    for r in summary["metrics"]:  # each verdict the paired 2-SE rule's, as everywhere
        if math.isnan(r["model"]):
            assert r["verdict"] == "nothing to score (no voxel predicted at 0.8)", r
        else:
            assert r["verdict"] in ("beats it", "does NOT beat it",
                                    "not resolved (within 2 standard errors)"), r
            assert r["beats"] == (r["verdict"] == "beats it"), r
            assert r["model"] > r["baseline"] if r["beats"] else True, r
    assert (tmp_path / "qs" / "export" / "saved_model" / "saved_model.pb").exists()
    assert (tmp_path / "qs" / "reconstruction_preview.png").stat().st_size > 0
    out = capsys.readouterr().out
    assert "== 5/5 reconstruct" in out and "SavedModel" in out
