"""The log-mel spectrogram of one decoded clip (seed 001, Section II-A), fast.

``log_mel`` gives what

    S = librosa.feature.melspectrogram(y=y, sr=48000, n_fft=3072, hop_length=768,
                                       center=False, n_mels=200, fmin=20, fmax=12000)
    D = librosa.power_to_db(S)
    (D - D.min()) / (D.max() - D.min()) * 2 - 1

gives (to ~1e-5), about 2.7x faster: float32 ``scipy.fft``, only the FFT bins
the mel filterbank uses, and the filterbank and window built once per process.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.fft import rfft

from .config import FeatureConfig
from .filters import mel_filterbank, window


@dataclass(frozen=True)
class MelPlan:
    """What ``log_mel`` builds once per process and config."""

    window: np.ndarray  # (n_fft,) float32
    mel: np.ndarray  # (n_mels, n_bins) float32: librosa's filterbank without its all-zero columns
    n_bins: int  # FFT bins up to the last one with any mel weight (768 of 1537 by default)


_PLANS: dict[str, MelPlan] = {}


def mel_plan(config: FeatureConfig) -> MelPlan:
    """The cached window and filterbank for ``config``."""
    key = config.hash()
    plan = _PLANS.get(key)
    if plan is None:
        mel = mel_filterbank(config)
        # Bins above fmax have no weight in any band: skip them in the power and the matrix product.
        used = np.flatnonzero(mel.any(axis=0))
        n_bins = int(used[-1]) + 1 if used.size else 1
        plan = MelPlan(window=window(config.window, config.n_fft).astype(np.float32), mel=np.ascontiguousarray(mel[:, :n_bins]), n_bins=n_bins)
        _PLANS[key] = plan
    return plan


def log_mel(y: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Log-mel spectrogram of one clip, min-max scaled per clip.

    ``y``: mono float32 signal, ``config.n_samples`` samples at ``config.sample_rate``.
    Returns float32 ``config.shape`` = (n_mels, n_frames) = (200, 278), values in
    [scale_min, scale_max] = [-1, 1]; the quietest bins (at most top_db = 80 dB below
    the loudest) map to -1, the loudest to +1.

    A spectrogram with no range at all (a silent clip: every bin at the amin floor)
    is all ``scale_min`` (-1), never NaN: silence is what maps to -1 in every other
    clip too (the zero padding of short clips), so the model sees one meaning for it.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.shape != (config.n_samples,):
        raise ValueError(f"log_mel expects a mono signal of {config.n_samples} samples, got shape {y.shape}")
    plan = mel_plan(config)
    if config.center:
        # librosa >= 0.10 pads the centred STFT with zeros (pad_mode="constant").
        y = np.pad(y, config.n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(y, config.n_fft)[:: config.hop_length]
    spectrum = rfft(frames * plan.window, axis=-1)[:, : plan.n_bins]  # (n_frames, n_bins)
    if config.power == 2.0:
        power = np.square(spectrum.real) + np.square(spectrum.imag)
    else:
        power = np.abs(spectrum) ** np.float32(config.power)
    mel = plan.mel @ power.T  # (n_mels, n_frames)
    return scale(power_to_db(mel, config), config)


def power_to_db(S: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """librosa.power_to_db with the config's ref, amin and top_db (dB, same shape and dtype)."""
    amin = np.float32(config.db_amin)
    log_spec = np.float32(10.0) * np.log10(np.maximum(amin, S))
    log_spec -= np.float32(10.0 * np.log10(max(config.db_amin, config.db_ref)))
    np.maximum(log_spec, log_spec.max() - np.float32(config.db_top_db), out=log_spec)
    return log_spec


def scale(D: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Min-max scaling of one spectrogram to [scale_min, scale_max] (eq. 1 of the paper); constant -> scale_min."""
    lo, hi = D.min(), D.max()
    if not hi > lo:
        return np.full(D.shape, config.scale_min, dtype=np.float32)
    out = (D - lo) * np.float32((config.scale_max - config.scale_min) / (hi - lo))
    out += np.float32(config.scale_min)
    # Rounding can overshoot the bounds by an ulp; the contract is the closed interval.
    return np.clip(out, config.scale_min, config.scale_max, out=out).astype(np.float32, copy=False)
