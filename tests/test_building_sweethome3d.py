"""Real models from the Sweet Home 3D catalogue (Debian sweethome3d-furniture; CI installs it)."""
import json

import numpy as np
import pytest

from im2avatar_tf.building.sources import sweethome3d
from im2avatar_tf.building.builder import BuildOptions, build_dataset
from im2avatar_tf.data.check import check_dataset
from im2avatar_tf.io import read_h5
from im2avatar_tf.data.layout import human_model, shapenet_model
from im2avatar_tf.images import read_image


def test_parse_java_properties():
    text = (b"# comment\nname#1=Caf\\u00e9 chair\ncreator#1 = A \\\n  B\n"
            b"license=Public domain\nname\\#2=x\n")
    props = sweethome3d.parse_properties(text)
    assert props["name#1"] == "Caf\u00e9 chair"
    assert props["creator#1"] == "A B"
    assert props["license"] == "Public domain"


def test_category_rules():
    m = sweethome3d.map_category
    assert m("Armchair", "Living room") == "chair"
    assert m("Wheelchair", "Miscellaneous") is None
    assert m("Coffee table", "Living room") == "table"
    assert m("Table fan", "Living room") is None
    assert m("Ford Focus", "Vehicles") == "car"
    assert m("Truck", "Vehicles") is None
    assert m("Electric guitar", "Living room") == "guitar"
    assert m("Sitting girl", "Characters") == "human"
    assert m("Horse", "Characters") is None


needs_catalog = pytest.mark.skipif(
    not sweethome3d.available(),
    reason="Sweet Home 3D furniture catalogue absent: apt-get install sweethome3d-furniture")


@needs_catalog
def test_catalog_maps_every_category_with_creator_and_licence():
    entries = list(sweethome3d.iter_catalog())
    counts = {c: sum(e.category == c for e in entries) for c in sweethome3d.CATEGORIES}
    assert all(n >= 1 for n in counts.values()), counts
    assert counts["chair"] >= 20 and counts["human"] >= 20
    assert len({(e.category, e.model_id) for e in entries}) == len(entries)
    assert all(e.creator and e.license for e in entries)


@needs_catalog
@pytest.mark.parametrize("model_id, category", [
    ("blendswap-cc-0_armchair", "chair"),  # flat-colored, multi-part
    ("reallusion_girlStanding", "human"),  # texture-mapped person, human layout
])
def test_real_models_build_and_check(tmp_path, model_id, category):
    entries = [e for e in sweethome3d.iter_catalog((category,)) if e.model_id == model_id]
    assert len(entries) == 1
    jobs = [j for j in sweethome3d.sweethome3d_jobs((category,)) if j.model_id == model_id]
    report = build_dataset(jobs, tmp_path, BuildOptions(resolution=32, image_size=64),
                           progress=False)
    assert len(report.built) == 1, report.skipped
    result = check_dataset(tmp_path, progress=False)
    assert result.ok and result.models == 1, result.summary()
    m = (human_model(tmp_path, "sweethome3d", model_id, 32) if category == "human"
         else shapenet_model(tmp_path, category, model_id, 32))
    occupied = read_h5(m.color)[..., 0] > -0.5
    assert occupied.sum() > 300
    # Upright: y is the longest side of both, so the shell spans the full grid height.
    ys = np.nonzero(occupied.any(axis=(0, 2)))[0]
    assert ys.min() == 0 and ys.max() == 31
    img = read_image(m.view("0.000"))
    assert (np.abs(img.astype(int) - 245).sum(-1) > 30).mean() > 0.05  # an object is there
    meta = json.loads(m.meta.read_text())
    assert meta["source"]["creator"] == entries[0].creator
    assert meta["source"]["license"] == entries[0].license
    if category == "human":
        assert "texture" in meta["mesh"]["color_sources"]
        assert "Creative Commons" in meta["source"]["license"]
