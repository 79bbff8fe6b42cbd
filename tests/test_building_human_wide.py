"""The wide human sets (`--human-variety`): the switch, the outfit and body designs, fabrics
and the split held out by body and by outfit (torch-free, always), and an end-to-end build of
people at R=32 through the real generator subprocess and the dataset builder (skipped without
the optional extra: `pip install torch==2.13.0 && pip install -r requirements-human.txt`).

Expectations come from the designs' own tables (outfit garments, pose families), not from the
code that builds meshes: a skirt made a mesh must occupy voxels between the legs that the same
person with the skirt painted on leaves empty.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from im2avatar_tf.building.sources import human
from im2avatar_tf.building.sources.human_gen import fabrics, outfits, plan as plan_mod, variety
from im2avatar_tf.building.sources.human_gen.bodies import design_bodies, design_wide_bodies


# -- torch-free ---------------------------------------------------------------------------------
def test_varieties_switch():
    assert set(variety.VARIETIES) == {"classic", "poses", "clothes", "wide"}
    assert variety.DEFAULT == "wide"
    classic = variety.variety("classic")
    assert (classic.bodies_default, classic.styles_default, classic.pairs_default) == (40, 16, 367)
    assert not classic.outfits and classic.split == "body-or-style"
    wide = {n: variety.variety(n) for n in ("poses", "clothes", "wide")}
    # the ablation's arms differ only in what their name says
    assert {(v.bodies, v.split, v.bodies_default, v.styles_default, v.pairs_default)
            for v in wide.values()} == {("wide", "body-and-outfit", 80, 48, 367)}
    assert (wide["poses"].poses, wide["poses"].clothes) == ("photo", "painted")
    assert (wide["clothes"].poses, wide["clothes"].clothes) == ("natural", "meshed")
    assert (wide["wide"].poses, wide["wide"].clothes) == ("photo", "meshed")
    assert variety.design("classic", 5, 0) == design_bodies(5, 0)
    assert variety.design("poses", 5, 0) == variety.design("wide", 5, 0) == design_wide_bodies(5, 0)
    with pytest.raises(ValueError, match="unknown human variety"):
        variety.variety("fancy")


@pytest.mark.parametrize("bodies, styles, pairs", [(80, 48, 367), (24, 16, 48), (12, 8, 40)])
def test_split_held_out_by_body_and_by_outfit(bodies, styles, pairs):
    p = plan_mod.make_heldout_plan(bodies, styles, pairs, seed=0)
    assert len(p.train) + len(p.test) == pairs == len(set(p.pairs))
    assert len(p.test) == max(1, round(0.1 * pairs))
    train_bodies, train_outfits = {b for _, b in p.train}, {s for s, _ in p.train}
    for s, b in p.test:  # no test person shares a body or an outfit with training
        assert b not in train_bodies and s not in train_outfits
        assert b in p.held_out_bodies and s in p.held_out_styles
    assert not set(p.held_out_bodies) & train_bodies
    assert not set(p.held_out_styles) & train_outfits
    # training is balanced over its bodies and outfits
    counts = np.bincount([b for _, b in p.train], minlength=bodies)[sorted(train_bodies)]
    assert counts.max() - counts.min() <= 1
    assert p == plan_mod.make_heldout_plan(bodies, styles, pairs, seed=0)
    assert p != plan_mod.make_heldout_plan(bodies, styles, pairs, seed=1)


def test_paper_sized_wide_plan_and_errors():
    p = human.make_plan("wide", 80, 48, 367, 0)
    assert (len(p.train), len(p.test)) == (330, 37)
    assert len(p.held_out_bodies) == 8 and len(p.held_out_styles) == 6
    assert human.make_plan("classic", 40, 16, 367, 0) == plan_mod.make_plan(40, 16, 367, 0)
    with pytest.raises(ValueError, match="ask for fewer pairs"):
        plan_mod.make_heldout_plan(4, 4, 16)
    with pytest.raises(ValueError, match="at least 2 bodies"):
        plan_mod.make_heldout_plan(1, 8, 4)


def test_most_heldout_pairs_fits_small_designs():
    for bodies, styles in ((8, 4), (10, 6), (3, 3)):
        n = plan_mod.most_heldout_pairs(bodies, styles, bodies * styles)
        plan_mod.make_heldout_plan(bodies, styles, n)  # feasible
        with pytest.raises(ValueError):
            plan_mod.make_heldout_plan(bodies, styles, n + 1)
    assert plan_mod.most_heldout_pairs(80, 48, 367) == 367


def test_outfits_cover_clothing_with_volume():
    design = outfits.design_outfits(48, seed=0)
    assert design[:10] == outfits.design_outfits(10, seed=0)  # prefix-stable
    assert design != outfits.design_outfits(48, seed=1)
    bottoms = {o.bottom for o in design}
    assert {"skirt", "dress", "jeans", "trousers", "shorts"} <= bottoms
    assert {o.outer for o in design} == {"none", "jacket", "coat"}
    assert len({o.hair for o in design}) >= 6
    meshed = [g for o in design for g in o.meshed]
    for garment in ("hair", "skirt", "dress", "coat", "jacket"):
        assert garment in meshed, garment
    for o in design:
        style = o.to_style()  # the flat version is a valid classic style
        assert style.dress == (o.bottom == "dress")
        if o.bottom == "jeans":
            assert o.bottom_fabric.kind == "denim"
        d = o.to_dict()
        assert d["name"] == o.name and json.loads(json.dumps(d))["meshed"] == o.meshed


def test_wide_bodies_span_ages_and_skin_tones():
    bodies = design_wide_bodies(80)
    assert bodies[:7] == design_wide_bodies(7)
    ages = [b.age_years for b in bodies]
    assert min(ages) < 12 and max(ages) > 80
    for k in ("weight", "height", "muscle"):
        v = [getattr(b, k) for b in bodies]
        assert max(v) - min(v) > 0.9, k
    tones = {b.skin_tone for b in bodies}
    assert len(tones) > 40  # continuous, not 8 anchors
    lum = [sum(t) for t in tones]
    assert min(lum) < 250 and max(lum) > 600  # dark to light
    assert {b.pose for b in bodies} == {"per-pair"}


def test_fabrics_are_deterministic_two_colored_cloth():
    rng = np.random.default_rng(0)
    pos = rng.uniform(-0.3, 0.3, (4000, 3))
    red, white = (200, 30, 30), (240, 240, 240)
    for kind in fabrics.KINDS:
        rgb = fabrics.color(fabrics.Fabric(kind, (red, white)), pos)
        assert rgb.shape == (4000, 3) and rgb.min() >= 0 and rgb.max() <= 1, kind
        assert np.array_equal(rgb, fabrics.color(fabrics.Fabric(kind, (red, white)), pos))
        assert rgb.std(0).max() > 0.002, kind  # never a flat fill (plastic nearly)
    plaid = fabrics.color(fabrics.Fabric("plaid", (red, white)), pos)
    whiteish = (plaid.min(1) > 0.6).mean()
    assert 0.1 < whiteish < 0.9  # both colors show
    tile = fabrics.tile(fabrics.Fabric("denim", ((52, 78, 120), (110, 150, 210))), 32)
    assert tile.shape == (32, 32, 3) and tile.dtype == np.uint8
    with pytest.raises(ValueError, match="unknown fabric"):
        fabrics.Fabric("silkk", (red, white))


def test_build_dataset_passes_the_variety(monkeypatch):
    import argparse

    from im2avatar_tf.commands import build_dataset

    parser = argparse.ArgumentParser()
    build_dataset.add_arguments(parser)
    seen = {}
    monkeypatch.setattr(human, "require_extra", lambda: None)
    monkeypatch.setattr(human, "build_human", lambda out, *a, **k: seen.update(args=a, **k) or {
        "built": 0, "reused": 0, "failed": {}, "train": 0, "test": 0, "held_out_bodies": [],
        "held_out_styles": [], "seconds_per_human": 0.0})
    base = ["--source", "human", "--out", "unused", "--no-progress"]
    assert build_dataset.run(parser.parse_args(base)) == 0
    assert seen["variety"] == "wide" and seen["args"][:3] == (80, 48, 367)
    assert build_dataset.run(parser.parse_args(base + ["--human-variety", "classic"])) == 0
    assert seen["variety"] == "classic" and seen["args"][:3] == (40, 16, 367)
    assert build_dataset.run(parser.parse_args(base + ["--human-variety", "poses", "--bodies",
                                                       "10", "--styles", "6"])) == 0
    # without --pairs, as many as a split held out by body and by outfit allows
    assert seen["variety"] == "poses" and seen["args"][:3] == (10, 6, 36)
    with pytest.raises(ValueError, match="--human-variety only apply to --source human"):
        build_dataset.run(parser.parse_args(["--source", "procedural", "--out", "unused",
                                             "--human-variety", "wide"]))


def test_mesh_caches_apart_per_variety():
    assert human.mesh_cache(0).name == "meshes-seed0"  # the classic cache, as before
    assert human.mesh_cache(3, "wide").name == "meshes-wide-v2-seed3"
    assert len({human.mesh_cache(0, v) for v in variety.VARIETIES}) == 4
    from im2avatar_tf.building.sources import human_generator

    assert human.WIDE_VERSION == human_generator.WIDE_VERSION


def test_designs_import_no_torch():
    """The designs are read by the TensorFlow side (names, splits, metadata): no torch."""
    import subprocess
    import sys

    mods = ", ".join(f"im2avatar_tf.building.sources.human_gen.{m}"
                     for m in ("variety", "outfits", "fabrics", "plan", "bodies", "styles"))
    code = f"import sys, {mods}; print('torch' in sys.modules, 'anny' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.split() == ["False", "False"], out.stderr


# -- end to end (needs the extra) ---------------------------------------------------------------
needs_extra = pytest.mark.skipif(
    bool(human.missing_extra()),
    reason=f"optional human extra not installed ({', '.join(human.missing_extra())}): "
           f"{human.INSTALL_HINT}")


def _standing_skirt_pair(n_bodies: int, n_outfits: int):
    """An (outfit, body) pair whose photo pose stands or walks and whose outfit is a knee to
    maxi skirt or dress, found from the designs' own draws."""
    from im2avatar_tf.building.sources.human_gen import poses

    design = outfits.design_outfits(n_outfits)
    for s, o in enumerate(design):
        if o.bottom in ("skirt", "dress") and o.length in ("knee", "midi", "maxi") \
                and o.outer == "none":
            for b in range(n_bodies):
                rng = np.random.default_rng(variety.pair_seed(0, s, b))
                if poses._pick(rng, poses.FAMILIES) == "stand":
                    return s, b
    raise AssertionError("no standing skirt pair in the design")


