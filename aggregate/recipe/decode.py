"""Decoding one clip as the recipe wants it: mono, resampled, cropped or padded, denoised."""
from __future__ import annotations

import hashlib
import io
import math
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ..audio import why_unreadable
from ..errors import DecodeError
from .config import FeatureConfig


def load_clip(path: Path | str, config: FeatureConfig, corpus: str, expected: tuple | None = None) -> np.ndarray:
    """Decode one clip as the recipe wants it: float32 mono, ``config.n_samples`` samples at
    ``config.sample_rate``, cropped or zero-padded on the right, spectral-gated when ``corpus``
    is one of ``config.noisy_corpora``.

    Same samples (to float32 rounding) as ``librosa.load(path, sr=48000)`` followed by
    crop/pad and ``noisereduce.reduce_noise(y=y, sr=48000)``, but only the frames that
    reach the first 4.5 s are read and resampled.
    """
    path = Path(path)
    source = str(path) if expected is None else io.BytesIO(checked_bytes(path, *expected))
    return decode_cropped(source, path, config, corpus)


def decode_cropped(source, path: Path, config: FeatureConfig, corpus: str) -> np.ndarray:
    """``load_clip`` from ``source`` (a path or the file's checked bytes, ``checked_bytes``); ``path``
    names the file in errors."""
    mono, native_rate = _read_mono(source, path, lambda rate: _frames_to_read(rate, config))
    if native_rate != config.sample_rate:
        mono = soxr.resample(np.ascontiguousarray(mono), native_rate, config.sample_rate,
                           quality=config.resampler)  # soxr takes librosa's names ("soxr_hq" = HQ)
    y = np.zeros(config.n_samples, dtype=np.float32)
    kept = min(config.n_samples, mono.shape[0])
    y[:kept] = mono[:kept]
    if corpus in config.noisy_corpora:
        from .denoise import reduce_noise  # here: its scipy.sparse (0.13 s a worker) only where a corpus is gated

        y = reduce_noise(y, config)
    return y


def checked_bytes(path: Path, size: int, sha256: str) -> bytes:
    """The file's bytes, read once and decoded from memory, if they are those the manifest recorded."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise DecodeError(path, why_unreadable(path, err)) from err
    if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
        raise DecodeError(path, f"the file changed since the manifest was built ({len(data)} bytes, the manifest "
                                f"recorded {size} and another content hash); build the manifest again")
    return data


def decode_native(source, path: Path) -> tuple[np.ndarray, int]:
    """The whole file as float32 mono (channels averaged) and its sample rate; ``source`` as in
    ``decode_cropped``."""
    mono, native_rate = _read_mono(source, path, lambda rate: -1)
    return np.ascontiguousarray(mono, dtype=np.float32), native_rate


def _read_mono(source, path: Path, frames_at) -> tuple[np.ndarray, int]:
    """float32 mono (channels averaged) of ``frames_at(native rate)`` frames (-1: all) and the rate;
    DecodeError for a file libsndfile cannot read, one without samples, or one with NaN or infinities."""
    try:
        # libsndfile reads by content, not extension: AIFF under a .wav name decodes fine.
        with sf.SoundFile(source) as handle:
            native_rate = int(handle.samplerate)
            data = handle.read(frames=frames_at(native_rate), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as err:
        raise DecodeError(path, why_unreadable(path, err)) from err
    if data.shape[0] == 0:
        raise DecodeError(path, "no audio samples (zero frames); re-export or drop the file")
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if not np.isfinite(mono).all():
        raise DecodeError(path, "samples are NaN or infinite; the file is corrupt")
    return mono, native_rate


def resample_cut(mono: np.ndarray, native_rate: int, rate: int, max_s: float | None, resampler: str) -> np.ndarray:
    """``mono`` at ``rate`` (soxr, librosa's quality names), cut to ``max_s`` seconds; never padded.
    The whole signal is resampled, then cut: no edge effect at the cut."""
    if native_rate != rate:
        mono = soxr.resample(np.ascontiguousarray(mono), native_rate, rate, quality=resampler).astype(np.float32, copy=False)
    if max_s is not None:
        mono = mono[: int(round(max_s * rate))]
    return np.array(mono, dtype=np.float32)  # a copy of its own: the caller may keep it


def _frames_to_read(native_rate: int, config: FeatureConfig) -> int:
    # Crop before resampling, with a margin past the crop point: soxr's filter looks ahead
    # ~130 input samples (HQ, up-sampling), proportionally more when down-sampling. With
    # these margins the first 4.5 s equal those of resampling the whole file to 1e-6, at
    # every soxr quality and 8-192 kHz (measured).
    margin = 512 * max(1, math.ceil(native_rate / config.sample_rate))
    return math.ceil(config.duration_s * native_rate) + margin
