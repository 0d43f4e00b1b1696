"""The paper's CNN (Section II-B, Table I): four conv blocks, four dense layers, sigmoid outputs.

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
``small=True`` 42,767. A flatten instead would make the full model 6.8 M.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import keras
import numpy as np
from keras import layers, ops

from aggregate.emotions import EMOTIONS


@dataclass
class ModelConfig:
    input_shape: tuple[int, int, int] = (200, 278, 1)  # (mel bands, frames, 1)
    n_outputs: int = len(EMOTIONS)
    channels: tuple[int, ...] = (16, 32, 64, 128)
    dense_units: tuple[int, ...] = (256, 128, 64)  # hidden; the sigmoid output is the 4th dense layer
    pooling: str = "time"  # "time" (mean+max over frames), "global" (mean over both) or "flatten" (paper-like)
    # Not given in the paper. None: 0.3 for the paper's network, 0 for the small one, whose 16- to
    # 64-unit layers have no capacity to spare (on the demo, 0.3 left it near the all-absent predictor).
    dropout: float | None = None
    # Keras's 0.99 lagged with ~25 steps/epoch on real RAVDESS: the moving statistics used
    # at validation were still the initial ones and the network looked collapsed to all-absent.
    batch_norm_momentum: float = 0.9
    small: bool = False  # laptop-sized: 2x2 average-pooled input, channels (8, 16, 32, 32), dense (64, 32, 16)
    spec_augment: bool = False
    time_masks: int = 2
    time_mask_width: int = 30  # frames (of 278), at most; each mask's width is drawn in [0, width]
    freq_masks: int = 2
    freq_mask_width: int = 20  # mel bands (of 200), at most
    learning_rate: float = 1e-3  # Adam, Table I
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    seed: int = 0

    def __post_init__(self) -> None:
        self.input_shape, self.channels, self.dense_units = (
            tuple(self.input_shape), tuple(self.channels), tuple(self.dense_units))  # lists from JSON
        if self.dropout is None:
            self.dropout = 0.0 if self.small else 0.3
        if self.pooling not in ("time", "global", "flatten"):
            raise ValueError(f"pooling must be 'time', 'global' or 'flatten', got {self.pooling!r}")


SMALL_CHANNELS, SMALL_UNITS = (8, 16, 32, 32), (64, 32, 16)


@keras.saving.register_keras_serializable(package="train")
class SpecAugment(layers.Layer):
    """SpecAugment-style masking of random time and frequency stripes, in training only.

    A masked stripe takes the clip's mean value: the clips are min-max scaled to
    [-1, 1] per clip, so 0 is not "no information"; the mean is (as zero is in
    SpecAugment's mean-normalised input). Outside training the input passes unchanged.
    """

    def __init__(self, time_masks=2, time_mask_width=30, freq_masks=2, freq_mask_width=20, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.time_masks, self.time_mask_width = time_masks, time_mask_width
        self.freq_masks, self.freq_mask_width = freq_masks, freq_mask_width
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _stripes(self, batch, n_masks, max_width, length):
        """(batch, length) boolean: inside any of n_masks stripes of width uniform in [0, max_width]."""
        if n_masks == 0 or max_width == 0:
            return ops.zeros((batch, length), dtype="bool")
        width = ops.floor(keras.random.uniform((batch, n_masks, 1), seed=self.seed_generator) * (max_width + 1))
        start = ops.floor(keras.random.uniform((batch, n_masks, 1), seed=self.seed_generator)
                          * (length - width + 1))
        pos = ops.reshape(ops.arange(length, dtype="float32"), (1, 1, length))
        return ops.any((pos >= start) & (pos < start + width), axis=1)

    def call(self, inputs, training=None):
        if not training:
            return inputs
        batch, n_freq, n_time = ops.shape(inputs)[0], inputs.shape[1], inputs.shape[2]
        time = self._stripes(batch, self.time_masks, min(self.time_mask_width, n_time), n_time)
        freq = self._stripes(batch, self.freq_masks, min(self.freq_mask_width, n_freq), n_freq)
        mask = ops.logical_or(time[:, None, :, None], freq[:, :, None, None])
        mean = ops.mean(inputs, axis=(1, 2, 3), keepdims=True)
        return ops.where(mask, mean, inputs)

    def get_config(self):
        return {**super().get_config(), "time_masks": self.time_masks, "time_mask_width": self.time_mask_width,
                "freq_masks": self.freq_masks, "freq_mask_width": self.freq_mask_width, "seed": self.seed}


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
    if how == "flatten":
        return layers.Flatten()(x)
    if how == "global":
        return layers.GlobalAveragePooling2D()(x)
    frames = x.shape[2]
    mean = layers.AveragePooling2D((1, frames))(x)
    peak = layers.MaxPooling2D((1, frames))(x)
    return layers.Flatten()(layers.Concatenate()([mean, peak]))


def build_model(config: ModelConfig | None = None) -> keras.Model:
    """The CNN as a functional Keras model: (batch, 200, 278, 1) in [-1, 1] -> (batch, 7) in (0, 1)."""
    config = config or ModelConfig()
    seeds = itertools.count(config.seed * 1000)  # one seed per layer: reproducible, no global state touched
    glorot = lambda: keras.initializers.GlorotUniform(seed=next(seeds))  # noqa: E731 (Keras's default, seeded)
    channels = SMALL_CHANNELS if config.small else config.channels
    units = SMALL_UNITS if config.small else config.dense_units

    inputs = keras.Input(config.input_shape, name="log_mel")
    x = inputs
    if config.spec_augment:  # first, so that predict() sees the input as it is
        x = SpecAugment(config.time_masks, config.time_mask_width, config.freq_masks, config.freq_mask_width,
                        seed=config.seed, name="spec_augment")(x)  # off the layer seeds: same weights either way
    if config.small:  # a quarter of the pixels: each conv is ~4x cheaper, the detail lost is fine-grained
        x = layers.AveragePooling2D(2, name="downsample")(x)
    for i, c in enumerate(channels, 1):
        # no conv bias: the batch norm's offset that follows makes it redundant
        x = layers.Conv2D(c, 3, padding="same", use_bias=False, kernel_initializer=glorot(), name=f"conv{i}")(x)
        x = layers.BatchNormalization(momentum=config.batch_norm_momentum, name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = _pool(x, config.pooling)
    for i, u in enumerate(units, 1):
        x = layers.Dense(u, activation="relu", kernel_initializer=glorot(), name=f"dense{i}")(x)
        x = layers.Dropout(config.dropout, seed=next(seeds), name=f"dropout{i}")(x)
    outputs = layers.Dense(config.n_outputs, activation="sigmoid", kernel_initializer=glorot(), name="emotions")(x)
    return keras.Model(inputs, outputs, name="ser_cnn_small" if config.small else "ser_cnn")


@keras.saving.register_keras_serializable(package="train")
class WeightedBCE(keras.losses.Loss):
    """Binary cross-entropy whose positive term for emotion k is multiplied by pos_weights[k].

    Per clip: mean over emotions of -(w_k y_k log p_k + (1 - y_k) log(1 - p_k)).
    Written as plain BCE + (w - 1) y (-log p), both through keras.ops.binary_crossentropy,
    so with the TF backend the loss is computed from the sigmoid's logits (stable near
    0 and 1) exactly as keras.losses.BinaryCrossentropy does, and w = 1 gives it exactly.
    """

    def __init__(self, pos_weights, name="weighted_bce", **kwargs):
        super().__init__(name=name, **kwargs)
        self.pos_weights = [float(w) for w in np.ravel(pos_weights)]

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        w = ops.convert_to_tensor(self.pos_weights, dtype=y_pred.dtype)
        bce = ops.binary_crossentropy(y_true, y_pred)
        miss = ops.binary_crossentropy(ops.ones_like(y_pred), y_pred)  # -log p
        return ops.mean(bce + (w - 1.0) * y_true * miss, axis=-1)

    def get_config(self):
        return {**super().get_config(), "pos_weights": self.pos_weights}


def weighted_bce(pos_weights) -> WeightedBCE:
    """The positive-weighted BCE loss (a serialisable Keras loss, so load_model needs no custom_objects)."""
    return WeightedBCE(pos_weights)


def compile_model(model: keras.Model, config: ModelConfig | None = None,
                  pos_weights: np.ndarray | None = None) -> keras.Model:
    """Adam with Table I's settings; BCE (positive-weighted when ``pos_weights`` is given).

    Monitor ``mAP`` (PR-AUC per emotion, averaged): the all-absent predictor that
    Eq. 2's accuracy rewards cannot win it. Binary accuracy is Eq. 2 on a batch.
    """
    config = config or ModelConfig()
    optimizer = keras.optimizers.Adam(config.learning_rate, beta_1=config.beta_1, beta_2=config.beta_2,
                                      epsilon=config.epsilon)
    loss = keras.losses.BinaryCrossentropy() if pos_weights is None else weighted_bce(pos_weights)
    model.compile(optimizer=optimizer, loss=loss,
                  metrics=[keras.metrics.AUC(multi_label=True, curve="PR", name="mAP"),
                           keras.metrics.BinaryAccuracy(name="binary_accuracy")])
    return model


def class_weights(labels, low: float = 1.0, high: float = 50.0) -> np.ndarray:
    """Positive weight per emotion: n_negative / n_positive on the TRAINING split, clipped to [low, high].

    That ratio makes positives and negatives of an emotion weigh the same in the loss.
    Clipped below at 1: an emotion present in more than half the clips keeps its
    positives at full weight rather than being discounted. Clipped above at 50:
    a handful of positives (surprise, in the paper) would otherwise carry weights in
    the hundreds, each such clip outweighing whole batches, and the model learns to
    say "present" everywhere (what the paper reports for surprise). 1.0 for an
    emotion with no positives (nothing to weigh).
    """
    y = np.asarray(labels, dtype=float)
    if y.ndim != 2 or y.shape[1] != len(EMOTIONS):
        raise ValueError(f"labels must be (N, {len(EMOTIONS)}), got {y.shape}")
    pos = y.sum(0)
    neg = len(y) - pos
    ratio = np.divide(neg, pos, out=np.ones_like(pos), where=pos > 0)
    return np.where(pos > 0, np.clip(ratio, low, high), 1.0)
