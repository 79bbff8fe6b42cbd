"""`python run.py <command>`: sub-commands, each a thin shell over a library module.

Every command lives in `im2avatar_tf/commands/<name>.py` with `HELP` (one line),
`add_arguments(parser)` and `run(args) -> int`. Modules are imported lazily so `--help` is
fast and TensorFlow is only loaded by commands that need it. Experiments (`experiments/`)
are commands too: `python run.py list` shows them.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import List, Optional

# name -> module under im2avatar_tf.commands, in the order `--help` lists them.
COMMANDS = {
    "quickstart": "quickstart",
    "list": "list_experiments",
    "train": "train",
    "runs": "list_runs",
    "evaluate": "evaluate",
    "precise-bn": "precise_bn",
    "bn-probe": "bn_probe",
    "build-dataset": "build_dataset",
    "check-dataset": "check_dataset",
    "preview-dataset": "preview_dataset",
    "reconstruct": "reconstruct",
    "export": "export",
    "models": "models",
    "publish-model": "publish_model",
    "demo": "demo",
    "bench-train": "bench_train",
    "bench-build": "bench_build",
    "bench-input": "bench_input",
    "bench-infer": "bench_infer",
}


def _load(module: str):
    return importlib.import_module(f"im2avatar_tf.commands.{module}")


def first_doc_line(obj) -> str:
    doc = getattr(obj, "HELP", None) or (obj.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def program_name() -> str:
    """How the user called us: `im2avatar` (the command `pip install .` puts on the PATH) or
    `python run.py` (a checkout); `--help` and its examples use it."""
    called = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "im2avatar" if called == "im2avatar" else "python run.py"


def _as_called(text: Optional[str], prog: str) -> Optional[str]:
    return text.replace("python run.py", prog) if text and prog != "python run.py" else text


def build_parser(include_experiments: bool = True) -> argparse.ArgumentParser:
    prog = program_name()
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Im2Avatar in TensorFlow/Keras: colorful 3D reconstruction from one image.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for name, module in COMMANDS.items():
        try:
            mod = _load(module)
        except ModuleNotFoundError as e:
            if e.name and e.name.startswith("im2avatar_tf.commands"):
                continue  # a command not written yet is simply not offered
            raise
        p = sub.add_parser(name, help=first_doc_line(mod),
                           description=_as_called(mod.__doc__, prog),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(p)
        p.set_defaults(_runner=mod.run)
    if include_experiments:
        from . import registry

        for name in registry.names():
            exp = registry.find(name)
            p = sub.add_parser(name, help="experiment: " + first_doc_line(exp),
                               description=_as_called(exp.__doc__, prog),
                               formatter_class=argparse.RawDescriptionHelpFormatter)
            exp.add_arguments(p)
            p.set_defaults(_runner=exp.run)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_runner", None):
        parser.print_help()
        return 2
    try:
        return int(args._runner(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (FileNotFoundError, ValueError, KeyError, OSError) as e:
        # User-facing errors: one clear line, no traceback (set IM2AVATAR_DEBUG=1 for it).
        if os.environ.get("IM2AVATAR_DEBUG"):
            raise
        print(f"error: {e}", file=sys.stderr)
        return 1
