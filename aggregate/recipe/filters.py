"""The STFT window and the mel filterbank, in numpy alone.

Equal to ``scipy.signal.get_window(name, n, fftbins=True)`` and to ``librosa.filters.mel``
(tests hold them to it), written out because importing scipy.signal and librosa costs each
render worker about 0.8 s: on a small manifest that start-up, not the clips, decided
whether a second worker helped.
"""
from __future__ import annotations

import numpy as np

from .config import FeatureConfig


def window(name: str, n: int) -> np.ndarray:
    """A periodic window of ``n`` samples (the DFT-even form an STFT wants), float64."""
    phase = 2 * np.pi * np.arange(n) / n
    if name == "hann":
        return 0.5 - 0.5 * np.cos(phase)
    if name == "hamming":
        return 0.54 - 0.46 * np.cos(phase)
    if name == "blackman":
        return 0.42 - 0.5 * np.cos(phase) + 0.08 * np.cos(2 * phase)
    if name == "bartlett":
        return 1.0 - np.abs(2.0 * np.arange(n) / n - 1.0)
    if name == "boxcar":
        return np.ones(n)
    raise ValueError(f"unknown window {name!r}")


def mel_filterbank(config: FeatureConfig) -> np.ndarray:
    """(n_mels, 1 + n_fft // 2) float32 triangular filters, as ``librosa.filters.mel`` builds them."""
    fft_hz = np.fft.rfftfreq(config.n_fft, 1.0 / config.sample_rate)
    lo, hi = _hz_to_mel(config.fmin, config.mel_htk), _hz_to_mel(config.fmax, config.mel_htk)
    edges_hz = _mel_to_hz(np.linspace(lo, hi, config.n_mels + 2), config.mel_htk)
    widths = np.diff(edges_hz)
    ramps = np.subtract.outer(edges_hz, fft_hz)
    weights = np.zeros((config.n_mels, fft_hz.size), dtype=np.float32)  # float32 throughout, as librosa rounds
    for i in range(config.n_mels):
        rising = -ramps[i] / widths[i]
        falling = ramps[i + 2] / widths[i + 1]
        weights[i] = np.maximum(0, np.minimum(rising, falling))
    if config.mel_norm == "slaney":  # equal area per filter
        weights *= (2.0 / (edges_hz[2:config.n_mels + 2] - edges_hz[:config.n_mels]))[:, None]
    return weights


# Slaney's mel scale (librosa's default): linear below 1 kHz, logarithmic above; or HTK's.
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOG_STEP = np.log(6.4) / 27.0


def _hz_to_mel(hz, htk: bool):
    hz = np.asanyarray(hz, dtype=float)
    if htk:
        return 2595.0 * np.log10(1.0 + hz / 700.0)
    return np.where(hz >= _MIN_LOG_HZ, _MIN_LOG_MEL + np.log(np.maximum(hz, 1e-10) / _MIN_LOG_HZ) / _LOG_STEP,
                    hz / _F_SP)


def _mel_to_hz(mel, htk: bool):
    mel = np.asanyarray(mel, dtype=float)
    if htk:
        return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)
    return np.where(mel >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOG_STEP * (mel - _MIN_LOG_MEL)), _F_SP * mel)
