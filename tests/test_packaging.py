"""`pip install .`: pyproject.toml's dependencies are requirements.txt's pins, the `im2avatar`
command is `python run.py`'s main, and a wheel built from the checkout holds every module, the
demo's page and pictures, the experiments and the model zoo, which the unpacked package finds
with no checkout around it (no network: the wheel is built without build isolation)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
TEST_TOOLS = {"pytest", "pytest-xdist"}


def _pins(path: Path):
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def _name(pin: str) -> str:
    return re.split(r"[=<>!~\[ ]", pin, 1)[0].lower()


def _project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_dependencies_are_the_requirements_pins():
    project = _project()
    pins = _pins(ROOT / "requirements.txt")
    assert sorted(project["dependencies"]) == sorted(p for p in pins if _name(p) not in TEST_TOOLS)
    assert sorted(project["optional-dependencies"]["test"]) == sorted(
        p for p in pins if _name(p) in TEST_TOOLS)
    assert sorted(project["optional-dependencies"]["human"]) == sorted(
        _pins(ROOT / "requirements-human.txt"))


def test_console_command_is_run_py():
    from im2avatar_tf import cli

    target = _project()["scripts"]["im2avatar"]
    module, func = target.split(":")
    assert (module, func) == ("im2avatar_tf.cli", "main")
    assert getattr(cli, func) is cli.main
    assert "im2avatar_tf.cli import main" in (ROOT / "run.py").read_text()


@pytest.mark.slow
def test_wheel_holds_the_package_and_finds_its_zoo(tmp_path):
    # Built without isolation (no network): the environment's setuptools and wheel build it.
    setuptools = pytest.importorskip("setuptools")
    pytest.importorskip("wheel")
    if int(setuptools.__version__.split(".")[0]) < 61:
        pytest.skip(f"setuptools {setuptools.__version__} cannot read pyproject.toml's [project]")
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("im2avatar_tf", "experiments", "pretrained"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    out = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(out), str(src)], check=True, timeout=600)
    (wheel,) = out.glob("im2avatar_tf-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = next(z.read(n).decode() for n in names
                            if n.endswith(".dist-info/entry_points.txt"))
        z.extractall(tmp_path / "site")
    assert re.search(r"^im2avatar\s*=\s*im2avatar_tf\.cli:main$", entry_points, re.M)

    expected = {p.relative_to(ROOT).as_posix() for top in ("im2avatar_tf", "experiments")
                for p in (ROOT / top).rglob("*") if p.is_file() and "__pycache__" not in p.parts
                and p.suffix != ".pyc"}
    manifest = json.loads((ROOT / "pretrained" / "manifest.json").read_text())
    expected |= {"im2avatar_tf/zoo/manifest.json"}
    expected |= {f"im2avatar_tf/zoo/{name}/{file}"
                 for name, entry in manifest["models"].items() for file in entry["files"]}
    assert sorted(expected - names) == []

    # Unpacked (what pip install does with a pure-Python wheel), away from the checkout.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "IM2AVATAR_ZOO")}
    env["PYTHONPATH"] = str(tmp_path / "site")
    code = ("import im2avatar_tf, json; from im2avatar_tf import pretrained, registry; "
            "print(json.dumps([im2avatar_tf.__file__, str(pretrained.zoo_dir()), "
            "pretrained.names(), registry.names()]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True,
                          capture_output=True, text=True, timeout=120)
    package, zoo, names_, experiments = json.loads(done.stdout.strip().splitlines()[-1])
    site = (tmp_path / "site").resolve()
    assert Path(package).resolve().is_relative_to(site)
    assert Path(zoo).resolve() == site / "im2avatar_tf" / "zoo"
    assert names_ == sorted(manifest["models"])
    assert "table1" in experiments


def test_help_names_the_command_as_it_was_called(monkeypatch):
    """Installed, `im2avatar reconstruct --help` shows `im2avatar ...` examples, not `python
    run.py ...` (which only works in a checkout); from run.py it stays `python run.py`."""
    from im2avatar_tf import cli

    monkeypatch.setattr("sys.argv", ["/home/user/.local/bin/im2avatar", "--help"])
    parser = cli.build_parser(include_experiments=False)
    reconstruct = parser._subparsers._group_actions[0].choices["reconstruct"]
    assert parser.prog == "im2avatar"
    assert "im2avatar reconstruct im2avatar_tf/demo/examples/car_blue.png" in reconstruct.description
    assert "python run.py" not in reconstruct.description
    monkeypatch.setattr("sys.argv", ["run.py", "--help"])
    assert cli.build_parser(include_experiments=False).prog == "python run.py"
