"""im2avatar_tf: a TensorFlow 2 / Keras 3 reproduction of Im2Avatar (Sun et al., 2018).

Importing the package sets TensorFlow's process environment first (oneDNN on, a quiet start-up:
see `runtime`), so it must come before any `import tensorflow` to take effect.
"""
from . import runtime as _runtime

_runtime.configure()

__version__ = "0.1.0"
