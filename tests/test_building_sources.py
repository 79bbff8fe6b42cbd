"""The source registry (building/sources): every name resolves to its source, build-dataset
offers exactly those, and a source builds what a Request asks for."""
import argparse
import json

import pytest
import trimesh

from im2avatar_tf.building import sources
from im2avatar_tf.building.builder import BuildOptions
from im2avatar_tf.building.sources.base import Request, Source


def test_every_registered_source_is_found_by_its_name():
    assert sources.names() == ["procedural", "folder", "sweethome3d", "human", "human-real",
                               "torcs"]
    for name in sources.names():
        source = sources.get(name)
        assert isinstance(source, Source) and source.name == name
    assert {n: sources.get(n).out_dir(32) for n in sources.names()} == {
        "procedural": "procedural-r32", "folder": "folder-r32", "sweethome3d": "sweethome3d-r32",
        "human": "human-r32", "human-real": "human-real", "torcs": "torcs-r32"}
    with pytest.raises(ValueError, match="unknown source 'shapenet'"):
        sources.get("shapenet")


def test_build_dataset_offers_the_registry(capsys):
    from im2avatar_tf.commands import build_dataset

    parser = argparse.ArgumentParser()
    build_dataset.add_arguments(parser)
    choices = next(a.choices for a in parser._actions if a.dest == "source")
    assert list(choices) == sources.names()
    with pytest.raises(SystemExit):
        parser.parse_args(["--source", "shapenet"])
    assert "invalid choice" in capsys.readouterr().err


def test_a_source_builds_a_request(tmp_path):
    said = []
    request = Request(out=str(tmp_path / "set"), options=BuildOptions(resolution=8, image_size=16,
                                                                      views=1),
                      categories=("chair",), count=1, progress=False, say=said.append)
    assert sources.get("procedural").build(request)
    assert said[0] == f"1 models -> {tmp_path / 'set'} (8^3, 1 views of 16 px, 1 workers)"
    assert said[1].startswith("built 1, reused 0, skipped 0")
    assert json.loads((tmp_path / "set" / "build_report.json").read_text())["built"] == 1
    meshes = tmp_path / "meshes" / "chair"
    meshes.mkdir(parents=True)
    trimesh.creation.box().export(meshes / "box.ply")
    with pytest.raises(ValueError, match=r"nothing to build for categories \['guitar'\] from "
                                         r"folder"):
        sources.get("folder").build(Request(out=str(tmp_path / "f"), options=BuildOptions(),
                                            input=str(meshes.parent), categories=("guitar",)))
    assert not (tmp_path / "f").exists()
