"""im2avatar_tf: a TensorFlow 2 / Keras 3 reproduction of Im2Avatar (Sun et al., 2018)."""
__version__ = "0.1.0"
