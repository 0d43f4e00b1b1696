"""The feature recipe: exact against the naive librosa + noisereduce chain, defined on edge cases."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from aggregate.recipe import DecodeError, FeatureConfig, render_clip
from aggregate.recipe.decode import load_clip
from aggregate.recipe.denoise import reduce_noise
from aggregate.recipe.logmel import log_mel, mel_plan
from aggregate.recipe.reference import seed_chain

CONFIG = FeatureConfig()
TOLERANCE = 1e-3  # on features in [-1, 1]; measured differences are ~3e-5
TESS = "tess-sample/TESS Toronto emotional speech set data"


def voice(rate: int, seconds: float, seed: int = 0, snr_db: float = 20.0, channels: int = 1) -> np.ndarray:
    """Harmonics of a wandering pitch with a syllable envelope, plus white noise: (frames, channels)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    f0 = 160 * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    signal = 0.2 * sum(np.sin(h * phase) / h for h in range(1, 10)) * np.clip(np.sin(2 * np.pi * 4 * t), 0, None)
    noise = rng.standard_normal((t.size, channels)) * np.sqrt(np.mean(signal**2)) * 10 ** (-snr_db / 20)
    return np.clip(signal[:, None] + noise, -1, 1)


def write(path: Path, audio: np.ndarray, rate: int, **kwargs) -> Path:
    sf.write(path, audio, rate, subtype="PCM_16", **kwargs)
    return path


def assert_matches_naive(path: Path, corpus: str) -> np.ndarray:
    fast = render_clip(path, corpus, CONFIG)
    slow = seed_chain(path, noisy=corpus in CONFIG.noisy_corpora)
    assert fast.dtype == np.float32 and fast.shape == slow.shape == (200, 278)
    assert np.abs(fast - slow).max() <= TOLERANCE
    return fast


# -- the config ------------------------------------------------------------------------------


def test_default_shape_is_the_papers():
    assert CONFIG.n_samples == 216_000
    assert CONFIG.n_frames == 278
    assert CONFIG.shape == (200, 278)
    assert mel_plan(CONFIG).n_bins == 768  # bins above 12 kHz carry no mel weight


CHOICES = {"resampler": "soxr_vhq", "window": "hamming", "mel_norm": "none"}


def test_hash_changes_with_every_field():
    base = CONFIG.to_dict()
    hashes = {CONFIG.hash()}
    for field in dataclasses.fields(FeatureConfig):
        value = getattr(CONFIG, field.name)
        if isinstance(value, bool):
            changed = not value
        elif isinstance(value, (int, float)):
            changed = value * 1.5 + 1
        elif field.name in CHOICES:  # a checked choice
            changed = CHOICES[field.name]
        elif isinstance(value, str):
            changed = value + "x"
        else:
            changed = (*value, "tess")
        other = FeatureConfig.from_dict({**base, field.name: changed})
        hashes.add(other.hash())
    assert len(hashes) == len(dataclasses.fields(FeatureConfig)) + 1


def test_hash_is_canonical_and_round_trips():
    assert FeatureConfig(fmin=20, sample_rate=48000.0).hash() == CONFIG.hash()
    assert FeatureConfig.from_dict(CONFIG.to_dict()) == CONFIG
    assert FeatureConfig.from_dict(CONFIG.to_dict()).hash() == CONFIG.hash()
    with pytest.raises(ValueError, match="unknown"):
        FeatureConfig.from_dict({**CONFIG.to_dict(), "n_bands": 64})


@pytest.mark.slow
def test_hash_is_stable_across_processes():
    code = "from aggregate.recipe import FeatureConfig; print(FeatureConfig().hash())"
    root = Path(__file__).resolve().parents[2]
    other = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert other.stdout.strip() == CONFIG.hash()


# -- exactness against the naive chain ----------------------------------------------------------


def test_noisy_16k_clip(tmp_path):
    features = assert_matches_naive(write(tmp_path / "a.wav", voice(16000, 2.5, snr_db=10), 16000), "crema-d")
    assert features.min() == -1.0 and features.max() == 1.0


def test_stereo_48k_clip(tmp_path):
    assert_matches_naive(write(tmp_path / "s.wav", voice(48000, 3.0, channels=2), 48000), "ravdess")


def test_tess_rate_clip(tmp_path):
    assert_matches_naive(write(tmp_path / "t.wav", voice(24414, 2.0), 24414), "tess")


def test_96k_clip(tmp_path):
    assert_matches_naive(write(tmp_path / "h.wav", voice(96000, 2.0), 96000), "tess")


def test_long_clip_is_cropped_before_resampling(tmp_path):
    path = write(tmp_path / "long.wav", voice(16000, 7.0, seed=3), 16000)
    assert_matches_naive(path, "iemocap")
    # Reading 4.5 s plus a margin gives what resampling the whole file and cropping gives.
    audio, _ = sf.read(path, dtype="float32")
    whole = soxr.resample(audio, 16000, 48000, quality="HQ")[:216_000]
    assert np.abs(load_clip(path, CONFIG, "tess") - whole).max() < 1e-6


