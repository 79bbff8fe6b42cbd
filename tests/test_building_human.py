"""The human set: plan and styles (always), and an end-to-end build of 2 people at R=32 through
the real generator subprocess and the dataset builder (skipped only without the optional extra:
`pip install torch==2.13.0 && pip install -r requirements-human.txt`).

Expectations are computed independently of the code under test: garment colors come from the
style table, the projection from the camera matrices stored in meta.json, visibility from a
z-buffer over voxel centers.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from im2avatar_tf.building.sources import human
from im2avatar_tf.building.sources.human_gen import plan as plan_mod
from im2avatar_tf.building.sources.human_gen.bodies import design_bodies
from im2avatar_tf.building.sources.human_gen.styles import STYLES, coverage
from im2avatar_tf.images import BACKGROUND_RGB, WHITE_RGB

REPO = Path(__file__).resolve().parents[1]


# -- torch-free parts ---------------------------------------------------------------------------
def test_paper_sized_plan_holds_out_bodies_and_styles():
    p = plan_mod.make_plan(40, 16, 367, seed=0)
    assert (len(p.train), len(p.test)) == (330, 37)
    assert len(set(p.pairs)) == 367
    assert p.held_out_bodies and p.held_out_styles
    for s, b in p.train:  # nothing held out is ever trained on
        assert b not in p.held_out_bodies and s not in p.held_out_styles
    for s, b in p.test:  # every test pair involves something unseen
        assert b in p.held_out_bodies or s in p.held_out_styles
    assert set(p.held_out_bodies) <= {b for _, b in p.test}
    assert set(p.held_out_styles) <= {s for s, _ in p.test}
    assert p == plan_mod.make_plan(40, 16, 367, seed=0)  # deterministic
    assert plan_mod.entry((2, 11)) == "clothes3 mesh12_new"


def test_styles_and_bodies_cover_the_issue():
    cov = coverage()
    assert cov["tops"] == sorted(["none", "sleeveless", "short", "long"])
    assert cov["bottoms"] == sorted(["shorts", "knee", "long", "skirt"])
    assert set(cov["patterns"]) == {"solid", "stripes", "checks", "gradient", "dots", "logo"}
    bodies = design_bodies(40)
    assert {round(b.gender) for b in bodies} == {0, 1}
    ages = [b.age_years for b in bodies]
    assert min(ages) < 18 and max(ages) > 70
    for k in ("weight", "height", "muscle"):
        v = [getattr(b, k) for b in bodies]
        assert max(v) - min(v) > 0.7, k
    assert design_bodies(5) == bodies[:5]  # prefix-stable


def test_glue_does_not_import_torch():
    code = ("import sys, im2avatar_tf.building.sources.human, im2avatar_tf.building.sources.human_gen.plan; "
            "print('torch' in sys.modules, 'anny' in sys.modules, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.stdout.split() == ["False", "False", "False"], out.stderr


def test_missing_extra_says_what_to_install(monkeypatch):
    monkeypatch.setattr(human, "missing_extra", lambda: ["torch", "anny"])
    with pytest.raises(ValueError, match=r"pip install torch==2\.13\.0 && pip install -r "
                                         r"requirements-human\.txt"):
        human.require_extra()


@pytest.mark.parametrize("flag, expected", [([], WHITE_RGB),
                                           (["--background", "245,245,245"], BACKGROUND_RGB),
                                           (["--background", "gray"], BACKGROUND_RGB),
                                           (["--background", "10,20,30"], (10, 20, 30))])
def test_human_background_is_white_unless_given(flag, expected, monkeypatch, capsys):
    """The human set defaults to white; an explicit --background (even the ShapeNet gray) is
    kept, and the message names the background used."""
    import argparse

    from im2avatar_tf.commands import build_dataset

    parser = argparse.ArgumentParser()
    build_dataset.add_arguments(parser)
    args = parser.parse_args(["--source", "human", "--bodies", "2", "--styles", "2",
                              "--out", "unused", "--no-progress"] + flag)
    seen = {}
    monkeypatch.setattr(human, "require_extra", lambda: None)
    monkeypatch.setattr(human, "build_human", lambda out, *a, **k: seen.update(options=a[4]) or {
        "built": 0, "reused": 0, "failed": {}, "train": 0, "test": 0, "held_out_bodies": [],
        "held_out_styles": [], "seconds_per_human": 0.0})
    assert build_dataset.run(args) == 0
    assert seen["options"].background == expected
    assert f"background {','.join(map(str, expected))}" in capsys.readouterr().out


def test_build_goes_through_the_dataset_builder(tmp_path, monkeypatch):
    """Torch-free: stand-in GLBs in the mesh cache, built by the builder's one build loop; the
    same body under two clothes folders is two models, a broken mesh is reported, not fatal."""
    import trimesh

    from im2avatar_tf.building import builder
    from im2avatar_tf.building.builder import BuildOptions

    monkeypatch.setattr(human, "require_extra", lambda: None)
    monkeypatch.setattr(human, "generate", lambda *a, **k: None)
    calls = []
    real = builder.build_dataset
    monkeypatch.setattr(builder, "build_dataset", lambda *a, **k: calls.append(k) or real(*a, **k))
    meshes = tmp_path / "meshes"
    meshes.mkdir()
    p = plan_mod.Plan(bodies=1, styles=16, seed=0, train=[(0, 0), (1, 0)], test=[(5, 0)],
                      held_out_bodies=[], held_out_styles=[5])
    for s, b in p.pairs:
        stem = meshes / f"{plan_mod.clothes_name(s)}_{plan_mod.mesh_name(b)}"
        box = trimesh.creation.box((0.3, 1.0, 0.2))
        box.visual.face_colors = [40 * (s + 1), 90, 160, 255]
        box.export(stem.with_suffix(".glb"))
        stem.with_suffix(".json").write_text(json.dumps({"pose": "rest"}))
    (meshes / "clothes6_mesh1_new.glb").write_bytes(b"not a mesh")
    out = tmp_path / "set"
    options = BuildOptions(resolution=16, image_size=32, views=2, background=WHITE_RGB)
    summary = human.build_human(out, bodies=1, options=options, progress=False, mesh_dir=meshes,
                                plan=p)
    assert calls and calls[0]["splits"] is False
    assert summary["built"] == 2 and list(summary["failed"]) == ["clothes6 mesh1_new"]
    assert (out / "train_list_human.txt").read_text() == "clothes1 mesh1_new\nclothes2 mesh1_new\n"
    assert (out / "test_list_human.txt").read_text() == ""
    meta = json.loads((out / "clothes2" / "mesh1_new" / "meta.json").read_text())
    assert meta["source"]["split"] == "train" and meta["source"]["generator"] == {"pose": "rest"}
    again = human.build_human(out, bodies=1, options=options, progress=False, mesh_dir=meshes,
                              plan=p)
    assert again["built"] == 0 and again["reused"] == 2


# -- end to end ---------------------------------------------------------------------------------
needs_extra = pytest.mark.skipif(
    bool(human.missing_extra()),
    reason=f"optional human extra not installed ({', '.join(human.missing_extra())}): "
           f"{human.INSTALL_HINT}")

SHIRT_STYLE = 2  # navy long-sleeved top, khaki trousers
assert STYLES[SHIRT_STYLE].upper.pattern == "solid" and STYLES[SHIRT_STYLE].top == "long"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if human.missing_extra():
        pytest.skip("optional human extra not installed")
    from im2avatar_tf.building.builder import BuildOptions

    out = tmp_path_factory.mktemp("human")
    p = plan_mod.Plan(bodies=2, styles=16, seed=0, train=[(SHIRT_STYLE, 0)], test=[(5, 1)],
                      held_out_bodies=[1], held_out_styles=[5])
    options = BuildOptions(resolution=32, background=WHITE_RGB)
    summary = human.build_human(out, bodies=2, options=options, progress=False,
                                mesh_dir=out / "_meshes", plan=p)
    return out, summary


@needs_extra
@pytest.mark.slow
def test_layout_and_splits(built):
    from im2avatar_tf.data.layout import VIEW_NAMES, read_split

    out, summary = built
    assert summary["failed"] == {} and summary["built"] == 2
    assert (out / "train_list_human.txt").read_text() == "clothes3 mesh1_new\n"
    assert (out / "test_list_human.txt").read_text() == "clothes6 mesh2_new\n"
    for split in ("train", "test"):
        for m in read_split(out, split, "human", resolution=32):
            assert m.color == m.root / f"{m.root.name}.h5"
            for f in m.required_files(VIEW_NAMES):
                assert f.exists(), f
            meta = json.loads(m.meta.read_text())
            assert meta["source"]["split"] == split
            assert meta["source"]["held_out_body"] == (split == "test")
            assert "pose" in meta["source"]["generator"]
    # views on white
    from PIL import Image

    view = np.asarray(Image.open(out / "clothes3" / "mesh1_new" / "views" / "0.000.png"))
    assert tuple(view[0, 0, :3]) == (255, 255, 255)
    # resumable: a second run reuses everything
    from im2avatar_tf.building.builder import BuildOptions

    again = human.build_human(out, bodies=2, options=BuildOptions(resolution=32,
                              background=WHITE_RGB), progress=False, mesh_dir=out / "_meshes",
                              plan=plan_mod.Plan.from_dict(json.loads(
                                  (out / "human_plan.json").read_text())))
    assert again["built"] == 0 and again["reused"] == 2


@needs_extra
@pytest.mark.slow
def test_shirt_color_on_torso_voxels(built):
    from im2avatar_tf.io import read_h5

    out, _ = built
    color = read_h5(out / "clothes3" / "mesh1_new" / "mesh1_new.h5")  # (32, 32, 32, 3)
    occ = color[..., 0] > -0.5
    r = color.shape[0]
    idx = np.argwhere(occ)
    ys = idx[:, 1]  # axes (x, y, z), y up
    y0, y1 = ys.min(), ys.max()
    h = (ys - y0) / (y1 - y0)
    xc = (idx[:, 0] + 0.5) / r - 0.5
    # Chest band of a standing person (rest pose, body 0): 62-75 % of the height, near the axis.
    torso = (h > 0.62) & (h < 0.75) & (np.abs(xc) < 0.06)
    assert torso.sum() >= 10
    cols = color[tuple(idx[torso].T)]
    navy = np.array(STYLES[SHIRT_STYLE].upper.colors[0]) / 255.0
    khaki = np.array(STYLES[SHIRT_STYLE].lower.colors[0]) / 255.0
    dist = np.linalg.norm(cols - navy, axis=1)
    assert np.median(dist) < 0.12, (np.median(cols, 0), navy)
    # and the legs wear the trousers' color
    legs = (h > 0.1) & (h < 0.4)
    leg_cols = color[tuple(idx[legs].T)]
    assert np.median(np.linalg.norm(leg_cols - khaki, axis=1)) < 0.12


@needs_extra
@pytest.mark.slow
def test_flow_of_visible_voxels_is_their_projection(built):
    from PIL import Image

    from im2avatar_tf.io import read_h5

    out, _ = built
    model = out / "clothes3" / "mesh1_new"
    meta = json.loads((model / "meta.json").read_text())
    view = meta["views"][0]
    K = np.array(view["camera"]["intrinsics"])
    E = np.array(view["camera"]["extrinsics"])
    size = view["camera"]["size"]
    color = read_h5(model / "mesh1_new.h5")
    flow = read_h5(model / "flow" / f"32_{view['name']}_coor.h5")  # (32, 32, 32, 2)
    occ = color[..., 0] > -0.5
    assert np.array_equal(flow[..., 0] > -0.5, occ)
    r = color.shape[0]
    idx = np.argwhere(occ)
    centers = -0.5 + (idx + 0.5) / r  # (M, 3) world, axes (x, y, z)
    cam = centers @ E[:3, :3].T + E[:3, 3]
    pix = (cam @ K.T)[:, :2] / cam[:, 2:3]  # (M, 2) x = column, y = row, in pixels
    col, row = np.floor(pix).astype(int).T
    img = np.asarray(Image.open(model / "views" / f"{view['name']}.png").convert("RGB"))
    fg = np.any(img != 255, axis=-1)
    # z-buffer over voxel centers: the nearest voxel per pixel is visible.
    order = np.lexsort((cam[:, 2], row * size + col))
    key = (row * size + col)[order]
    first = order[np.r_[True, key[1:] != key[:-1]]]
    first = first[fg[row[first], col[first]]]
    f = flow[tuple(idx[first].T)]  # (V, 2) normalized (x = column, y = row)
    fcol, frow = np.floor(f[:, 0] * size).astype(int), np.floor(f[:, 1] * size).astype(int)
    same = (np.abs(fcol - col[first]) <= 1) & (np.abs(frow - row[first]) <= 1)
    assert len(first) >= 50 and same.mean() > 0.9, same.mean()
    # Every voxel's flow is its own projection (visible) or a pixel of the person (hidden:
    # reference 4.4); at R=32 a thin limb's voxel center can project just off the silhouette.
    fall = flow[tuple(idx.T)]
    fc = np.clip((fall[:, 0] * size).astype(int), 0, size - 1)
    fr = np.clip((fall[:, 1] * size).astype(int), 0, size - 1)
    own = (np.abs(fc - col) <= 1) & (np.abs(fr - row) <= 1)
    assert (own | fg[fr, fc]).mean() > 0.98
    assert fg[fr, fc].mean() > 0.6
