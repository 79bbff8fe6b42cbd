"""The Im2Avatar networks (reference section 1) as Keras functional models, and the parts
(encoder, decoder trunk, heads) the baselines in `methods/` build theirs from:
image (B, H, W, 3) in [0, 1] -> named outputs.

- shape:   logits (B, R, R, R, 1)                                   [model_shape.py]
- color:   regressed, confidence, flow, sampled, blended             [model_color.py]
"""
from __future__ import annotations

import keras
from keras import layers

from ..config import ModelConfig
from .layers import Blend, ImageSampler, conv_bn_act


def conv_block(cfg: ModelConfig):
    """conv_bn_act with the model's L1 penalty and BN epsilon bound."""
    def block(x, op, filters, kernel, strides, padding, activation, name, batch_norm=True):
        return conv_bn_act(x, op, filters, kernel, strides, padding, activation, name,
                           l1=cfg.l1_penalty, bn_epsilon=cfg.bn_epsilon, batch_norm=batch_norm)
    return block


def encoder(image, cfg: ModelConfig):
    """image (B, H, W, 3) -> seed volume (B, s, s, s, C) (s = 4, C = 128 at the paper size)."""
    enc, block = cfg.encoder, conv_block(cfg)
    x = image
    for i, (ch, k) in enumerate(zip(enc.conv_channels, enc.conv_kernels), start=1):
        x = block(x, "conv2d", ch, k, 2, "same", "elu", f"conv{i}")  # (B, H/2^i, W/2^i, ch)
    n = len(enc.conv_channels) + 1
    # conv6 takes the remaining spatial extent: (B, 1, 1, bottleneck)
    x = block(x, "conv2d", enc.bottleneck_channels, enc.final_extent, 1, "valid", "elu", f"conv{n}")
    x = layers.Flatten(name="flatten")(x)
    x = block(x, "dense", enc.latent_dim, None, None, None, "elu", "fc1")  # (B, latent)
    s, c = enc.seed_size, enc.seed_channels
    x = block(x, "dense", s * s * s * c, None, None, None, "elu", "fc2")  # (B, s^3 * C)
    return layers.Reshape((s, s, s, c), name="seed")(x)  # (B, s, s, s, C)


def decoder_trunk(seed, cfg: ModelConfig):
    """Shared upsampling stages deconv1.. (all but the last): (B, s, ..) -> (B, R/2, .., C)."""
    block = conv_block(cfg)
    x = seed
    for i, ch in enumerate(cfg.decoder.trunk_for(cfg.encoder.seed_size), start=1):
        x = block(x, "deconv3d", ch, 3, 2, "same", "elu", f"deconv{i}")
    return x


def last_stage_index(cfg: ModelConfig) -> int:
    return cfg.decoder.num_stages(cfg.encoder.seed_size)


def shape_head(trunk, cfg: ModelConfig, prefix: str = ""):
    """Last upsampling stage + a linear 1-channel conv: (B, R/2, ...) -> logits (B, R, R, R, 1).
    The release batch-normalizes the logits too; `decoder.output_batchnorm=False` does not."""
    block, n = conv_block(cfg), last_stage_index(cfg)
    x = block(trunk, "deconv3d", cfg.decoder.shape_channels, 3, 2, "same", "elu", f"{prefix}deconv{n}")
    return block(x, "conv3d", 1, 3, 1, "same", None, f"{prefix}deconv{n + 1}",
                 batch_norm=cfg.decoder.output_batchnorm)


def color_heads(image, trunk, cfg: ModelConfig) -> dict:
    """The three color heads, the image sampler and the blend (reference 1.3)."""
    block, n = conv_block(cfg), last_stage_index(cfg)
    ch = cfg.decoder.color_head_channels
    x = block(trunk, "deconv3d", ch, 3, 2, "same", "elu", f"reg_deconv{n}")
    regressed = block(x, "conv3d", 3, 3, 1, "same", "sigmoid", "regressed")  # (B, R, R, R, 3)
    x = block(trunk, "deconv3d", ch, 3, 2, "same", "elu", f"conf_deconv{n}")
    confidence = block(x, "conv3d", 1, 3, 1, "same", "sigmoid", "confidence")  # (B, R, R, R, 1)
    flow = block(trunk, "deconv3d", 2, 3, 2, "same", "sigmoid", "flow")  # (B, R, R, R, 2)
    # float32 even under mixed precision: bfloat16 flow would move floor(x * W) by a pixel.
    sampled = ImageSampler(cfg.decoder.sampler, name="sampled", dtype="float32")(image, flow)
    blended = Blend(name="blended", dtype="float32")(regressed, sampled, confidence)  # (B, R, R, R, 3)
    return {"regressed": regressed, "confidence": confidence, "flow": flow,
            "sampled": sampled, "blended": blended}


def image_input(cfg: ModelConfig):
    s = cfg.image_size
    return keras.Input((s, s, 3), name="image")


def build_shape_model(cfg: ModelConfig) -> keras.Model:
    """image (B, H, W, 3) -> occupancy logits (B, R, R, R, 1)."""
    image = image_input(cfg)
    logits = shape_head(decoder_trunk(encoder(image, cfg), cfg), cfg)
    return keras.Model(image, logits, name="shape_net")


def build_color_model(cfg: ModelConfig) -> keras.Model:
    """image (B, H, W, 3) -> dict of regressed, confidence, flow, sampled, blended."""
    image = image_input(cfg)
    outputs = color_heads(image, decoder_trunk(encoder(image, cfg), cfg), cfg)
    return keras.Model(image, outputs, name="color_net")
