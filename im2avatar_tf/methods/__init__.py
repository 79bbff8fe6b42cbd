"""Methods: one module per method, each defining `METHOD`, a `base.Method` (how to build its
network from the model config, its objective with named loss parts, its predictor for the
evaluation, its default thresholds). Training, evaluation, the benchmarks and the experiments
see only that interface; a new baseline is one file here.

    names()                  # ['color', 'r2n2', 'shape', 'unified']: the modules, not imported
    method = get("r2n2")     # the module's METHOD
    net = method.build(preset.model)
    total, parts = method.objective(preset.loss)(batch, net(batch["image"]))
    result = evaluation.evaluate(method.predictor(net), root, ...)

The registry is this package's modules: a method's name is its module's name (`names()`
lists them without importing TensorFlow, so `--help` stays fast).
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import List


def names() -> List[str]:
    """Every method's name, sorted (the CLI's choices for --network)."""
    return sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                  if not m.name.startswith("_") and m.name != "base")


def get(name: str):
    """The `Method` called `name`."""
    if name not in names():
        raise ValueError(f"unknown network {name!r}; choose one of {names()}")
    method = importlib.import_module(f"{__name__}.{name}").METHOD
    if method.name != name:
        raise ValueError(f"{__name__}.{name} defines a method named {method.name!r}")
    return method
