"""Where the caches go: the training inputs' compact arrays (`data.cache`) and the human
generator's body-model and mesh caches (`building.sources.human`).

    $IM2AVATAR_CACHE                 when set
    <checkout>/cache                 in a checkout (the folder holding run.py), from any cwd
    ~/.cache/im2avatar               an installed package (`pip install .`): never inside
                                     site-packages
"""
from __future__ import annotations

import os
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]


def root() -> Path:
    """The cache folder (see the module's docstring); read at each call, so a test or a user
    may set IM2AVATAR_CACHE after import."""
    if os.environ.get("IM2AVATAR_CACHE"):
        return Path(os.environ["IM2AVATAR_CACHE"])
    if (CHECKOUT / "run.py").is_file():
        return CHECKOUT / "cache"
    return Path.home() / ".cache" / "im2avatar"
