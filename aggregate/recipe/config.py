"""The one config object of the per-clip feature recipe (seed 001, Section II-A).

``FeatureConfig`` holds every parameter of the chain decode -> mono -> resample
-> crop/pad -> (denoise) -> log-mel -> min-max; its ``hash()`` travels with
every shard so a spectrogram can always be traced to the recipe that made it.
How the result is stored (dtype, compression, shard size) is not part of the
recipe: see ``aggregate.shards.storage``. Changing storage does not change the hash.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from functools import cached_property


def _noisy_corpora() -> tuple[str, ...]:
    """The corpora whose unit declares ``NOISY``, in registry order. Imported here, when a config is
    made without its own list: a config read back from shards has its list, and reading shards
    needs no corpus unit."""
    from ..corpora import CORPORA

    return tuple(name for name, unit in CORPORA.items() if unit.NOISY)


RESAMPLERS = ("soxr_vhq", "soxr_hq", "soxr_mq", "soxr_lq")  # librosa's names for soxr's qualities
WINDOWS = ("hann", "hamming", "blackman", "bartlett", "boxcar")
MEL_NORMS = ("slaney", "none")


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
    # -- noise reduction (spectral gating) on these corpora only: those whose unit declares NOISY
    noisy_corpora: tuple[str, ...] = field(default_factory=_noisy_corpora)
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

    def __post_init__(self) -> None:
        # Coerce to the defaults' types so that FeatureConfig(fmin=20) and the default hash alike.
        for f in fields(self):
            value, default = getattr(self, f.name), f.default
            if isinstance(default, bool):
                value = bool(value)
            elif isinstance(default, (int, float, str)):
                value = type(default)(value)
            elif isinstance(default, tuple) or f.default_factory is not MISSING:  # the one factory's is a tuple
                value = tuple(str(item) for item in ([value] if isinstance(value, str) else value))
            object.__setattr__(self, f.name, value)
        if self.n_samples < self.n_fft:
            raise ValueError(f"duration_s={self.duration_s} is shorter than one STFT window (n_fft={self.n_fft})")
        if not 0 <= self.fmin < self.fmax <= self.sample_rate / 2:
            raise ValueError(f"need 0 <= fmin < fmax <= sample_rate / 2, got fmin={self.fmin}, fmax={self.fmax}")
        for name, allowed in (("resampler", RESAMPLERS), ("window", WINDOWS), ("mel_norm", MEL_NORMS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        for name in ("sample_rate", "n_fft", "hop_length", "n_mels", "nr_n_fft", "nr_win_length",
                     "nr_hop_length", "nr_chunk_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not (self.duration_s > 0 and self.power > 0 and self.db_amin > 0 and self.db_top_db > 0):
            raise ValueError("duration_s, power, db_amin and db_top_db must be positive")
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
