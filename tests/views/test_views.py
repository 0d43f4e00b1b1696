"""The views' interface: the registry, parsing --views, the install check, Stored's checks, DecodedClip."""
from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest
import soundfile as sf

from aggregate.errors import DecodeError, InputError
from aggregate.recipe import FeatureConfig, render_clip
from aggregate.shards.storage import StorageConfig
from aggregate.views import VIEWS, DecodedClip, Stored, View, check_installed, parse_views
from tests.helpers import write_wav


def expected_of(path):
    data = path.read_bytes()
    return len(data), hashlib.sha256(data).hexdigest()


def test_parse_views_keeps_the_order_and_refuses_unknown_or_repeated_names():
    assert [v.name for v in parse_views("waveform, log_mel")] == ["waveform", "log_mel"]
    with pytest.raises(InputError, match=f"unknown view 'mfcc'; known views: {', '.join(VIEWS)}$"):
        parse_views("log_mel,mfcc")
    with pytest.raises(InputError, match="named twice"):
        parse_views("log_mel,log_mel")
    with pytest.raises(InputError, match="comma-separated"):
        parse_views("log_mel,,waveform")


def test_a_view_needing_a_missing_module_is_refused_in_one_line_saying_what_to_install():
    class Needy(View):
        name = "needy"
        config_type = FeatureConfig
        needs = ("numpy", "no_such_module_for_views_test")
        install = "emotion-aggregate[needy]"

    with pytest.raises(InputError) as caught:
        check_installed(parse_views("log_mel") + (Needy(),))
    assert str(caught.value) == ("view 'needy' needs the package no_such_module_for_views_test: "
                                 "pip install 'emotion-aggregate[needy]'")
    check_installed(parse_views("log_mel,waveform"))  # the core views need nothing more


def test_log_mel_keeps_the_recipe_hash_and_values(tmp_path):
    view = VIEWS["log_mel"]()
    assert view.config_hash() == FeatureConfig().hash()
    assert view.stored(StorageConfig(dtype="float32")) == Stored((200, 278), "float32", -1.0, 1.0)
    path = write_wav(tmp_path / "a.wav", seconds=1.2, rate=22050, channels=2)
    clip = DecodedClip(path, "ravdess", view.config, expected_of(path))
    value = view.compute(clip)
    assert np.array_equal(value, render_clip(path, "ravdess", FeatureConfig(), expected=expected_of(path)))
    view.stored(StorageConfig(dtype="float32")).check(value, "a.wav")


def test_waveform_is_the_whole_clip_at_16k_float32_cut_at_max_duration(tmp_path):
    path = tmp_path / "b.wav"
    samples = (np.random.default_rng(0).integers(-2**15, 2**15, 16000 * 3)).astype(np.int16)
    sf.write(path, samples, 16000, subtype="PCM_16")
    view = VIEWS["waveform"]()
    value = view.compute(DecodedClip(path, "tess", FeatureConfig(), expected_of(path)))
    assert value.dtype == np.float32 and value.shape == (48000,)
    assert np.array_equal(value * 32768, samples.astype(np.float32))  # nothing of 16 bits lost
    view.stored(StorageConfig()).check(value, "b.wav")
    cut = view.compute(DecodedClip(path, "tess", FeatureConfig(), expected_of(path), max_duration=1.5))
    assert np.array_equal(cut, value[:24000])
    resampled = view.compute(DecodedClip(write_wav(tmp_path / "c.wav", seconds=2.0, rate=44100), "tess", FeatureConfig()))
    assert resampled.shape == (32000,)


def test_the_config_hash_follows_the_config_and_the_name():
    a, b = VIEWS["waveform"](), VIEWS["waveform"](VIEWS["waveform"].config_type(sample_rate=8000))
    assert a.config_hash() == VIEWS["waveform"]().config_hash() != b.config_hash()
    assert VIEWS["waveform"].config_from_dict(b.config_dict()) == b.config


