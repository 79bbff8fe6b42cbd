"""The process environment TensorFlow starts in: oneDNN kernels on, and a quiet start-up.

`configure()` runs when `im2avatar_tf` is first imported (so through `run.py`, the tests and
`import im2avatar_tf`), before anything in the package imports TensorFlow:

- **oneDNN on.** TensorFlow 2.21 enables its oneDNN kernels by default only on CPUs with
  AVX-512-class features; elsewhere (e.g. AVX2-only AMD EPYC) 3D (transposed) convolutions fall
  back to Eigen and train 8-16x slower (`../shared/probes.md`, issue 12). We set
  `TF_ENABLE_ONEDNN_OPTS=1` unless the user set it: a user's own value always wins.
- **Log level.** `TF_CPP_MIN_LOG_LEVEL=2` unless set: TensorFlow's C++ INFO and WARNING lines
  (e.g. the "End of sequence" line at every tf.data epoch end) are hidden; errors stay.
- **Quiet start-up.** TensorFlow writes its start-up lines (the absl preamble, "oneDNN custom
  operations are on", "Could not find cuda drivers", cuInit's UNKNOWN ERROR on a machine
  without a GPU driver, the CPU-feature note) before its logging is initialised, so no log level
  reaches them. The first `import tensorflow` therefore runs with the process's stderr (fd 2)
  captured, together with the device enumeration that calls cuInit; afterwards every captured
  line is written back except those start-up lines (`STARTUP_NOISE`). Real warnings and errors
  pass through. `IM2AVATAR_STARTUP_LOG=1` turns the filter off.

If TensorFlow was imported before `im2avatar_tf`, nothing here can change it; `onednn_enabled()`
reports what is actually in force.
"""
from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"

# Start-up lines TensorFlow prints on every CPU-only start, whatever the log level.
STARTUP_NOISE = [
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"port\.cc:\d+\] oneDNN custom operations are on",
    r"cudart_stub\.cc:\d+\] Could not find cuda drivers",
    r"cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized",
    r"^To enable the following instructions: .* rebuild TensorFlow",
    r"Unable to register cu(FFT|DNN|BLAS) factory",
]
# cuInit's failure is noise only where no NVIDIA driver is installed; with one it is a real error.
NO_DRIVER_NOISE = [r"cuda_platform\.cc:\d+\] failed call to cuInit"]


def configure() -> None:
    """Set oneDNN and the log level (the user's own settings win) and quiet TensorFlow's first
    import. Idempotent; does not import TensorFlow."""
    os.environ.setdefault(ONEDNN_VARIABLE, "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if ("tensorflow" in sys.modules or os.environ.get("IM2AVATAR_STARTUP_LOG")
            or any(isinstance(f, _QuietTensorFlowImport) for f in sys.meta_path)):
        return
    sys.meta_path.insert(0, _QuietTensorFlowImport())


def gpu_driver_present() -> bool:
    return os.path.exists("/proc/driver/nvidia/version")


def is_startup_noise(line: str) -> bool:
    patterns = STARTUP_NOISE + ([] if gpu_driver_present() else NO_DRIVER_NOISE)
    return any(re.search(p, line) for p in patterns)


@contextlib.contextmanager
def filtered_stderr():
    """Capture fd 2 (C++ and Python writes alike) for the block; write back what is not
    start-up noise when it ends, also when it raises."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", errors="replace")
            kept = [line for line in text.splitlines(keepends=True) if not is_startup_noise(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` with the normal machinery and wraps its loader in `filtered_stderr`."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once: later lookups go straight to the normal finders
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with filtered_stderr():
            self.loader.exec_module(module)
            module.__loader__ = module.__spec__.loader = self.loader
            module.config.list_physical_devices()  # device start-up (cuInit) inside the filter


def onednn_enabled() -> bool:
    """Whether TensorFlow's oneDNN kernels are on in this process (imports TensorFlow)."""
    import tensorflow  # noqa: F401
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())
