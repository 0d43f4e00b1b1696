"""train.models.layers.ClipBandNorm and fusion's ``clip_norm``: a channel's colouring and a clip's silence vanish."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from train.models import MODELS  # noqa: E402
from train.models.layers import ClipBandNorm  # noqa: E402

pytestmark = pytest.mark.slow  # TensorFlow


def voiced_clip(rng, bands=40, frames=64, start=10, length=30):
    """Silence (-1, the shards' floor) with a random 'voice' in frames start..start+length."""
    x = np.full((1, bands, frames, 1), -1.0, "float32")
    x[0, :, start:start + length, 0] = rng.uniform(-0.6, 0.6, (bands, length))
    return x


def coloured(x, offset):
    """The same clip through another channel: a fixed offset per band on the voiced frames."""
    return np.where(x > -1, x + offset[None, :, None, None], x).astype("float32")


def test_a_constant_offset_per_band_vanishes():
    rng = np.random.default_rng(0)
    x = voiced_clip(rng)
    offset = rng.uniform(-0.25, 0.25, 40).astype("float32")
    plain, other = np.asarray(ClipBandNorm()(x)), np.asarray(ClipBandNorm()(coloured(x, offset)))
    assert np.abs(plain - other).max() < 1e-5
    assert np.abs(plain[0, :, 10:40].mean(1)).max() < 1e-5  # each band's voiced mean is 0
    assert np.all(plain[0, :, :10] == 0) and np.all(plain[0, :, 40:] == 0)  # silence is 0
    assert np.abs(plain - x).max() > 0.1  # it did change the input


def test_the_share_of_silence_does_not_move_the_voiced_frames():
    rng = np.random.default_rng(1)
    short = voiced_clip(rng, frames=64)
    long = np.full((1, 40, 200, 1), -1.0, "float32")
    long[:, :, 100:130] = short[:, :, 10:40]  # the same voice in three times the silence
    a, b = np.asarray(ClipBandNorm()(short)), np.asarray(ClipBandNorm()(long))
    assert np.abs(a[:, :, 10:40] - b[:, :, 100:130]).max() < 1e-5


def test_scale_also_removes_a_gain_per_band():
    rng = np.random.default_rng(2)
    x = voiced_clip(rng)
    gain = rng.uniform(0.8, 1.25, 40).astype("float32")
    y = np.where(x > -1, (x * gain[None, :, None, None]) + 0.1, x).astype("float32")
    a, b = np.asarray(ClipBandNorm(scale=True)(x)), np.asarray(ClipBandNorm(scale=True)(y))
    assert np.abs(a - b).max() < 1e-3
    assert np.abs(a[0, :, 10:40].std(1) - 1).max() < 1e-2


def test_a_silent_clip_stays_finite():
    x = np.full((2, 40, 64, 1), -1.0, "float32")
    assert np.all(np.asarray(ClipBandNorm()(x)) == 0)
    assert np.all(np.isfinite(np.asarray(ClipBandNorm(scale=True)(x))))


@pytest.mark.parametrize("clip_norm", ["none", "mean"])
def test_fusions_cnn_ignores_the_channel_with_clip_norm_only(clip_norm):
    import tensorflow as tf

    rng = np.random.default_rng(3)
    x = np.concatenate([voiced_clip(rng) for _ in range(6)])
    offset = np.linspace(0.2, -0.2, 40).astype("float32")  # a tilt: more low band, less high band
    cnn = MODELS["fusion"].build(x.shape[1:], 0, tf.data.Dataset.from_tensor_slices(x).batch(3), clip_norm=clip_norm)
    difference = np.abs(cnn.predict(x, verbose=0) - cnn.predict(coloured(x, offset), verbose=0)).max()
    assert (difference < 1e-5) if clip_norm == "mean" else (difference > 1e-3)