def test_decoded_clip_checks_the_bytes_once_and_shares_its_decoding(tmp_path):
    path = write_wav(tmp_path / "d.wav", seconds=1.0, rate=48000)
    clip = DecodedClip(path, "crema-d", FeatureConfig(), expected_of(path))
    first = clip.signal(16000, None, denoise=True)
    assert clip.noisy and clip.signal(16000, None, denoise=True) is first
    assert not np.array_equal(first, clip.signal(16000, None, denoise=False))  # gated: another signal
    with pytest.raises(ValueError):
        first[0] = 1.0  # shared between views: read-only
    changed = DecodedClip(path, "crema-d", FeatureConfig(), (expected_of(path)[0], "0" * 64))
    with pytest.raises(DecodeError, match="changed since the manifest"):
        changed.native()


def test_stored_checks_dtype_shape_and_range():
    stored = Stored((None,), "float32", -1.0, 1.0)
    stored.check(np.zeros(7, np.float32), "x")
    for bad, words in ((np.zeros(7, np.float16), "dtype"), (np.zeros((2, 3), np.float32), "shape"),
                       (np.full(3, 2.0, np.float32), "outside"), (np.full(3, np.nan, np.float32), "NaN")):
        with pytest.raises(ValueError, match=words):
            stored.check(bad, "x")
    half = Stored((3,), "float16", -1.0, 1.0)  # float16 in [-1, 1] is checked on its bits: the same answers
    half.check(np.array([-1.0, 0.0, 1.0], np.float16), "x")
    for bad, words in (([0.0, np.nan, 0.0], "NaN"), ([np.inf, 0, 0], "NaN or infinite"), ([0.0, 1.001, 0], "outside"),
                       ([-1.01, 0, 0], "outside")):
        with pytest.raises(ValueError, match=words):
            half.check(np.array(bad, np.float16), "x")
    assert Stored.from_dict(stored.to_dict()) == stored
    with pytest.raises(ValueError):
        Stored((None, None), "float32")


def test_view_options_set_config_fields_from_text_or_are_refused_in_one_line():
    [view] = parse_views("waveform", {"waveform": {"sample_rate": "8000"}})
    assert view.config.sample_rate == 8000 and view.config_hash() != VIEWS["waveform"]().config_hash()
    for options, words in (({"waveform": {"rate": "8000"}}, "has no option 'rate' (its options: sample_rate, resampler)"),
                           ({"waveform": {"resampler": "best"}}, "resampler must be one of"),
                           ({"log_mel": {"n_mels": "64"}}, "is not among --views waveform")):
        with pytest.raises(InputError, match=re.escape(words) if "(" in words else words):
            parse_views("waveform", options)


@pytest.mark.parametrize("seconds", [0.3, 2.5])
def test_the_denoised_signal_at_16k_is_noisereduces_with_the_recipes_settings(seconds):
    import noisereduce

    from aggregate.recipe.denoise import reduce_noise_at

    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * 16000)) / 16000
    y = (0.3 * np.sin(2 * np.pi * 180 * t) * (t % 0.5 < 0.3) + 0.02 * rng.standard_normal(t.size)).astype(np.float32)
    c = FeatureConfig()
    expected = noisereduce.reduce_noise(
        y=y, sr=16000, stationary=c.nr_stationary, prop_decrease=c.nr_prop_decrease,
        time_constant_s=c.nr_time_constant_s, freq_mask_smooth_hz=c.nr_freq_mask_smooth_hz,
        time_mask_smooth_ms=c.nr_time_mask_smooth_ms, thresh_n_mult_nonstationary=c.nr_thresh_n_mult_nonstationary,
        sigmoid_slope_nonstationary=c.nr_sigmoid_slope_nonstationary, n_std_thresh_stationary=c.nr_n_std_thresh_stationary,
        chunk_size=c.nr_chunk_size, padding=c.nr_padding, n_fft=c.nr_n_fft, win_length=c.nr_win_length,
        hop_length=c.nr_hop_length)
    got = reduce_noise_at(y, 16000, c)
    assert got.shape == y.shape and np.abs(got - expected).max() < 1e-5
