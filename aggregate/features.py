"""The per-clip feature recipe (seed 001, Section II-A) and the one config object that defines it.

``FeatureConfig`` holds every parameter of the chain decode -> mono -> resample
-> crop/pad -> (denoise) -> log-mel -> min-max; its ``hash()`` travels with
every shard so a spectrogram can always be traced to the recipe that made it.
``log_mel`` is the last two steps. It gives what

    S = librosa.feature.melspectrogram(y=y, sr=48000, n_fft=3072, hop_length=768,
                                       center=False, n_mels=200, fmin=20, fmax=12000)
    D = librosa.power_to_db(S)
    (D - D.min()) / (D.max() - D.min()) * 2 - 1

gives (to ~1e-5), about 2.7x faster: float32 ``scipy.fft``, only the FFT bins
the mel filterbank uses, and the filterbank and window built once per process.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from functools import cached_property

import numpy as np
import scipy.fft
import scipy.signal


@dataclass(frozen=True)
class FeatureConfig:
    """Every parameter of the feature recipe; the defaults are the paper's.

    Field names ending in ``_s`` are seconds, ``_hz`` hertz, ``_ms`` milliseconds;
    lengths (n_fft, hop, win, padding, chunk) are samples at ``sample_rate``.
    """

    # -- audio: every clip becomes sample_rate * duration_s mono samples
    sample_rate: int = 48000
    duration_s: float = 4.5  # longer clips are cropped, shorter zero-padded, both on the right
    resampler: str = "soxr_hq"  # librosa's res_type; soxr's quality="HQ"
    # -- noise reduction (spectral gating) on these corpora only; the paper judged them noisy by ear
    noisy_corpora: tuple[str, ...] = ("iemocap", "crema-d")
    # noisereduce.reduce_noise(y, sr) defaults (noisereduce 3.0), written out so a new release
    # of noisereduce cannot silently change the recipe
    nr_stationary: bool = False
    nr_prop_decrease: float = 1.0
    nr_time_constant_s: float = 2.0
    nr_freq_mask_smooth_hz: float = 500.0
    nr_time_mask_smooth_ms: float = 50.0
    nr_thresh_n_mult_nonstationary: float = 2.0
    nr_sigmoid_slope_nonstationary: float = 10.0
    nr_n_std_thresh_stationary: float = 1.5
    nr_n_fft: int = 1024
    nr_win_length: int = 1024
    nr_hop_length: int = 256
    nr_chunk_size: int = 600000
    nr_padding: int = 30000
    # -- STFT (window length = n_fft) and mel filterbank (librosa.filters.mel)
    n_fft: int = 3072
    hop_length: int = 768  # 75 % overlap
    window: str = "hann"  # scipy.signal.get_window name, periodic as librosa uses it
    center: bool = False
    n_mels: int = 200
    fmin: float = 20.0
    fmax: float = 12000.0
    mel_htk: bool = False
    mel_norm: str = "slaney"  # or "none" (librosa's norm=None)
    power: float = 2.0
    # -- log: librosa.power_to_db(S, ref=db_ref, amin=db_amin, top_db=db_top_db)
    db_ref: float = 1.0
    db_amin: float = 1e-10
    db_top_db: float = 80.0
    # -- min-max per clip to [scale_min, scale_max]
    scale_min: float = -1.0
    scale_max: float = 1.0
    # -- how shards store the result
    dtype: str = "float16"
    # lzf ships inside h5py, so a collaborator's plain h5py opens the shards with no plugin;
    # "none" trades 2-3x the disk for ~10x faster random reads (h5py's lzf decoder is the cost)
    compression: str = "lzf"

    def __post_init__(self) -> None:
        # Coerce to the defaults' types so that FeatureConfig(fmin=20) and the default hash alike.
        for f in fields(self):
            value, default = getattr(self, f.name), f.default
            if isinstance(default, bool):
                value = bool(value)
            elif isinstance(default, (int, float, str)):
                value = type(default)(value)
            elif isinstance(default, tuple):
                value = tuple(str(item) for item in ([value] if isinstance(value, str) else value))
            object.__setattr__(self, f.name, value)
        if self.n_samples < self.n_fft:
            raise ValueError(f"duration_s={self.duration_s} is shorter than one STFT window (n_fft={self.n_fft})")
        if not 0 <= self.fmin < self.fmax <= self.sample_rate / 2:
            raise ValueError(f"need 0 <= fmin < fmax <= sample_rate / 2, got fmin={self.fmin}, fmax={self.fmax}")
        if self.compression not in ("lzf", "gzip", "none"):
            raise ValueError(f"compression must be lzf, gzip or none, got {self.compression!r}")
        if not self.scale_min < self.scale_max:
            raise ValueError("scale_min must be below scale_max")

    @property
    def n_samples(self) -> int:
        """Samples per clip after crop/pad: 216,000 by default."""
        return int(round(self.duration_s * self.sample_rate))

    @property
    def n_frames(self) -> int:
        """STFT frames per clip: 1 + (216000 - 3072) // 768 = 278 by default."""
        padded = self.n_samples + (2 * (self.n_fft // 2) if self.center else 0)
        return 1 + (padded - self.n_fft) // self.hop_length

    @property
    def shape(self) -> tuple[int, int]:
        """(n_mels, n_frames) = (200, 278): mels x frames, librosa's layout."""
        return (self.n_mels, self.n_frames)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["noisy_corpora"] = list(self.noisy_corpora)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> FeatureConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown feature config fields {unknown}: written by a newer version of this toolkit?")
        return cls(**data)

    def hash(self) -> str:
        """sha256 hex of the canonical JSON of all fields: equal configs, equal hashes, in any process."""
        return self._digest

    @cached_property
    def _digest(self) -> str:
        # repr-exact floats, sorted keys, no whitespace: the same text on every platform.
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
        import librosa  # imported here: probing headers for the manifest should not pay for it

        mel = librosa.filters.mel(
            sr=config.sample_rate, n_fft=config.n_fft, n_mels=config.n_mels, fmin=config.fmin,
            fmax=config.fmax, htk=config.mel_htk,
            norm=None if config.mel_norm == "none" else config.mel_norm, dtype=np.float32,
        )
        # Bins above fmax have no weight in any band: skip them in the power and the matrix product.
        used = np.flatnonzero(mel.any(axis=0))
        n_bins = int(used[-1]) + 1 if used.size else 1
        window = scipy.signal.get_window(config.window, config.n_fft, fftbins=True).astype(np.float32)
        plan = MelPlan(window=window, mel=np.ascontiguousarray(mel[:, :n_bins]), n_bins=n_bins)
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
    spectrum = scipy.fft.rfft(frames * plan.window, axis=-1)[:, : plan.n_bins]  # (n_frames, n_bins)
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


def seed_chain(path, noisy: bool) -> np.ndarray:
    """The recipe as the seed code writes it (librosa + noisereduce, float64, slow).

    The reference that tests and benchmarks hold the fast chain against; not used to render.
    """
    import librosa
    import noisereduce

    y, _ = librosa.load(path, sr=48000)
    y = librosa.util.fix_length(y, size=216000)
    if noisy:
        y = noisereduce.reduce_noise(y=y, sr=48000)
    S = librosa.feature.melspectrogram(
        y=y, sr=48000, n_fft=3072, hop_length=768, center=False, n_mels=200, fmin=20, fmax=12000
    )
    D = librosa.power_to_db(S)
    return (D - D.min()) / (D.max() - D.min()) * 2 - 1
