"""Where caches go: $IM2AVATAR_CACHE, else the checkout's cache/, else (installed) ~/.cache."""
from pathlib import Path

from im2avatar_tf import caches
from im2avatar_tf.building.sources import human


def test_the_cache_root_follows_the_environment_then_the_checkout(monkeypatch, tmp_path):
    monkeypatch.delenv("IM2AVATAR_CACHE", raising=False)
    assert caches.root() == Path(__file__).resolve().parents[1] / "cache"  # this checkout
    assert human.mesh_cache(0) == caches.root() / "human" / "meshes-seed0"
    monkeypatch.setenv("IM2AVATAR_CACHE", str(tmp_path))
    assert caches.root() == tmp_path
    assert human.mesh_cache(1, "wide").parent == tmp_path / "human"
    assert human.cache_env()["ANNY_CACHE_DIR"].startswith(str(tmp_path))


def test_an_installed_package_caches_in_the_home_folder_not_in_site_packages(monkeypatch,
                                                                             tmp_path):
    """`pip install .` puts the package in site-packages, with no run.py beside it."""
    monkeypatch.delenv("IM2AVATAR_CACHE", raising=False)
    monkeypatch.setattr(caches, "CHECKOUT", tmp_path / "site-packages")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert caches.root() == tmp_path / "home" / ".cache" / "im2avatar"
