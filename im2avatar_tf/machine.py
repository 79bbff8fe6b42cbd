"""What the benchmarks say about the machine they ran on: the CPU, its vector extensions,
whether TensorFlow's oneDNN kernels are on, and a measured float32 matmul rate (the machine's
practical peak, against which `bench-train` states the fraction it achieves)."""
from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from typing import List

# The vector extensions that matter for float32 / bfloat16 convolutions, in the order printed.
EXTENSIONS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16",
              "avx512_fp16", "amx_bf16", "amx_tile")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> set:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def vector_extensions() -> List[str]:
    flags = cpu_flags()
    return [e for e in EXTENSIONS if e in flags]


def _best_rate(fn, flop: float, repeats: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return flop / best / 1e9


def matmul_gflops(n: int = 2048, repeats: int = 5) -> dict:
    """float32 (n x n) @ (n x n), best of `repeats`: GFLOP/s of numpy and of TensorFlow."""
    import numpy as np
    import tensorflow as tf

    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    flop = 2.0 * n ** 3
    t = tf.constant(a)
    tf_matmul = tf.function(lambda x: tf.linalg.matmul(x, x))
    return {"numpy": _best_rate(lambda: a @ a, flop, repeats),
            "tensorflow": _best_rate(lambda: tf_matmul(t).numpy(), flop, repeats)}


@dataclass(frozen=True)
class MachineReport:
    cpu: str
    cores: int
    extensions: List[str]
    onednn: bool
    tensorflow: str
    matmul: dict  # {"numpy": GFLOP/s, "tensorflow": GFLOP/s}

    @property
    def peak_gflops(self) -> float:
        """The better of the two measured matmul rates: the reference for "fraction of peak"."""
        return max(self.matmul.values())

    def lines(self) -> List[str]:
        onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset")
        return [
            f"CPU: {self.cpu}; {self.cores} cores; vector extensions: "
            f"{' '.join(self.extensions) or 'none found'}",
            f"TensorFlow {self.tensorflow}; oneDNN kernels {'ON' if self.onednn else 'OFF'} "
            f"(TF_ENABLE_ONEDNN_OPTS={onednn})",
            f"float32 matmul 2048^2: numpy {self.matmul['numpy']:.0f} GFLOP/s, TensorFlow "
            f"{self.matmul['tensorflow']:.0f} GFLOP/s -> machine peak {self.peak_gflops:.0f} GFLOP/s",
        ]


def report(probe: bool = True) -> MachineReport:
    """The machine's description; `probe=False` skips the matmul timing (about 1 s)."""
    import tensorflow as tf

    from .runtime import onednn_enabled

    return MachineReport(
        cpu=cpu_model(), cores=os.cpu_count() or 1, extensions=vector_extensions(),
        onednn=onednn_enabled(), tensorflow=tf.__version__,
        matmul=matmul_gflops() if probe else {"numpy": float("nan"), "tensorflow": float("nan")})
