"""Views of the stored log-mel computed inside the model, so a saved model needs only the shards' input.

* ``mfcc_matrix``: MFCC as a DCT-II (orthonormal) over the mel axis of the stored log-mel.
  The shards hold log-mel min-max scaled per clip to [-1, 1]; the DCT is linear, so these
  are the MFCCs of the clip's log-mel up to that per-clip scale and offset (the offset
  lands in coefficient 0 only). Librosa computes MFCC the same way from its dB mel.
* ``Functionals``: per clip, statistics over time of MFCCs, mel bands, their deltas and
  a frame-energy contour, over the clip's active span (first to last frame above a
  level: the padding and the silence before and after the voice carry no emotion).
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

PERCENTILES = (5, 25, 50, 75, 95)


def mfcc_matrix(n_mels: int, n_mfcc: int) -> np.ndarray:
    """(n_mfcc, n_mels): row k is the orthonormal DCT-II basis vector k (scipy.fft.dct(type=2, norm='ortho'))."""
    m = np.arange(n_mels)
    basis = np.cos(np.pi / n_mels * (m[None, :] + 0.5) * np.arange(n_mfcc)[:, None]) * np.sqrt(2.0 / n_mels)
    basis[0] /= np.sqrt(2.0)
    return basis.astype("float32")


def voiced_span(active):
    """(batch, frames) booleans -> the same: True from each clip's first active frame to its last
    (none where no frame is active). The span the functionals and ``layers.SpanPooling`` use."""
    active = ops.cast(active, "int32")
    started = ops.cumsum(active, axis=1) > 0
    ending = ops.flip(ops.cumsum(ops.flip(active, axis=1), axis=1) > 0, axis=1)
    return ops.logical_and(started, ending)


@keras.saving.register_keras_serializable(package="train")
class MFCC(layers.Layer):
    """(batch, n_mels, frames, 1) log-mel -> (batch, frames, n_mfcc): a fixed DCT over the mel axis."""

    def __init__(self, n_mfcc: int = 40, **kwargs):
        super().__init__(**kwargs)
        self.n_mfcc = n_mfcc

    def call(self, inputs):
        # a constant made per call: one made in build() would belong to whichever graph built the layer
        basis = ops.convert_to_tensor(mfcc_matrix(inputs.shape[1], self.n_mfcc))
        return ops.einsum("km,bmt->btk", basis, inputs[..., 0])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2], self.n_mfcc)

    def get_config(self):
        return {**super().get_config(), "n_mfcc": self.n_mfcc}


def _delta(x):
    """Central difference along the last axis (one-sided at the ends), as numpy.gradient."""
    inner = (x[..., 2:] - x[..., :-2]) / 2.0
    return ops.concatenate([x[..., 1:2] - x[..., :1], inner, x[..., -1:] - x[..., -2:-1]], axis=-1)


@keras.saving.register_keras_serializable(package="train")
class Functionals(layers.Layer):
    """(batch, n_mels, frames, 1) log-mel in [-1, 1] -> (batch, features): statistics over the active span.

    Contours (rows): ``n_mfcc`` MFCCs, ``bands`` mel bands (averages of adjacent bands),
    the deltas of both, the frame energy (mean over bands) and the spectral flux.
    Statistics per contour: mean, standard deviation, the 5/25/50/75/95th percentiles,
    the 5-95 range, the slope over time, skewness and kurtosis. Plus three of the span:
    its share of the clip, the share of active frames in it, and the number of
    active/inactive switches per frame (a rough speech-rate cue).
    """

    def __init__(self, n_mfcc: int = 40, bands: int = 40, active_level: float = -0.9, **kwargs):
        super().__init__(**kwargs)
        self.n_mfcc, self.bands, self.active_level = n_mfcc, bands, active_level

    def call(self, inputs):
        x = ops.cast(inputs[..., 0], "float32")  # (B, M, T)
        n_mels, frames = x.shape[1], x.shape[2]
        if n_mels % self.bands:
            raise ValueError(f"{n_mels} mel bands do not divide into {self.bands} groups")
        dct = ops.convert_to_tensor(mfcc_matrix(n_mels, self.n_mfcc))  # constants per call, as in MFCC
        pool = ops.convert_to_tensor((np.kron(np.eye(self.bands), np.ones((1, n_mels // self.bands)))
                                      / (n_mels // self.bands)).astype("float32"))
        active = ops.mean(x, axis=1) > self.active_level  # (B, T)
        span = voiced_span(active)
        none = ops.logical_not(ops.any(span, axis=1, keepdims=True))
        span = ops.cast(ops.logical_or(span, none), "float32")  # a silent clip: all frames

        mfcc = ops.einsum("km,bmt->bkt", dct, x)
        bands = ops.einsum("km,bmt->bkt", pool, x)
        energy = ops.mean(x, axis=1, keepdims=True)
        flux = ops.sqrt(ops.mean(ops.square(_delta(x)), axis=1, keepdims=True) + 1e-12)
        contours = ops.concatenate([mfcc, bands, _delta(mfcc), _delta(bands), energy, flux], axis=1)  # (B, C, T)

        n = ops.sum(span, axis=1)  # (B,)
        w = span[:, None, :]
        mean = ops.sum(contours * w, axis=2) / n[:, None]
        centred = (contours - mean[..., None]) * w
        var = ops.sum(ops.square(centred), axis=2) / n[:, None]
        std = ops.sqrt(var + 1e-8)
        z = centred / std[..., None]
        skew = ops.sum(z ** 3, axis=2) / n[:, None]
        kurt = ops.sum(z ** 4, axis=2) / n[:, None]
        t = ops.cumsum(span, axis=1) * span  # 1..n inside the span
        t_mean = (n + 1.0) / 2.0
        t_std = ops.sqrt((ops.square(n) - 1.0) / 12.0 + 1e-8)
        tz = (t - t_mean[:, None]) / t_std[:, None] * span
        slope = ops.sum(contours * tz[:, None, :], axis=2) / n[:, None]
        # percentiles over the span: outside it sorts to the top, then index by the span's length
        big = ops.convert_to_tensor(1e9, "float32")
        ordered = ops.sort(ops.where(w > 0, contours, big), axis=-1)
        quantiles = []
        for p in PERCENTILES:
            index = ops.cast(ops.round(p / 100.0 * (n - 1.0)), "int32")  # nearest rank
            onehot = ops.one_hot(index, frames)[:, None, :]
            quantiles.append(ops.sum(ops.where(onehot > 0, ordered, 0.0), axis=2))
        spread = quantiles[-1] - quantiles[0]
        inside = span[:, 1:] * span[:, :-1]  # both frames of a pair within the span
        switches = ops.sum(ops.abs(ops.diff(ops.cast(active, "float32"), axis=1)) * inside, axis=1) / n
        extra = ops.stack([n / frames, ops.sum(ops.cast(active, "float32") * span, axis=1) / n, switches], axis=1)
        stats = [mean, std, *quantiles, spread, slope, skew, kurt]
        return ops.concatenate([ops.reshape(ops.stack(stats, axis=2), (-1, len(stats) * contours.shape[1])), extra],
                               axis=1)

    def compute_output_shape(self, input_shape):
        rows = 2 * (self.n_mfcc + self.bands) + 2
        return (input_shape[0], rows * (len(PERCENTILES) + 6) + 3)

    def get_config(self):
        return {**super().get_config(), "n_mfcc": self.n_mfcc, "bands": self.bands, "active_level": self.active_level}