@pytest.fixture(scope="module")
def wide_and_painted(tmp_path_factory):
    if human.missing_extra():
        pytest.skip("optional human extra not installed")
    from im2avatar_tf.building.builder import BuildOptions
    from im2avatar_tf.images import WHITE_RGB

    s, b = _standing_skirt_pair(6, 16)
    other = ((s + 1) % 16, (b + 1) % 6)
    p = plan_mod.Plan(bodies=6, styles=16, seed=0, train=[(s, b)], test=[other],
                      held_out_bodies=[other[1]], held_out_styles=[other[0]])
    # the other varieties build only the skirt pair: each person costs seconds, and the tests
    # compare them with `wide` on that pair alone
    alone = plan_mod.Plan(bodies=6, styles=16, seed=0, train=[(s, b)], test=[],
                          held_out_bodies=[], held_out_styles=[])
    plans = {"wide": p, "poses": alone, "clothes": alone}
    roots = {name: tmp_path_factory.mktemp(name) for name in plans}
    # The meshes of all three in one generator process, through its command line: each process
    # spends most of its time importing torch and anny (about 40 of 60 s here), and
    # `build_human` then finds the meshes done. Its own subprocess: tests/test_building_human.py.
    _generate_in_one_process([
        ["--out", str(roots[name] / "_meshes"), "--bodies", "6", "--seed", "0", "--variety",
         name, "--outfits", "16", "--jsonl",
         "--pairs", ",".join(f"{ps}:{pb}" for ps, pb in plan.pairs)]
        for name, plan in plans.items()])
    out = {}
    for name, plan in plans.items():
        root = roots[name]
        summary = human.build_human(root, bodies=6, styles=16, options=BuildOptions(
            resolution=32, background=WHITE_RGB), progress=False, mesh_dir=root / "_meshes",
            plan=plan, variety=name)
        out[name] = (root, summary, (s, b), other)
    return out


