"""TensorFlow's process environment (im2avatar_tf/runtime.py): oneDNN on by default, the user's
own setting wins, and a quiet start-up that keeps real warnings and errors."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from im2avatar_tf import runtime

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import im2avatar_tf, tensorflow as tf, warnings
from im2avatar_tf.runtime import onednn_enabled
print("ONEDNN", onednn_enabled())
warnings.warn("a real warning")
tf.get_logger().error("a real error")
"""


def _python(code: str, **env_changes):
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_ENABLE_ONEDNN_OPTS", "TF_CPP_MIN_LOG_LEVEL", "IM2AVATAR_STARTUP_LOG")}
    env.update(env_changes)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_onednn_on_by_default_and_startup_quiet():
    out = _python(PROBE)
    assert out.returncode == 0, out.stderr
    assert "ONEDNN True" in out.stdout
    assert "a real warning" in out.stderr and "a real error" in out.stderr
    for noise in ("absl::InitializeLog", "oneDNN custom operations", "cpu_feature_guard",
                  "cudart_stub"):
        assert noise not in out.stderr, out.stderr
    if not runtime.gpu_driver_present():
        assert "cuInit" not in out.stderr, out.stderr


@pytest.mark.slow
def test_the_users_setting_wins():
    out = _python(PROBE, TF_ENABLE_ONEDNN_OPTS="0")
    assert out.returncode == 0, out.stderr
    assert "ONEDNN False" in out.stdout


def test_run_py_starts_quietly():
    out = subprocess.run([sys.executable, "run.py", "bench-infer", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "usage" in out.stdout
    assert out.stderr == ""


def test_filter_keeps_everything_but_startup_noise():
    code = """
import os
from im2avatar_tf.runtime import filtered_stderr
with filtered_stderr():
    os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n")
    os.write(2, b"I0000 00:00:1.0 1 port.cc:153] oneDNN custom operations are on. You may see\\n")
    os.write(2, b"E0000 00:00:1.0 1 some_kernel.cc:12] a genuine failure\\n")
    print("python side", file=__import__("sys").stderr)
"""
    out = _python(code)
    assert out.returncode == 0
    assert out.stderr.splitlines() == ["E0000 00:00:1.0 1 some_kernel.cc:12] a genuine failure",
                                       "python side"]


def test_filter_writes_back_when_the_block_raises():
    code = """
import os
from im2avatar_tf.runtime import filtered_stderr
try:
    with filtered_stderr():
        os.write(2, b"before the failure\\n")
        raise RuntimeError("boom")
except RuntimeError:
    pass
"""
    out = _python(code)
    assert out.returncode == 0 and out.stderr == "before the failure\n"
