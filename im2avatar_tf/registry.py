"""A small name registry for experiments: `@register("table1")` on a module-level object with
`add_arguments(parser)` and `run(args) -> int`; duplicates raise; `names()` lists them."""
from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Dict

_EXPERIMENTS: Dict[str, Any] = {}


def register(name: str):
    """Decorator registering an experiment object (class or module-like) under `name`."""
    def wrap(obj):
        if name in _EXPERIMENTS and _EXPERIMENTS[name] is not obj:
            raise ValueError(f"experiment {name!r} registered twice")
        _EXPERIMENTS[name] = obj
        return obj
    return wrap


def load_experiments() -> None:
    """Import every module of the `experiments` package (they register themselves): the
    checkout's or the installed one, wherever Python finds it; none when it is not there."""
    try:
        package = importlib.import_module("experiments")
    except ModuleNotFoundError as e:
        if e.name != "experiments":
            raise
        return
    if getattr(package, "__file__", None) is None:  # a stray folder of that name, not ours
        return
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"experiments.{info.name}")


def find(name: str):
    load_experiments()
    try:
        return _EXPERIMENTS[name]
    except KeyError:
        raise KeyError(f"unknown experiment {name!r}; `python run.py list` shows them") from None


def names():
    load_experiments()
    return sorted(_EXPERIMENTS)
