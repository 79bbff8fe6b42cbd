"""List the registered experiments (paper tables and figures)."""
from __future__ import annotations

HELP = "list the experiments (paper tables and figures) with one line each"


def add_arguments(parser):
    pass


def run(args) -> int:
    from .. import registry
    from ..cli import first_doc_line

    names = registry.names()
    if not names:
        print("no experiments registered")
    for name in names:
        print(f"{name:20s} {first_doc_line(registry.find(name))}")
    return 0
