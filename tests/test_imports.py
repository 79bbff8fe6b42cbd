"""The package's import graph: every module imports, no import cycles (counting the imports
inside functions too), no module imports another module's private names, layers point one way
(scene < data < building < the rest of the library < the command line) and only the command
line parses arguments."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("im2avatar_tf", "experiments")
OPTIONAL = {"torch", "anny", "warp"}  # the human extra (requirements-human.txt)


def project_modules() -> dict:
    """module name -> source path, for every .py file of the project's packages."""
    found = {}
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = project_modules()


def _absolute(module: str, is_package: bool, level: int, name: str) -> str:
    if level == 0:
        return name
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def imports_of(module: str) -> list:
    """(target module, imported names) of every import statement in a module, wherever it is."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, path.name == "__init__.py", node.level, node.module or "")
            out.append((target, [a.name for a in node.names]))
    return out


def graph() -> dict:
    """module -> the project modules it imports (a `from pkg import sub` counts as `pkg.sub`)."""
    edges = {}
    for module in MODULES:
        targets = set()
        for target, names in imports_of(module):
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
            if subs:
                targets.update(subs)
            if target in MODULES and len(subs) < len(names) or (target in MODULES and not names):
                targets.add(target)
        targets.discard(module)
        edges[module] = targets
    return edges


def cycles(edges: dict) -> list:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert cycles(graph()) == []


def _package(module: str) -> str:
    return module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]


def test_no_module_imports_another_modules_private_names():
    """Private names (`_x`) and private modules stay inside their own package."""
    reach_ins = []
    for module in MODULES:
        for target, names in imports_of(module):
            if target.split(".")[0] not in PACKAGES:
                continue
            private = [t for t in target.split(".") if t.startswith("_")]
            if private and target.rsplit(".", 1)[0] != _package(module):
                reach_ins.append(f"{module}: {target}")
            for name in names:
                own = f"{target}.{name}" in MODULES and target == _package(module)
                if name.startswith("_") and not own and target != module:
                    reach_ins.append(f"{module}: from {target} import {name}")
    assert reach_ins == [], "\n".join(reach_ins)


SHELL = ("im2avatar_tf.commands", "im2avatar_tf.cli", "im2avatar_tf.demo", "experiments")
# What each layer may not import, lowest layer first; a module is in the first that holds it.
LAYERS = (("im2avatar_tf.scene", ("im2avatar_tf.data", "im2avatar_tf.building") + SHELL),
          ("im2avatar_tf.data", ("im2avatar_tf.building",) + SHELL),
          ("im2avatar_tf.building", SHELL),
          ("im2avatar_tf", SHELL))


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _above(module: str) -> tuple:
    """The packages `module` may not import (none for the command line itself)."""
    if any(_within(module, s) for s in SHELL):
        return ()
    return next((above for layer, above in LAYERS if _within(module, layer)), ())


def test_layers_point_one_way():
    upward = sorted(f"{module} -> {target}" for module, targets in graph().items()
                    for target in targets if any(_within(target, p) for p in _above(module)))
    assert upward == [], "\n".join(upward)


def test_only_the_command_line_parses_arguments():
    parsers = sorted(m for m in MODULES if not any(_within(m, s) for s in SHELL)
                     and any(target == "argparse" for target, _ in imports_of(m)))
    assert parsers == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_imports(module):
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] in OPTIONAL:
            pytest.skip(f"{module} needs the optional {e.name}")
        raise
