"""train.models.layers.SpanPooling and fusion's ``pooling=span``: time pooling over the voiced span only."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from train.models import MODELS  # noqa: E402
from train.models.layers import SpanPooling  # noqa: E402

pytestmark = pytest.mark.slow  # TensorFlow


def clip_with_voice(frames=278, start=40, stop=100, bands=200):
    """Silence (-1, the shards' floor) with a flat 'voice' in frames start..stop-1."""
    x = np.full((1, bands, frames, 1), -1.0, "float32")
    x[0, :, start:stop, 0] = 0.5
    return x


def test_mean_and_max_are_taken_over_the_pooled_frames_the_span_covers():
    rng = np.random.default_rng(0)
    maps = rng.uniform(0, 1, (1, 6, 8, 4)).astype("float32")  # 8 pooled frames of 32 input frames each
    out = np.asarray(SpanPooling(32)([maps, clip_with_voice(start=40, stop=100)]))[0]
    frames = np.arange(256).reshape(8, 32)
    weight = ((frames >= 40) & (frames < 100)).mean(1)  # frames 1..3 touched: 24/32, 1, 4/32
    assert np.allclose(weight[:4], [0, 0.75, 1, 0.125]) and not weight[4:].any()
    mean = (maps[0] * weight[None, :, None]).sum(1) / weight.sum()
    peak = maps[0][:, weight > 0].max(1)
    assert out.shape == (6 * 2 * 4,)
    assert np.allclose(out, np.concatenate([mean, peak], -1).reshape(-1), atol=1e-6)
    plain = np.concatenate([maps[0].mean(1), maps[0].max(1)], -1).reshape(-1)
    assert np.abs(out - plain).max() > 0.05  # the silent frames did count before


def test_a_silent_clip_pools_over_every_frame():
    maps = np.random.default_rng(1).uniform(0, 1, (1, 3, 8, 2)).astype("float32")
    silent = np.full((1, 200, 278, 1), -1.0, "float32")
    out = np.asarray(SpanPooling(32)([maps, silent]))[0]
    assert np.allclose(out, np.concatenate([maps[0].mean(1), maps[0].max(1)], -1).reshape(-1), atol=1e-6)


def test_fusion_with_span_pooling_saves_and_loads(tmp_path):
    import tensorflow as tf

    rng = np.random.default_rng(2)
    x = np.concatenate([clip_with_voice(start=s, stop=s + 80) for s in (10, 60, 120)])
    x = (x + rng.uniform(-0.05, 0.05, x.shape)).clip(-1, 1).astype("float32")
    cnn = MODELS["fusion"].build(x.shape[1:], 0, tf.data.Dataset.from_tensor_slices(x).batch(3), pooling="span")
    assert cnn.get_layer("time_pool").step == 32  # 2 (downsample) x 2**4 (four conv blocks)
    cnn.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert np.allclose(cnn.predict(x, verbose=0), loaded.predict(x, verbose=0), atol=1e-6)
