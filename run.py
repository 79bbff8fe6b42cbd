#!/usr/bin/env python3
"""Single entry point: `python run.py <command> [options]`; `python run.py --help` lists them."""
import os
import sys

# tcmalloc roughly halves the time 3D convolutions spend in the system allocator on CPU
# (../shared/probes.md: x1.3-2.3 at 64^3). Used when installed (Debian libtcmalloc-minimal4);
# IM2AVATAR_ALLOCATOR=default turns it off.
TCMALLOC = ("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
            "/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4")


def _use_tcmalloc() -> None:
    if os.environ.get("IM2AVATAR_ALLOCATOR", "tcmalloc") != "tcmalloc" or os.environ.get("LD_PRELOAD"):
        return
    lib = next((p for p in TCMALLOC if os.path.exists(p)), None)
    if lib:
        os.environ["LD_PRELOAD"] = lib
        os.execv(sys.executable, [sys.executable] + sys.argv)


def main() -> int:
    from im2avatar_tf.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    _use_tcmalloc()
    sys.exit(main())
