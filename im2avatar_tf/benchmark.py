"""Training-step throughput and peak memory of the networks at a preset, on synthetic batches.

Used by `python run.py bench-train` (and by `bench-input` to compare the input pipeline
with the training rate). Synthetic data: what is timed is the network's step, not I/O.
"""
from __future__ import annotations

import json
import resource
import time
from typing import Optional

import numpy as np


def synthetic_batch(preset, batch_size: int, seed: int = 0) -> dict:
    """A batch dict with the trainer's keys and the preset's sizes (about 5% occupancy)."""
    rng = np.random.default_rng(seed)
    r, s = preset.model.volume_size, preset.model.image_size
    occ = (rng.random((batch_size, r, r, r, 1)) < 0.05).astype(np.float32)
    return {
        "image": rng.random((batch_size, s, s, 3)).astype(np.float32),
        "occupancy": occ,
        "color": np.where(occ > 0, rng.random((batch_size, r, r, r, 3)), -1).astype(np.float32),
        "flow": np.where(occ > 0, rng.random((batch_size, r, r, r, 2)), -1).astype(np.float32),
    }


def train_step_rate(preset, network: str, batch_size: Optional[int] = None, steps: int = 5,
                    warmup: int = 2, jit_compile: bool = False) -> dict:
    """Samples/s of `network` training steps at `preset` (after `warmup` steps), its training
    GFLOP per sample (`models.flops`) and the process's peak resident memory. Call in a fresh
    process for a meaningful peak. `jit_compile` times the step compiled by XLA."""
    import keras
    import tensorflow as tf

    from . import methods
    from .models.flops import training_flops
    from .recipe import make_optimizer, precision_policy
    from .training import NetworkTrainer

    batch_size = batch_size or preset.train.batch_size
    keras.utils.set_random_seed(0)
    with precision_policy(preset.train.mixed_precision):
        trainer = NetworkTrainer.for_method(methods.get(network), preset)
        net = trainer.network
        trainer.compile(optimizer=make_optimizer(preset.train), jit_compile=jit_compile)
    batch = {k: tf.constant(v) for k, v in synthetic_batch(preset, batch_size).items()}
    for _ in range(warmup):
        trainer.train_on_batch(batch)
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.train_on_batch(batch)
    seconds = time.perf_counter() - t0
    return {
        "preset": preset.name, "network": network, "batch_size": batch_size,
        "image_size": preset.model.image_size, "volume_size": preset.model.volume_size,
        "mixed_precision": preset.train.mixed_precision or "float32",
        "xla": bool(jit_compile),
        "train_gflop_per_sample": round(training_flops(net) / 1e9, 4),
        "samples_per_s": round(steps * batch_size / seconds, 2),
        "step_s": round(seconds / steps, 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main_json(preset_name: str, network: str, batch_size: Optional[int], steps: int,
              mixed_precision: Optional[str], jit_compile: bool = False) -> None:
    """Entry point for the per-configuration subprocess: prints one JSON line."""
    from .config import get_preset

    preset = get_preset(preset_name)
    if mixed_precision:
        preset = preset.replace(train={"mixed_precision": mixed_precision})
    print("BENCH " + json.dumps(train_step_rate(preset, network, batch_size, steps,
                                                    jit_compile=jit_compile)))