def _generate_in_one_process(runs) -> None:
    """Run the human generator's command line once per argument list, all in one subprocess
    (torch stays out of the test process, as it stays out of `build_human`'s)."""
    import subprocess
    import sys

    script = ("import json, sys\n"
              "from im2avatar_tf.commands.human_generator import main\n"
              "for argv in json.loads(sys.argv[1]):\n"
              "    assert main(argv) == 0, argv\n")
    done = subprocess.run([sys.executable, "-c", script, json.dumps(runs)], env=human.cache_env(),
                          cwd=str(human.REPO), capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sum(line.startswith("{") for line in done.stdout.splitlines()) == \
        sum(len(argv[-1].split(",")) for argv in runs)


@needs_extra
@pytest.mark.slow
def test_wide_build_layout_and_metadata(wide_and_painted):
    from im2avatar_tf.data.layout import VIEW_NAMES, read_split

    root, summary, (s, b), other = wide_and_painted["wide"]
    assert summary["failed"] == {} and summary["built"] == 2 and summary["variety"] == "wide"
    assert (root / "train_list_human.txt").read_text() == f"{plan_mod.entry((s, b))}\n"
    assert (root / "test_list_human.txt").read_text() == f"{plan_mod.entry(other)}\n"
    plan_doc = json.loads((root / "human_plan.json").read_text())
    assert plan_doc["variety"]["name"] == "wide"
    for split in ("train", "test"):
        for m in read_split(root, split, "human", resolution=32):
            for f in m.required_files(VIEW_NAMES):
                assert f.exists(), f
            src = json.loads(m.meta.read_text())["source"]
            gen = src["generator"]
            assert src["split"] == split and src["variety"] == "wide"
            assert gen["variety"]["name"] == "wide" and gen["generator_version"] == 2
            outfit = outfits.design_outfits(16)[gen["outfit_id"]]
            assert gen["outfit"]["name"] == outfit.name and gen["outfit"]["meshed"] == outfit.meshed
            assert gen["pose"]["family"] in ("stand", "walk", "sit", "sit_floor", "arms_crossed",
                                             "hands_front", "hold", "lying", "natural")
            assert gen["body"]["pose"] == "per-pair" and "anny_phenotype" in gen


@needs_extra
@pytest.mark.slow
def test_skirt_mesh_fills_between_the_legs(wide_and_painted):
    """The same standing person, skirt as a mesh (wide) or painted (poses): in the band just
    below the hips, the mesh occupies the gap between the legs in front view, the paint
    cannot."""
    from im2avatar_tf.io import read_h5

    def gap_fraction(name):
        root, _, (s, b), _ = wide_and_painted[name]
        from im2avatar_tf.building.sources.human_gen.plan import clothes_name, mesh_name

        color = read_h5(root / clothes_name(s) / mesh_name(b) / f"{mesh_name(b)}.h5")
        occ = color[..., 0] > -0.5  # (x, y, z), y up
        ys = np.argwhere(occ)[:, 1]
        y0, y1 = ys.min(), ys.max()
        band = occ[:, y0 + int(0.30 * (y1 - y0)):y0 + int(0.42 * (y1 - y0)) + 1, :]
        front = band.any(2)  # (x, y) silhouette seen from the front
        empty = total = 0
        for row in front.T:  # each height: empty cells between its outermost occupied ones
            xs = np.flatnonzero(row)
            if len(xs):
                inside = row[xs.min():xs.max() + 1]
                empty, total = empty + (~inside).sum(), total + len(inside)
        return empty / total

    root, _, (s, b), _ = wide_and_painted["wide"]
    outfit = outfits.design_outfits(16)[s]
    assert outfit.bottom in ("skirt", "dress")
    # and the voxels there wear the skirt's fabric (its colors at random points)
    from im2avatar_tf.building.sources.human_gen.plan import clothes_name, mesh_name

    color = read_h5(root / clothes_name(s) / mesh_name(b) / f"{mesh_name(b)}.h5")
    occ = color[..., 0] > -0.5
    idx = np.argwhere(occ)
    y0, y1 = idx[:, 1].min(), idx[:, 1].max()
    band = idx[(idx[:, 1] >= y0 + 0.30 * (y1 - y0)) & (idx[:, 1] <= y0 + 0.42 * (y1 - y0))]
    cloth = fabrics.color(outfit.bottom_fabric, np.random.default_rng(0).uniform(-0.4, 0.4, (4000, 3)))
    got = np.median(color[tuple(band.T)], 0)
    assert np.abs(got - np.median(cloth, 0)).max() < 0.15, (got, np.median(cloth, 0))
    wide, painted = gap_fraction("wide"), gap_fraction("poses")
    assert wide < 0.02 and painted > wide + 0.05, (wide, painted)


needs_torch = pytest.mark.skipif(bool(human.missing_extra()), reason="optional human extra not "
                                 f"installed: {human.INSTALL_HINT}")


@needs_torch
def test_photo_pose_families_and_shares():
    from im2avatar_tf.building.sources.human_gen import poses

    rng = np.random.default_rng(0)
    draws = [poses.sample_photo_pose(rng) for _ in range(3000)]
    families = [d["family"] for d in draws]
    for family, share in poses.FAMILIES.items():
        assert abs(families.count(family) / len(draws) - share) < 0.03, family
    for d in draws:
        angles = poses.angles(d)
        assert all(isinstance(v, float) and abs(v) <= 150 for v in angles.values()), d
        assert abs(angles.get("head_turn", 0.0)) <= 55
        if d["family"] == "sit":
            assert d["seat"] in poses.SEATS and angles["hip_forward.L"] >= 78
        if d["family"] == "hold":
            assert d["held"] in poses.HELD and d["held_side"] in ("L", "R")
        if d["family"] == "lying":
            assert d["lying"] in poses.LYING and abs(angles["body_pitch"]) == 90.0
            assert ("body_roll" in angles) == (d["lying"] == "side")
        if d["family"] == "sit_floor":  # cross-legged: thighs out and turned, knees folded
            assert angles["hip_out.L"] >= 38 and angles["hip_twist.R"] >= 38
            assert angles["knee.L"] >= 130
        assert ("shoulder_twist.L" in angles) <= (d["family"] in ("sit", "arms_crossed",
                                                                  "hands_front", "hold"))
        assert ("hip_twist.L" in angles) == (d["family"] == "sit_floor")


@needs_torch
def test_shell_is_offset_and_closed_by_its_rim():
    """A garment shell over half a sphere: its vertices sit `t` outside, the covered faces are
    gone, and the rim closes it (every edge shared by two faces: watertight)."""
    import trimesh

    from im2avatar_tf.building.sources.human_gen import garments

    sphere = trimesh.creation.icosphere(3, 1.0)
    v, f = np.asarray(sphere.vertices), np.asarray(sphere.faces)

    class Split:  # no UV seams: output vertex k is source vertex k
        vertex = np.arange(len(v))
        faces = f

    t = np.where(v[:, 2] > 0.2, 0.05, 0.0)
    verts, faces, uv_of = garments.dress_body(v, f, Split, t, np.zeros(len(v), bool))
    out = trimesh.Trimesh(verts, faces, process=False)
    shell = np.arange(len(v), len(verts))
    assert np.allclose(np.linalg.norm(verts[shell], axis=1), 1.05, atol=2e-3)
    assert np.array_equal(uv_of[shell], np.unique(f[(t[f] > 0).all(1)]))
    assert (np.linalg.norm(verts[np.unique(faces)], axis=1) > 0.999).all()  # nothing inside
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), 1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    assert (counts == 2).all(), np.bincount(counts)
    assert len(faces) > len(f)  # body less the covered faces, + shell (as many) + rim
    assert out.is_watertight


