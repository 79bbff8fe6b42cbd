"""The TORCS cars (Debian torcs-data): the AC3D reader and the test-only car set, on a small
hand-written car in the package's layout (the package itself is 333 MB and not needed here)."""
import json

import numpy as np
import pytest

from im2avatar_tf.building.ac3d import load_ac3d
from im2avatar_tf.building.builder import BuildOptions
from im2avatar_tf.building.meshes import MeshError
from im2avatar_tf.building.sources import torcs
from im2avatar_tf.scene.surface import as_surface
from im2avatar_tf.data.check import check_dataset
from im2avatar_tf.data.layout import split_list_path

# A body: a textured quad (polygon) and a strip of two triangles, moved by `loc`; a line (no
# area); and an untextured triangle of the second (blue) material.
ACC = """AC3Db
MATERIAL "red" rgb 1 0 0  amb 1 1 1  emis 0 0 0  spec 0 0 0  shi 0  trans 0
MATERIAL "blue" rgb 0 0 1  amb 1 1 1  emis 0 0 0  spec 0 0 0  shi 0  trans 0
OBJECT world
kids 2
OBJECT poly
name "BODY"
texture "mycar.rgb" base
texture "mycar.rgb" tiled
loc 0.5 0 0
numvert 6
-2 0 -0.8 0 1 0
2 0 -0.8 0 1 0
2 0 0.8 0 1 0
-2 0 0.8 0 1 0
-2 1 -0.8 0 1 0
2 1 -0.8 0 1 0
numsurf 3
SURF 0x10
mat 0
refs 4
0 0 0 0 0
1 0.25 0 0 0
2 0.25 1 0 0
3 0 1 0 0
SURF 0x14
mat 0
refs 4
0 0.75 0 0 0
1 1 0 0 0
4 0.75 1 0 0
5 1 1 0 0
SURF 0x02
mat 0
refs 2
0 0 0
4 0 1
kids 0
OBJECT poly
name "TRIM"
numvert 3
-2 1 0.8
2 1 0.8
0 1.2 0.8
numsurf 1
SURF 0x10
mat 1
refs 3
0 0 0
1 0 0
2 0 0
kids 0
"""

WHEEL = """<section name="{name}">
<attnum name="ypos" unit="m" val="{y}"/>
<attnum name="rim diameter" unit="in" val="16.0"/>
<attnum name="tire width" unit="mm" val="200"/>
<attnum name="tire height-width ratio" val=".5"/>
<attnum name="ride height" unit="mm" val="120"/>
</section>"""
XML = ("<?xml version='1.0'?><params name='mycar'>"
       "<section name='Front Axle'><attnum name='xpos' val='1.3'/></section>"
       "<section name='Rear Axle'><attnum name='xpos' val='-1.4'/></section>"
       + "".join(WHEEL.format(name=n, y=y) for n, y in (
           ("Front Right Wheel", -0.8), ("Front Left Wheel", 0.8),
           ("Rear Right Wheel", -0.8), ("Rear Left Wheel", 0.8))) + "</params>")


@pytest.fixture
def cars(tmp_path):
    """A TORCS cars folder holding one car: texture left quarter red, right quarter green
    (an SGI .rgb like the game's)."""
    from PIL import Image

    car = tmp_path / "cars" / "mycar"
    car.mkdir(parents=True)
    (car / "mycar.acc").write_text(ACC)
    (car / "mycar.xml").write_text(XML)
    (car / "readme.txt").write_text("3D model: somebody. Texture: Free Art License.")
    texture = np.zeros((8, 16, 3), np.uint8)
    texture[:, :8] = (255, 0, 0)
    texture[:, 8:] = (0, 255, 0)
    Image.fromarray(texture).save(car / "mycar.rgb", format="SGI")
    return tmp_path / "cars"


