"""``--model paper-cnn``: seed 001's CNN (Section II-B, Table I): four conv blocks, four dense layers, sigmoid outputs.

Input (200 mel bands, 278 frames, 1) -- Table I's "278w x 200h x 1d". What the paper
leaves open is chosen here and stated:

* channels 16, 32, 64, 128 (doubling as the map halves; the paper gives none);
* each conv block is Conv2D 3x3 'same' -> BatchNorm -> ReLU -> MaxPool 2x2
  (batch norm on the conv layers, as Section II-B says);
* "four dense layers" read as three hidden ReLU layers (256, 128, 64), each followed
  by dropout (dropout on the dense layers, as Section II-B says), plus the 7-unit
  sigmoid output: 4 conv + 4 dense = the paper's "eight-layer" network;
* between them, pooling over time only (see ``_pool``), not the flatten the paper's
  Keras model most likely used.

Parameters: full 926,167 (98 k in the conv blocks, 786 k in the first dense layer);
``small=true`` 42,767. A flatten instead would make the full model 6.8 M (``paper-cnn-flatten``, or
``--model-option pooling=flatten``).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

from aggregate.emotions import EMOTIONS

from .base import Recipe

SMALL_CHANNELS, SMALL_UNITS = (8, 16, 32, 32), (64, 32, 16)


@dataclass(frozen=True)
class Options:
    """``--model-option KEY=VALUE`` of paper-cnn (``python -m train --help`` lists them)."""
    small: bool = field(default=False, metadata={"help": "a much smaller network, for a quick run on a laptop"})
    # Not given in the paper. None: 0.3 for the paper's network, 0 for the small one, whose 16- to
    # 64-unit layers have no capacity to spare (on the demo, 0.3 left it near the all-absent predictor).
    dropout: float | None = field(default=None, metadata={"help": "of the dense layers; none: 0.3, 0 when small"})
    # Keras's 0.99 lagged with ~25 steps/epoch on real RAVDESS: the moving statistics used
    # at validation were still the initial ones and the network looked collapsed to all-absent.
    batch_norm_momentum: float = field(default=0.9, metadata={"help": "Keras's 0.99 lags on small data"})
    pooling: Literal["time", "global", "flatten"] = field(
        default="time", metadata={"help": "what feeds the dense layers; flatten: the paper's likely original"})
    spec_augment: bool = field(default=False, metadata={"help": "SpecAugment-style time/frequency masking"})
    channels: tuple[int, ...] = field(default=(16, 32, 64, 128),
                                      metadata={"help": "of the conv blocks (small: 8,16,32,32)"})
    # hidden; the sigmoid output is the 4th dense layer
    dense_units: tuple[int, ...] = field(default=(256, 128, 64), metadata={"help": "hidden (small: 64,32,16)"})
    time_masks: int = field(default=2, metadata={"help": "with spec_augment"})
    # each mask's width is drawn in [0, width]
    time_mask_width: int = field(default=30, metadata={"help": "frames (of 278), at most"})
    freq_masks: int = field(default=2, metadata={"help": "with spec_augment"})
    freq_mask_width: int = field(default=20, metadata={"help": "mel bands (of 200), at most"})

    def __post_init__(self) -> None:
        if self.pooling not in ("time", "global", "flatten"):  # for callers from Python; the CLI checks first
            raise ValueError(f"pooling must be 'time', 'global' or 'flatten', got {self.pooling!r}")
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be at least 0 and below 1, got {self.dropout}")
        if not 0 <= self.batch_norm_momentum < 1:
            raise ValueError(f"batch_norm_momentum must be at least 0 and below 1, got {self.batch_norm_momentum}")
        if min(self.channels + self.dense_units) < 1 or min(self.time_masks, self.time_mask_width,
                                                            self.freq_masks, self.freq_mask_width) < 0:
            raise ValueError("channels and dense_units must be at least 1, masks and their widths at least 0")

    @property
    def effective_dropout(self) -> float:
        return self.dropout if self.dropout is not None else (0.0 if self.small else 0.3)


@dataclass(frozen=True)
class FlattenOptions(Options):
    pooling: Literal["time", "global", "flatten"] = field(
        default="flatten", metadata={"help": "what feeds the dense layers; flatten: the paper's likely original"})


def _pool(x, how: str):
    """From the last conv map (12 bands x 17 frames x 128 for the full model) to a feature vector.

    A flatten gives 26k features and, into 256 units, 6.7 M weights in one layer:
    some 50 times the rest of the network, fitted on a few thousand clips (RAVDESS
    alone is 1.4 k). Global pooling keeps 128 features but throws away where in
    frequency the energy is, which is what pitch and formants are. Pooling over
    time only (mean and max: the mean sees the whole clip, the max is not diluted
    by the silent padded tail) keeps the frequency axis: 12 x 128 x 2 = 3 k features.
    Time position carries little: clips start at arbitrary offsets and are padded.
    """
    from keras import layers

    if how == "flatten":
        return layers.Flatten()(x)
    if how == "global":
        return layers.GlobalAveragePooling2D()(x)
    frames = x.shape[2]
    mean = layers.AveragePooling2D((1, frames))(x)
    peak = layers.MaxPooling2D((1, frames))(x)
    return layers.Flatten()(layers.Concatenate()([mean, peak]))


def build(input_shape, seed: int, train_inputs, options: Options):
    """The registry's builder: the paper standardises nothing, so ``train_inputs`` is not used."""
    return build_model(options, input_shape, seed)