def test_real_samples(shared_data):
    ravdess = shared_data / "ravdess-sample/Actor_01"
    tess = shared_data / TESS
    cases = [
        (ravdess / "03-01-02-01-01-02-01.wav", "ravdess"),  # stereo
        (ravdess / "03-01-05-01-01-01-01.wav", "crema-d"),  # with noise reduction
        (tess / "OAF_Fear/OAF_food_fear.wav", "tess"),  # 96 kHz
        (tess / "YAF_angry/YAF_germ_angry.wav", "tess"),  # AIFF under a .wav name
        (tess / "OAF_Fear/OAF_bar_fear.wav", "iemocap"),  # 24,414 Hz with noise reduction
    ]
    for path, corpus in cases:
        if not path.exists():
            pytest.skip(f"{path} is missing from the shared samples")
        assert_matches_naive(path, corpus)


def test_reduce_noise_matches_noisereduce_on_the_signal():
    import noisereduce

    rng = np.random.default_rng(7)
    y = np.zeros(216_000, dtype=np.float32)
    y[30_000:150_000] = voice(48000, 2.5, snr_db=5)[:, 0]  # silence before, zero tail after
    y[200_000] = 0.5  # an isolated click near the end
    expected = noisereduce.reduce_noise(y=y, sr=48000)
    assert np.abs(reduce_noise(y, CONFIG) - expected).max() < 1e-5
    full = (0.1 * rng.standard_normal(216_000)).astype(np.float32)  # no zeros at all
    assert np.abs(reduce_noise(full, CONFIG) - noisereduce.reduce_noise(y=full, sr=48000)).max() < 1e-5


# -- defined edge cases -------------------------------------------------------------------------


@pytest.mark.parametrize("corpus", ["ravdess", "crema-d"])
def test_silent_clip_is_all_minus_one(tmp_path, corpus):
    path = write(tmp_path / "silent.wav", np.zeros(16000), 16000)
    features = render_clip(path, corpus, CONFIG)
    assert features.shape == (200, 278)
    assert np.all(features == -1.0)


@pytest.mark.parametrize("corpus", ["ravdess", "crema-d"])
def test_constant_clip_is_finite(tmp_path, corpus):
    path = write(tmp_path / "dc.wav", np.full(48000, 0.5), 48000)
    features = render_clip(path, corpus, CONFIG)
    assert np.isfinite(features).all()
    assert features.min() >= -1.0 and features.max() <= 1.0
    assert np.all(log_mel(np.full(216_000, 0.25, dtype=np.float32), CONFIG) >= -1.0)


def test_log_mel_rejects_a_wrong_length():
    with pytest.raises(ValueError, match="216000"):
        log_mel(np.zeros(1000, dtype=np.float32), CONFIG)


def test_zero_frame_wav_is_a_decode_error(tmp_path):
    path = write(tmp_path / "empty.wav", np.zeros(0), 16000)
    with pytest.raises(DecodeError, match="empty.wav.*zero frames"):
        render_clip(path, "crema-d", CONFIG)


def test_garbage_is_a_decode_error(tmp_path):
    path = tmp_path / "garbage.wav"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(DecodeError, match="garbage.wav"):
        render_clip(path, "tess", CONFIG)


@pytest.mark.parametrize("name", ["hann", "hamming", "blackman", "bartlett", "boxcar"])
def test_windows_equal_scipys(name):
    import scipy.signal

    from aggregate.recipe.filters import window

    for n in (7, 1024, 3072):
        assert np.array_equal(window(name, n).astype(np.float32),
                              scipy.signal.get_window(name, n, fftbins=True).astype(np.float32))


@pytest.mark.parametrize("changes", [{}, {"mel_htk": True}, {"mel_norm": "none"},
                                     {"n_mels": 64, "fmin": 0.0, "fmax": 8000.0, "n_fft": 1024, "hop_length": 256}])
def test_mel_filterbank_equals_librosas(changes):
    import librosa

    from aggregate.recipe.filters import mel_filterbank

    config = dataclasses.replace(CONFIG, **changes)
    expected = librosa.filters.mel(sr=config.sample_rate, n_fft=config.n_fft, n_mels=config.n_mels, fmin=config.fmin,
                                   fmax=config.fmax, htk=config.mel_htk,
                                   norm=None if config.mel_norm == "none" else config.mel_norm, dtype=np.float32)
    assert np.array_equal(mel_filterbank(config), expected)


@pytest.mark.slow
def test_a_render_worker_imports_neither_pandas_nor_scipy_signal():
    code = ("import sys, aggregate.render.worker; "
            "print(sorted(m for m in ('pandas', 'pyarrow', 'h5py', 'scipy.signal', 'librosa') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"