def test_ac3d_polygons_strips_transforms_textures_and_materials(cars):
    scene = load_ac3d(cars / "mycar" / "mycar.acc")
    body, trim = (scene.geometry[k] for k in sorted(scene.geometry))  # BODY_0, TRIM_1
    assert len(body.faces) == 4 and len(trim.faces) == 1  # quad 2 + strip 2; the line skipped
    assert np.allclose(body.vertices[:, 0].min(), -1.5)  # loc 0.5 applied
    surface = as_surface(scene)
    assert surface.kinds == ("texture", "face")
    centroids = np.full((5, 3), 1 / 3)
    rgb = surface.colors_at(np.arange(5), centroids)
    assert np.allclose(rgb[:2], (1, 0, 0), atol=0.02)  # the quad: u in [0, 0.25], red
    assert np.allclose(rgb[2:4], (0, 1, 0), atol=0.02)  # the strip: u in [0.75, 1], green
    assert np.allclose(rgb[4], (0, 0, 1))  # the untextured triangle: its material
    # strip winding alternates, so both triangles face the way the first one does (+z here)
    assert np.allclose(body.face_normals[2:4], (0, 0, 1))


NESTED = ("AC3Db\n"
          'MATERIAL "rgb" rgb 0 1 0  amb 1 1 1\n'  # a material named like the keyword
          "OBJECT world\nkids 1\n"
          'OBJECT group\nname "a group"\ndata 18\nkids 3\nabc\nnumvert\n'  # data: 18 chars, 3 lines
          "rot 0 0 -1 0 1 0 1 0 0\nloc 10 0 0\nkids 1\n"
          "OBJECT poly\nname\t\"one part\"\ntexture \"mycar.rgb\"\ntexrep 2 2\ntexoff 0.5 0\n"
          "loc 0 0 1\nnumvert 3\n1 0 0\n1\t1 0\n2 0 0\nnumsurf 1\nSURF 16\nmat 0\nrefs 3\n"
          "0 0 0\n1 0.1 0\n2 0 0.1\nkids 0\n")


def test_ac3d_nested_transforms_texrep_data_tabs_and_texture_swaps(tmp_path, cars):
    from PIL import Image

    path = cars / "mycar" / "nested.ac"
    path.write_text(NESTED)
    scene = load_ac3d(path)
    [part] = scene.geometry.values()
    # the group's rot (written row by row; applied transposed) and loc, then the part's loc
    assert np.allclose(part.vertices[0], (11, 0, -1))
    assert np.allclose(part.visual.uv, [[0.5, 0], [0.7, 0], [0.5, 0.2]])  # uv * 2 + (0.5, 0)
    assert as_surface(scene).kinds == ("texture",)
    blue = tmp_path / "blue.png"
    Image.fromarray(np.full((4, 4, 3), (0, 0, 255), np.uint8)).save(blue)
    swapped = as_surface(load_ac3d(path, textures={"mycar.rgb": blue}))
    assert np.allclose(swapped.colors_at(np.array([0]), np.full((1, 3), 1 / 3)), (0, 0, 1))


def test_ac3d_errors_name_the_problem(tmp_path, cars):
    (cars / "mycar" / "mycar.rgb").unlink()
    with pytest.raises(MeshError, match="texture mycar.rgb not found"):
        load_ac3d(cars / "mycar" / "mycar.acc")
    bad = tmp_path / "bad.ac"
    bad.write_text("OBJECT world\nkids 0\n")
    with pytest.raises(MeshError, match="not an AC3D file"):
        load_ac3d(bad)
    cut = tmp_path / "cut.ac"
    cut.write_text(ACC[:ACC.index("SURF 0x14")])
    with pytest.raises(MeshError, match="ends early"):
        load_ac3d(cut)
    for broken, message in ((ACC.replace("SURF 0x14", "SURF zz"), "bad SURF on line"),
                            (ACC.replace("loc 0.5 0 0", "loc 0.5"), "bad loc on line"),
                            (ACC.replace("\n5 1 1 0 0", "\n-1 1 1 0 0"),
                             "refers to vertex -1 of 6"),
                            ("AC3Db\n\n\n", "has no OBJECT")):
        bad.write_text(broken)
        with pytest.raises(MeshError, match=message):
            load_ac3d(bad)


def test_wheels_from_the_specs(cars):
    wheels = torcs.wheel_positions(cars / "mycar" / "mycar.xml")
    radius = 16 * 0.0254 / 2 + 0.2 * 0.5
    assert len(wheels) == 4
    assert [w[0] for w in wheels] == [1.3, 1.3, -1.4, -1.4]
    assert [w[2] for w in wheels] == [0.8, -0.8, 0.8, -0.8]  # right wheels (ypos < 0) at +z
    assert np.allclose([w[1] for w in wheels], radius - 0.12)  # standing on the ground
    assert np.allclose([w[3] for w in wheels], radius) and all(w[4] == 0.2 for w in wheels)


