"""The Keras layers of the models (augmentation, attention) and per-band standardisation (per split, per clip).

Every layer a saved model names is defined here (or in ``features.py``) and registered, so
that loading a model imports these modules, not the model modules.

Augmentation lives in the model (active in training only, seeded), so that
``model.predict`` and a saved model see the input as it is, and a run is
reproducible from its seed.
"""
from __future__ import annotations

import keras
from keras import layers, ops

from .features import voiced_span


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


@keras.saving.register_keras_serializable(package="train")
class TimeShift(layers.Layer):
    """Rolls each clip along time by a random whole number of frames in [-max_shift, max_shift], in training only.

    Emotion does not depend on where in the 4.5 s window the voice starts; the
    clips start at arbitrary offsets and are padded, so a roll moves padding only
    (as long as the shift is below the padding, which it mostly is at 40 frames).
    """

    def __init__(self, max_shift=40, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.max_shift, self.seed = max_shift, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or self.max_shift == 0:
            return inputs
        frames = inputs.shape[2]
        shift = ops.floor(keras.random.uniform((ops.shape(inputs)[0], 1), seed=self.seed_generator)
                          * (2 * self.max_shift + 1)) - self.max_shift
        source = ops.mod(ops.arange(frames, dtype="float32")[None, :] - shift, frames)  # (batch, frames)
        return ops.take_along_axis(inputs, ops.cast(source, "int32")[:, None, :, None], axis=2)

    def get_config(self):
        return {**super().get_config(), "max_shift": self.max_shift, "seed": self.seed}


@keras.saving.register_keras_serializable(package="train")
class Attention(layers.Layer):
    """(batch, steps, C) annotations -> (batch, C): sum_i alpha_i a_i, alpha = softmax(lambda u^T tanh(W a_i + b)):
    seed 003's attention (``attention_fcn``)."""

    def __init__(self, scale: float = 0.8, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.seed = scale, seed

    def build(self, input_shape):
        c = input_shape[-1]
        init = keras.initializers.GlorotUniform(seed=self.seed)
        self.w = self.add_weight(shape=(c, c), initializer=init, name="w")
        self.b = self.add_weight(shape=(c,), initializer="zeros", name="b")
        self.u = self.add_weight(shape=(c,), initializer=init, name="u")

    def call(self, annotations):
        energy = ops.einsum("btc,c->bt", ops.tanh(ops.einsum("btc,cd->btd", annotations, self.w) + self.b), self.u)
        alpha = ops.softmax(self.scale * energy, axis=-1)
        return ops.einsum("bt,btc->bc", alpha, annotations)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "seed": self.seed}


@keras.saving.register_keras_serializable(package="train")
class ClipBandNorm(layers.Layer):
    """Per clip and mel band: subtract the band's mean over the clip's voiced frames (and with
    ``scale``, divide by its standard deviation there); frames below ``active_level`` become 0.

    Cepstral mean normalisation on the log-mel: a microphone or room multiplies each band's
    power by a constant, which the log turns into a constant per-band offset; subtracting each
    clip's own band means removes it, with no corpus statistics needed at prediction. The means
    are taken over the voiced frames only (frame mean over bands above ``active_level``, the
    Functionals' level), so that how much silence a clip has (TESS's single words: 55 % of
    frames; RAVDESS's sentences: 37 %) does not move them; the silent frames are set to 0,
    the band's voiced mean, so the network sees no silence level either. A clip with no voiced
    frame uses all of them. (batch, n_mels, frames, 1) -> same shape.
    """

    def __init__(self, scale: bool = False, active_level: float = -0.9, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.active_level = scale, active_level

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        active = ops.cast(ops.mean(x, axis=1, keepdims=True) > self.active_level, "float32")  # (B, 1, T, 1)
        none = ops.cast(ops.sum(active, axis=2, keepdims=True) == 0, "float32")
        active = ops.maximum(active, none)  # no voiced frame: every frame counts
        n = ops.sum(active, axis=2, keepdims=True)
        centred = x - ops.sum(x * active, axis=2, keepdims=True) / n
        if self.scale:
            centred = centred / ops.sqrt(ops.sum(ops.square(centred) * active, axis=2, keepdims=True) / n + 1e-4)
        return centred * active

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "active_level": self.active_level}


@keras.saving.register_keras_serializable(package="train")
class SpanPooling(layers.Layer):
    """[feature maps (batch, H, T', C), log-mel (batch, n_mels, T, 1)] -> (batch, H * 2C): the mean and
    the max of each map over time, taken over the clip's voiced span only.

    The span is the Functionals' (first to last frame whose mean over bands is above
    ``active_level``); pooled frame j covers input frames [j * step, (j + 1) * step) (``step``:
    the network's time reduction; valid pooling drops the tail) and weighs by their share inside it. A clip is padded to 4.5 s with silence, and how much of it is silence
    is a trait of the corpus (TESS's single words: 55 % of frames, RAVDESS's sentences: 37 %);
    a mean over every frame would carry that trait into the features. A clip with no voiced
    frame pools over all of them. The maps must be non-negative (after ReLU), so that zero
    is the max's neutral value.
    """

    def __init__(self, step: int, active_level: float = -0.9, **kwargs):
        super().__init__(**kwargs)
        self.step, self.active_level = step, active_level

    def call(self, inputs):
        maps, log_mel = inputs
        x = ops.cast(log_mel[..., 0], "float32")
        span = ops.cast(voiced_span(ops.mean(x, axis=1) > self.active_level), "float32")  # (B, T)
        pooled, step = maps.shape[2], self.step
        weight = ops.mean(ops.reshape(span[:, :step * pooled], (-1, pooled, step)), axis=2)  # (B, T')
        silent = ops.cast(ops.sum(weight, axis=1, keepdims=True) == 0, "float32")
        weight = ops.maximum(weight, silent)[:, None, :, None]  # (B, 1, T', 1)
        maps = ops.cast(maps, "float32")
        mean = ops.sum(maps * weight, axis=2) / ops.sum(weight, axis=2)
        peak = ops.max(ops.where(weight > 0, maps, 0.0), axis=2)
        return ops.reshape(ops.concatenate([mean, peak], axis=-1), (-1, maps.shape[1] * 2 * maps.shape[3]))

    def compute_output_shape(self, input_shape):
        maps = input_shape[0]
        return (maps[0], maps[1] * 2 * maps[3])

    def get_config(self):
        return {**super().get_config(), "step": self.step, "active_level": self.active_level}


def seeded_glorot(seed: int):
    """A GlorotUniform factory: one seed per call, counted from ``seed * 1000``, so weights are reproducible."""
    counter = iter(range(seed * 1000, seed * 1000 + 10**6))
    return lambda: keras.initializers.GlorotUniform(seed=next(counter))




def adapted_normalization(train_inputs, view=None, axis: int = -1, name: str = "norm") -> layers.Normalization:
    """A Normalization layer holding the TRAINING split's mean and variance of ``view(inputs)`` per ``axis``.

    ``train_inputs``: a tf.data.Dataset of input batches. Stored in the model, so
    evaluation and prediction standardise with the training statistics. For the
    log-mel itself (``axis=1``: per mel band): the per-clip min-max scaling of the
    shards leaves low bands near +1 and high bands near -1 in every clip, and a
    network would spend its first layer learning those offsets.
    """
    layer = layers.Normalization(axis=axis, name=name)
    layer.adapt(train_inputs if view is None else train_inputs.map(view))
    return layer