@needs_extra
@pytest.mark.slow
def test_a_person_rebuilds_from_its_metadata(wide_and_painted, tmp_path):
    """meta.json's `rebuild` command, run as is, writes the same mesh byte for byte."""
    import shlex
    import subprocess
    import sys

    root, _, (s, b), _ = wide_and_painted["wide"]
    stem = f"{plan_mod.clothes_name(s)}_{plan_mod.mesh_name(b)}"
    meta = json.loads((root / plan_mod.clothes_name(s) / plan_mod.mesh_name(b) / "meta.json")
                      .read_text())["source"]["generator"]
    cmd = shlex.split(meta["rebuild"].replace("DIR", str(tmp_path)))
    assert cmd[:3] == ["python", "-m", "im2avatar_tf.commands.human_generator"]
    done = subprocess.run([sys.executable] + cmd[1:], capture_output=True, text=True,
                          env=human.cache_env(), cwd=human.REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / f"{stem}.glb").read_bytes() == (root / "_meshes" / f"{stem}.glb").read_bytes()


@needs_extra
@pytest.mark.slow
def test_clothes_variety_keeps_classic_poses(wide_and_painted):
    """`clothes`: the same outfits with volume, on the classic pose distribution (rest or a
    natural random pose, no family, seat or held thing)."""
    root, summary, (s, b), _ = wide_and_painted["clothes"]
    assert summary["failed"] == {} and summary["built"] == 1
    gen = json.loads((root / plan_mod.clothes_name(s) / plan_mod.mesh_name(b) / "meta.json")
                     .read_text())["source"]["generator"]
    assert gen["variety"]["name"] == "clothes" and "family" not in gen["pose"]
    assert gen["outfit"]["meshed"] == outfits.design_outfits(16)[s].meshed



def test_nearest_shell_iou():
    from im2avatar_tf.building.sources.human_gen.coverage import nearest_shell_iou

    a = np.zeros((2, 4, 4, 4), bool)
    a[0, :2] = True  # 32 voxels
    a[1, :, :1] = True  # 16 voxels
    g = np.zeros((3, 4, 4, 4), bool)
    g[0, :1] = True  # 16 voxels inside a[0]: IoU 0.5 with it
    g[1, :2, :2] = True  # 16 voxels: IoU 16/32 with a[0], 8/24 with a[1]
    g[2] = a[1]
    assert np.allclose(nearest_shell_iou(a, g), [0.5, 1.0])


@needs_extra
@pytest.mark.slow
def test_coverage_of_a_set_by_itself_is_one(wide_and_painted):
    from im2avatar_tf.building.sources.human_gen import coverage

    root = wide_and_painted["wide"][0]
    table = coverage.coverage(root, {"self": str(root), "poses": str(wide_and_painted["poses"][0])})
    assert table["self"]["all"] == pytest.approx(1.0) and table["self"]["people"] == 2
    assert 0.0 < table["poses"]["all"] < 1.0