def test_build_puts_every_car_in_the_test_split(tmp_path, cars):
    out = tmp_path / "torcs"
    summary = torcs.build_torcs(out, BuildOptions(resolution=16, image_size=32),
                                progress=False, cars_dir=cars)
    assert summary["models"] == 1 and not summary["failed"]
    assert split_list_path(out, "test", "car").read_text().split() == ["torcs_mycar"]
    assert split_list_path(out, "train", "car").read_text() == ""
    assert check_dataset(out, progress=False).ok
    meta = json.loads(next(out.rglob("meta.json")).read_text())
    assert meta["source"]["source"] == "torcs" and "Free Art" in meta["source"]["credits"]
    assert "GPL" in meta["source"]["license"]
    again = torcs.build_torcs(out, BuildOptions(resolution=16, image_size=32),
                              progress=False, cars_dir=cars)
    assert again["reused"] == 1 and again["built"] == 0  # resumable


def test_missing_package_says_how_to_install(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install torcs-data"):
        torcs.iter_cars(tmp_path)


@pytest.mark.skipif(not torcs.available(), reason="TORCS cars absent: apt-get install torcs-data")
def test_the_real_cars_load():
    """Every car of the installed package reads, with its texture, and gets four tyres."""
    cars = torcs.iter_cars()
    assert len(cars) >= 17
    for car in cars:
        surface = car.load()
        assert "texture" in surface.kinds and surface.kinds[-4:] == ("face",) * 4, car.folder
        extent = np.ptp(surface.mesh.vertices, axis=0)
        assert extent[0] == extent.max(), car.folder  # long along x: the nose at +x


def _add_car(cars, name, acc, texture_from="mycar"):
    import shutil

    car = cars / name
    car.mkdir()
    (car / f"{name}.acc").write_text(acc)
    (car / f"{name}.xml").write_text(XML)
    shutil.copy(cars / texture_from / f"{texture_from}.rgb", car / "mycar.rgb")
    return car


def test_by_model_keeps_every_livery_of_a_body_in_one_split(tmp_path, cars):
    """Two liveries of one body (the same geometry, detected from the .acc, not the name) and
    two other bodies: split by body, the liveries together, every split used."""
    from PIL import Image

    livery = _add_car(cars, "zz-livery", ACC)  # same geometry, another paint
    Image.fromarray(np.full((8, 16, 3), (0, 0, 255), np.uint8)).save(livery / "mycar.rgb",
                                                                      format="SGI")
    for name, dy in (("other", 0.3), ("third", -0.6)):  # every part moved: no shared vertex
        _add_car(cars, name, ACC.replace("loc 0.5 0 0", f"loc 0.5 {dy} 0").replace(
            'name "TRIM"', f'name "TRIM"\nloc 0 {dy} 0.1'))
    found = torcs.iter_cars(cars)
    groups = torcs.shared_bodies(found)
    assert ["torcs_mycar", "torcs_zz-livery"] in groups and len(groups) == 3
    splits = torcs.car_splits(found, "by-model", seed=0)
    assert splits["torcs_mycar"] == splits["torcs_zz-livery"]
    assert set(splits.values()) == {"train", "val", "test"}
    assert torcs.car_splits(found) == {c.model_id: "test" for c in found}  # the default
    out = tmp_path / "torcs"
    summary = torcs.build_torcs(out, BuildOptions(resolution=16, image_size=32),
                                progress=False, cars_dir=cars, split="by-model")
    assert summary["models"] == 4 and summary["splits"]["train"]
    for name in ("train", "val", "test"):
        listed = split_list_path(out, name, "car").read_text().split()
        assert sorted(listed) == summary["splits"][name]
        for model in listed:
            meta = json.loads((out / "02958343" / model / "meta.json").read_text())
            assert meta["source"]["split"] == name
    assert check_dataset(out, progress=False).ok
    with pytest.raises(ValueError, match="by-model"):
        torcs.car_splits(found, "random")


def test_torcs_split_flag_is_torcs_only(tmp_path, capsys):
    from im2avatar_tf.cli import main

    rc = main(["build-dataset", "--source", "procedural", "--torcs-split", "by-model",
               "--count", "1", "--out", str(tmp_path / "x"), "--no-progress"])
    assert rc == 1 and "--torcs-split only applies to --source torcs" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
