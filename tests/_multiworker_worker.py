"""One worker of a multi-worker test run (not a test module): trains the tiny shape network
on a toy dataset with the strategy given and saves its final weights.

    python tests/_multiworker_worker.py DATA RUN_DIR WEIGHTS.npz STRATEGY EPOCHS [KILL_AT_STEP]

TF_CONFIG comes from the environment. KILL_AT_STEP: this process kills itself (SIGKILL) after
that many training steps, in the middle of an epoch, as a crashed machine would.
"""
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import im2avatar_tf  # noqa: E402,F401  (before TensorFlow: quiet start-up)
import keras  # noqa: E402
import numpy as np  # noqa: E402

from im2avatar_tf.config import get_preset  # noqa: E402
from im2avatar_tf.data.pipeline import InputPipeline  # noqa: E402
from im2avatar_tf.training import train  # noqa: E402

BATCH = 4


class KillAt(keras.callbacks.Callback):
    def __init__(self, step):
        super().__init__()
        self.step, self.done = step, 0

    def on_train_batch_end(self, batch, logs=None):
        self.done += 1
        if self.done == self.step:
            os.kill(os.getpid(), signal.SIGKILL)


def preset(epochs):
    return get_preset("tiny").replace(train={"epochs": epochs, "batch_size": BATCH,
                                             "checkpoint_every": 1},
                                      data={"categories": ("car",)})


def main(data, run_dir, weights, strategy, epochs, kill_at=None):
    import tensorflow as tf

    # Up to three of these share a 2-core test machine: one thread each avoids thrashing.
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    p = preset(int(epochs))
    pipe = InputPipeline.for_preset(p, data, split="train", cache=False)
    callbacks = [KillAt(int(kill_at))] if kill_at else []
    net = train(p, "shape", pipe, run_dir, strategy=None if strategy == "default" else strategy,
                verbose=0, callbacks=callbacks)
    np.savez(weights, *[np.asarray(w) for w in net.weights])
    print("WORKER_DONE", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
