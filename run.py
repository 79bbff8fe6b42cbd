#!/usr/bin/env python3
"""Single entry point: `python run.py <command> [options]`; `python run.py --help` lists them.

Importing `im2avatar_tf` first sets TensorFlow's environment (oneDNN on, a quiet start-up:
`im2avatar_tf/runtime.py`) before anything imports TensorFlow."""
import sys


def main() -> int:
    from im2avatar_tf.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