def build_model(options: Options | None = None, input_shape=(200, 278, 1), seed: int = 0):
    """The CNN as a functional Keras model: (batch, 200, 278, 1) in [-1, 1] -> (batch, 7) in (0, 1)."""
    import keras
    from keras import layers

    from .layers import SpecAugment

    options = options or Options()
    seeds = itertools.count(seed * 1000)  # one seed per layer: reproducible, no global state touched
    glorot = lambda: keras.initializers.GlorotUniform(seed=next(seeds))  # noqa: E731 (Keras's default, seeded)
    channels = SMALL_CHANNELS if options.small else options.channels
    units = SMALL_UNITS if options.small else options.dense_units

    inputs = keras.Input(tuple(input_shape), name="log_mel")
    x = inputs
    if options.spec_augment:  # first, so that predict() sees the input as it is
        x = SpecAugment(options.time_masks, options.time_mask_width, options.freq_masks, options.freq_mask_width,
                        seed=seed, name="spec_augment")(x)  # off the layer seeds: same weights either way
    if options.small:  # a quarter of the pixels: each conv is ~4x cheaper, the detail lost is fine-grained
        x = layers.AveragePooling2D(2, name="downsample")(x)
    for i, c in enumerate(channels, 1):
        # no conv bias: the batch norm's offset that follows makes it redundant
        x = layers.Conv2D(c, 3, padding="same", use_bias=False, kernel_initializer=glorot(), name=f"conv{i}")(x)
        x = layers.BatchNormalization(momentum=options.batch_norm_momentum, name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = _pool(x, options.pooling)
    for i, u in enumerate(units, 1):
        x = layers.Dense(u, activation="relu", kernel_initializer=glorot(), name=f"dense{i}")(x)
        x = layers.Dropout(options.effective_dropout, seed=next(seeds), name=f"dropout{i}")(x)
    outputs = layers.Dense(len(EMOTIONS), activation="sigmoid", kernel_initializer=glorot(), name="emotions")(x)
    return keras.Model(inputs, outputs, name="ser_cnn_small" if options.small else "ser_cnn")


_PAPER = dict(output="sigmoid", schedule="constant", epochs=20, learning_rate=1e-3)  # seed 001's Table I
MODEL = Recipe("paper-cnn", build, "seed 001 (Tables I and II)", options=Options, **_PAPER)
FLATTEN = Recipe("paper-cnn-flatten", build, "seed 001 (Tables I and II), flatten head", options=FlattenOptions,
                 **_PAPER)
