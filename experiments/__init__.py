"""One small module per paper table or figure; each registers itself with
`im2avatar_tf.registry.register`. `python run.py list` shows them."""
