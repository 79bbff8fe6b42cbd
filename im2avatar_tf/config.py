"""Typed configuration: one frozen dataclass per component, one `Preset` bundling them.

Presets: `paper` (the released sizes: 128 px in, 64^3 out; it trains on a 2-core CPU too, in
hours: docs/training.md), `small` (results on a 2-core CPU: about 10 + 12
minutes per category for the shape and color networks) and `tiny` (tests and quickstart).
Everything downstream takes a config object; there are no module-level knobs.
`dataclasses.replace` derives variants (e.g. a different loss).
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

# ShapeNet synset ids of the paper's categories (the released layout names folders by them).
CATEGORY_IDS = {
    "car": "02958343",
    "chair": "03001627",
    "table": "04379243",
    "guitar": "03467517",
}
CATEGORIES = tuple(CATEGORY_IDS)


@dataclass(frozen=True)
class EncoderConfig:
    """2D encoder: five stride-2 convs, a VALID conv over the remaining extent, fc1, fc2."""

    image_size: int = 128
    conv_channels: Tuple[int, ...] = (64, 64, 128, 128, 256)
    conv_kernels: Tuple[int, ...] = (7, 5, 5, 3, 3)
    bottleneck_channels: int = 512  # conv6
    latent_dim: int = 512  # fc1
    seed_size: int = 4  # fc2 is reshaped to (seed, seed, seed, seed_channels)
    seed_channels: int = 128

    def __post_init__(self):
        if len(self.conv_channels) != len(self.conv_kernels):
            raise ValueError("conv_channels and conv_kernels must have the same length")
        extent = self.image_size // 2 ** len(self.conv_channels)
        if extent < 1 or self.image_size % 2 ** len(self.conv_channels):
            raise ValueError(
                f"image_size {self.image_size} must be a multiple of "
                f"{2 ** len(self.conv_channels)} (five stride-2 convs); use 64 or 128")

    @property
    def final_extent(self) -> int:
        """Spatial extent left after the stride-2 convs (conv6's kernel size)."""
        return self.image_size // 2 ** len(self.conv_channels)


@dataclass(frozen=True)
class DecoderConfig:
    """3D decoders. `trunk_channels` are the shared upsampling stages (deconv1..), the last
    upsampling stage belongs to the shape output (`shape_channels`) or the color heads."""

    volume_size: int = 64
    trunk_channels: Tuple[int, ...] = (64, 32, 32)
    shape_channels: int = 24  # deconv4 of the shape network (a code comment says 16; 24 runs)
    color_head_channels: int = 16
    sampler: str = "nearest"  # "nearest" (released, no gradient to flow) or "bilinear"
    # BatchNorm on the shape network's 1-channel logits, as released. In training mode it
    # pins each batch's logits to mean beta and spread gamma, so probabilities calibrate only
    # as fast as Adam moves those two scalars. False (a departure, for the claims study)
    # leaves the logits linear.
    output_batchnorm: bool = True

    def __post_init__(self):
        if self.sampler not in ("nearest", "bilinear"):
            raise ValueError(f"sampler must be 'nearest' or 'bilinear', got {self.sampler!r}")

    def num_stages(self, seed_size: int) -> int:
        """Number of stride-2 upsampling stages from the seed volume to the output volume."""
        stages = math.log2(self.volume_size / seed_size)
        if stages < 1 or stages != int(stages):
            raise ValueError(f"volume_size {self.volume_size} must be seed_size * 2^k (k >= 1)")
        return int(stages)

    def trunk_for(self, seed_size: int) -> Tuple[int, ...]:
        """Channels of the shared trunk stages: all stages but the last."""
        n = self.num_stages(seed_size) - 1
        chans = list(self.trunk_channels[:n])
        while len(chans) < n:
            chans.append(self.trunk_channels[-1])
        return tuple(chans)


@dataclass(frozen=True)
class ModelConfig:
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    l1_penalty: float = 1e-5  # L1 on conv / deconv / dense kernels, added to the loss
    bn_epsilon: float = 1e-3

    @property
    def image_size(self) -> int:
        return self.encoder.image_size

    @property
    def volume_size(self) -> int:
        return self.decoder.volume_size


@dataclass(frozen=True)
class LossConfig:
    """Loss choices; defaults are the released code's, with its divide-by-zero made safe."""

    shape_loss: str = "msfcel"  # "msfcel" or "bce" (the ablation baseline)
    msfcel_reduction: str = "batch"  # "batch" (released) or "sample"
    color_norm: str = "l1"  # "l1" (released code) or "l2" (the paper's text)
    color_weights: Tuple[float, float, float] = (1.0, 1.0, 1.0)  # reg, blend, flow
    safe_division: bool = True  # False reproduces the released 0/0 -> NaN on empty masks


# Fields that say how a run is saved, not what it trains: left out of the run dir's key
# (`runs.config_key`) and of the check against its config.json (`training.same_training`), so
# a run resumed with another value continues in the same run dir.
UNKEYED_FIELDS = (("train", "checkpoint_minutes"),)


def subdict(d: dict, keys) -> dict:
    """d[k1][k2]...: the nested dict a field path (without its last name) points to."""
    for key in keys:
        d = d[key]
    return d


@dataclass(frozen=True)
class TrainConfig:
    batch_size: int = 60
    epochs: int = 501
    learning_rate: float = 3e-4
    lr_decay: float = 0.7
    lr_decay_samples: int = 20000  # staircase decay every this many samples
    lr_floor: float = 1e-5
    bn_decay_start: float = 0.5
    bn_decay_max: float = 0.99
    checkpoint_every: int = 20  # epochs
    # Also a checkpoint at the end of any epoch this many minutes of wall time after the last
    # one, so a killed run loses at most about that much plus one epoch (no help inside one
    # long epoch); 0: by epochs only. How often to save, not what is trained: UNKEYED_FIELDS.
    checkpoint_minutes: float = 5.0
    # The schedule in optimizer steps (the release's clock): when set, a run trains the
    # whole epochs that reach it, ceil(steps / batches per epoch), and `epochs` is derived
    # from the data (`with_steps_resolved`); None trains `epochs` epochs.
    steps: Optional[int] = None
    seed: int = 0
    mixed_precision: Optional[str] = None  # None, "mixed_bfloat16" or "mixed_float16"
    # Every this many epochs, the loss on the validation split (inference mode, one fixed
    # view per model) goes into the log as val_loss and val_<part>; 0: none.
    validate_every: int = 0


    def epochs_for(self, steps_per_epoch: int) -> int:
        """Epochs this schedule trains on data of `steps_per_epoch` batches per epoch."""
        if self.steps is None:
            return self.epochs
        if steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be at least 1, got {steps_per_epoch}")
        return -(-self.steps // steps_per_epoch)


@dataclass(frozen=True)
class DataConfig:
    """What dataset a preset builds and reads by default (procedural unless --data is given)."""

    source: str = "procedural"
    categories: Tuple[str, ...] = CATEGORIES
    models_per_category: int = 3389
    # Per-category overrides of models_per_category (the paper's totals differ per category).
    category_counts: Optional[Dict[str, int]] = None
    render_size: int = 128  # views are rendered at the released 128 px; the loader resizes
    views: int = 12
    seed: int = 0
    # Background of the training views: (245, 245, 245) for ShapeNet-style data, white for the
    # human set. Preprocessing pads and composites onto it, so inference matches training.
    background: Tuple[int, int, int] = (245, 245, 245)

    def count(self, category: str) -> int:
        """Models to build for `category`."""
        return (self.category_counts or {}).get(category, self.models_per_category)


@dataclass(frozen=True)
class Preset:
    name: str
    model: ModelConfig
    train: TrainConfig
    data: DataConfig
    loss: LossConfig = field(default_factory=LossConfig)

    def replace(self, **changes: Any) -> "Preset":
        """Nested replace: `preset.replace(train={"epochs": 3}, loss={"shape_loss": "bce"})`."""
        kwargs = {}
        for key, value in changes.items():
            current = getattr(self, key)
            if isinstance(value, dict) and dataclasses.is_dataclass(current):
                value = _replace_nested(current, value)
            kwargs[key] = value
        return dataclasses.replace(self, **kwargs)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def training_dict(self) -> dict:
        """`to_dict()` without the UNKEYED_FIELDS: what decides the network a run trains."""
        d = self.to_dict()
        for *parents, name in UNKEYED_FIELDS:
            subdict(d, parents).pop(name, None)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Preset":
        return _from_dict(cls, d)


CONFIG_FILE = "config.json"


def read_preset(folder, missing: str = "") -> Preset:
    """The Preset a folder keeps in its config.json: a run dir, a model dir, an export or a zoo
    model all hold one. `missing` says, when there is none, what the folder should have been
    made by; an unreadable file is a ValueError naming it."""
    path = Path(folder) / CONFIG_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found" + (f": {missing}" if missing else ""))
    try:
        return Preset.from_dict(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path} is not a readable configuration ({e}); it is written by "
                         f"the command that made {Path(folder).name}, so make that again") from e


def _replace_nested(obj, changes: dict):
    kwargs = {}
    names = {f.name for f in dataclasses.fields(obj)}
    for key, value in changes.items():
        if key not in names:
            raise KeyError(f"{type(obj).__name__} has no field {key!r}; known: {sorted(names)}")
        current = getattr(obj, key)
        if isinstance(value, dict) and dataclasses.is_dataclass(current):
            value = _replace_nested(current, value)
        kwargs[key] = value
    return dataclasses.replace(obj, **kwargs)


def _from_dict(cls, d: dict):
    """Rebuild a (nested) frozen dataclass from `asdict` output; unknown keys are rejected."""
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(d) - set(names)
    if unknown:
        raise KeyError(f"{cls.__name__}: unknown config keys {sorted(unknown)}")
    kwargs = {}
    hints = {
        "encoder": EncoderConfig, "decoder": DecoderConfig, "model": ModelConfig,
        "train": TrainConfig, "data": DataConfig, "loss": LossConfig,
    }
    for key, value in d.items():
        if key in hints and isinstance(value, dict):
            value = _from_dict(hints[key], value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def _paper() -> Preset:
    return Preset(
        name="paper",
        model=ModelConfig(),
        train=TrainConfig(batch_size=60, epochs=501, checkpoint_every=20),
        # The released totals per category (reference section 4.1: train + val + test).
        data=DataConfig(category_counts={"car": 3389, "chair": 2199, "table": 2539,
                                         "guitar": 631}),
    )


def _small() -> Preset:
    # 64 px / 32^3, half-width encoder and decoder: trains on a 2-core CPU in minutes.
    return Preset(
        name="small",
        model=ModelConfig(
            encoder=EncoderConfig(image_size=64, conv_channels=(32, 32, 64, 64, 128),
                                  bottleneck_channels=256, latent_dim=256, seed_channels=64),
            decoder=DecoderConfig(volume_size=32, trunk_channels=(32, 16), shape_channels=12,
                                  color_head_channels=8),
        ),
        # The recipe of issue 16: 1,000 optimizer steps (the release's clock, about 45 epochs
        # of 700 training models) on 1,000 procedural models per category (700 / 100 / 200
        # split). `epochs` is not used while `steps` is set (the run's config.json records
        # the epochs the steps took); `--epochs E` replaces the step schedule.
        train=TrainConfig(batch_size=32, epochs=30, steps=1000, checkpoint_every=10,
                          lr_decay_samples=4000),
        data=DataConfig(models_per_category=1000),
    )


def _tiny() -> Preset:
    # Smallest sensible network: for tests and the quickstart.
    return Preset(
        name="tiny",
        model=ModelConfig(
            encoder=EncoderConfig(image_size=64, conv_channels=(16, 16, 32, 32, 64),
                                  bottleneck_channels=128, latent_dim=128, seed_channels=32),
            decoder=DecoderConfig(volume_size=32, trunk_channels=(16, 8), shape_channels=8,
                                  color_head_channels=8),
        ),
        train=TrainConfig(batch_size=16, epochs=20, checkpoint_every=5,
                          lr_decay_samples=2000),
        data=DataConfig(models_per_category=24, categories=("car", "chair")),
    )


PRESETS = {"paper": _paper, "small": _small, "tiny": _tiny}


def get_preset(name: str) -> Preset:
    """Return a fresh preset by name (`paper`, `small`, `tiny`)."""
    try:
        return PRESETS[name]()
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None
