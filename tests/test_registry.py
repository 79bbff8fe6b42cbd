"""The experiments registry: experiments are found wherever Python finds the `experiments`
package (a checkout or an installed copy), not by the checkout's path."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_experiments_are_found_wherever_the_package_is(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(ROOT / "experiments", site / "experiments",
                    ignore=shutil.ignore_patterns("__pycache__"))
    code = ("import experiments; from im2avatar_tf import registry; "
            "print(experiments.__file__); print(' '.join(registry.names()))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, check=True,
                         env={**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"})
    where, names = out.stdout.splitlines()
    assert where.startswith(str(site))
    assert {"claims", "table1", "table2", "unified", "views"} <= set(names.split())
