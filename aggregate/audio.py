"""Audio files: read what a header says (the manifest); decode a clip as the recipe wants it (render)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .denoise import reduce_noise
from .errors import InputError
from .features import FeatureConfig

LFS_POINTER = b"version https://git-lfs"


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    channels: int
    frames: int
    format: str  # as libsndfile names it: WAV, AIFF, ...

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def probe(path: Path) -> tuple[AudioInfo | None, str | None, str]:
    """Read an audio header without decoding: (info, reject reason or None, detail)."""
    try:
        size = path.stat().st_size
        if size == 0:
            return None, "empty", "zero-byte file"
        # libsndfile looks at the content, not the extension: AIFF data under a .wav name reads fine.
        header = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as err:
        return None, "unreadable", _why_unreadable(path, err)
    info = AudioInfo(int(header.samplerate), int(header.channels), int(header.frames), str(header.format))
    if info.frames == 0:
        return info, "empty", "the header declares no samples"
    try:
        missing = _missing_wav_bytes(path, size) if info.format == "WAV" else 0
    except OSError as err:
        return None, "unreadable", f"cannot read its header: {err.strerror or err}"
    if missing:
        return info, "truncated", f"the data chunk declares {missing} bytes more than the file holds; copy it again"
    return info, None, ""


def _missing_wav_bytes(path: Path, size: int) -> int:
    """How many bytes of its data chunk a RIFF/WAVE file lacks (0 when whole or unknowable).

    libsndfile quietly reads what is there, so its frame count cannot tell a cut file from
    a whole one; the data chunk's declared size in the header can. Reads a few header bytes.
    """
    with open(path, "rb") as handle:
        head = handle.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":  # RF64, RIFX (big-endian): left to libsndfile
            return 0
        offset = 12
        while offset + 8 <= size:
            handle.seek(offset)
            chunk = handle.read(8)
            declared = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                if declared in (0, 0xFFFFFFFF):  # a streamed file: size left open by its writer
                    return 0
                return max(0, declared - (size - offset - 8))
            offset += 8 + declared + (declared & 1)
    return 0


def _why_unreadable(path: Path, err: Exception) -> str:
    try:
        with open(path, "rb") as handle:
            start = handle.read(64)
    except OSError as os_err:
        return f"cannot open: {os_err.strerror or os_err}"
    if start.startswith(LFS_POINTER):
        return "a git-lfs pointer, not audio: run `git lfs pull` in the clone to fetch the audio"
    if path.name.startswith("._"):
        return "a macOS metadata twin (._ file), not audio"
    return f"soundfile cannot read it ({str(err).strip() or type(err).__name__})"


class DecodeError(InputError):
    """A clip that cannot become features (unreadable, empty, non-finite); the message names the file."""


def load_clip(path: Path | str, config: FeatureConfig, corpus: str) -> np.ndarray:
    """Decode one clip as the recipe wants it: float32 mono, ``config.n_samples`` samples at
    ``config.sample_rate``, cropped or zero-padded on the right, spectral-gated when ``corpus``
    is one of ``config.noisy_corpora``.

    Same samples (to float32 rounding) as ``librosa.load(path, sr=48000)`` followed by
    crop/pad and ``noisereduce.reduce_noise(y=y, sr=48000)``, but only the frames that
    reach the first 4.5 s are read and resampled.
    """
    path = Path(path)
    try:
        # libsndfile reads by content, not extension: AIFF under a .wav name decodes fine.
        with sf.SoundFile(str(path)) as handle:
            native_rate = int(handle.samplerate)
            data = handle.read(frames=_frames_to_read(native_rate, config), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as err:
        raise DecodeError(f"{path}: {_why_unreadable(path, err)}") from err
    if data.shape[0] == 0:
        raise DecodeError(f"{path}: no audio samples (zero frames); re-export or drop the file")
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if not np.isfinite(mono).all():
        raise DecodeError(f"{path}: samples are NaN or infinite; the file is corrupt")
    if native_rate != config.sample_rate:
        mono = soxr.resample(np.ascontiguousarray(mono), native_rate, config.sample_rate, quality=_soxr_quality(config))
    y = np.zeros(config.n_samples, dtype=np.float32)
    kept = min(config.n_samples, mono.shape[0])
    y[:kept] = mono[:kept]
    if corpus in config.noisy_corpora:
        y = reduce_noise(y, config)
    return y


def _frames_to_read(native_rate: int, config: FeatureConfig) -> int:
    # Crop before resampling, with a margin past the crop point: soxr's filter looks ahead
    # ~130 input samples (HQ, up-sampling), proportionally more when down-sampling. With
    # these margins the first 4.5 s equal those of resampling the whole file to 1e-6, at
    # every soxr quality and 8-192 kHz (measured).
    margin = 512 * max(1, math.ceil(native_rate / config.sample_rate))
    return math.ceil(config.duration_s * native_rate) + margin


def _soxr_quality(config: FeatureConfig) -> str:
    if not config.resampler.startswith("soxr_"):
        raise ValueError(f"resampler {config.resampler!r} is not supported; use soxr_vhq, soxr_hq, soxr_mq or soxr_lq")
    return config.resampler  # soxr takes librosa's names ("soxr_hq" = "HQ")
