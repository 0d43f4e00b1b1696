"""What a view is: one per-clip array computed from a clip's decoded audio (docs/adding-a-view.md).

``View`` declares a view's name, its config (hashed: every field that changes values is in it),
what it stores (``Stored``: shape, dtype, value range), the packages it needs, and how it computes
one clip's value from a ``DecodedClip``. ``DecodedClip`` is shared by every view of one clip in a
worker: its bytes are read and checked against the manifest once, and each signal is decoded once.
"""
from __future__ import annotations

import hashlib
import io
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import ClassVar

import numpy as np



@dataclass(frozen=True)
class Stored:
    """What a view stores per clip: ``shape`` with ``None`` on its one variable axis (the waveform's
    ``(None,)``), the numpy ``dtype`` name as stored, and the value range promised (``None``: unbounded;
    readers and ``verify`` check it, and that every value is finite)."""

    shape: tuple
    dtype: str
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        shape = tuple(None if n is None else int(n) for n in self.shape)
        if sum(n is None for n in shape) > 1 or any(n is not None and n < 1 for n in shape):
            raise ValueError(f"a stored shape has positive sizes and at most one variable axis (None), got {shape}")
        object.__setattr__(self, "shape", shape)
        np.dtype(self.dtype)  # a numpy dtype name, or ValueError/TypeError here
        object.__setattr__(self, "dtype", str(self.dtype))
        if self.low is not None and self.high is not None and not self.low <= self.high:
            raise ValueError(f"a stored range needs low <= high, got [{self.low}, {self.high}]")

    @property
    def variable(self) -> bool:
        """True where one axis has a length of its own per clip (stored flat with offsets)."""
        return None in self.shape

    def to_dict(self) -> dict:
        return {"shape": list(self.shape), "dtype": self.dtype, "low": self.low, "high": self.high}

    @classmethod
    def from_dict(cls, data: dict) -> Stored:
        if not isinstance(data, dict) or set(data) != {"shape", "dtype", "low", "high"}:
            raise ValueError("a view's 'stored' needs exactly shape, dtype, low and high")
        return cls(tuple(data["shape"]), data["dtype"], data["low"], data["high"])

    def check(self, value: np.ndarray, what: str) -> None:
        """Raise ValueError naming ``what`` unless ``value`` has this shape, dtype and range."""
        if str(value.dtype) != self.dtype:
            raise ValueError(f"{what}: dtype {value.dtype}, the view stores {self.dtype}")
        if len(value.shape) != len(self.shape) or any(n is not None and n != m for n, m in zip(self.shape, value.shape)):
            raise ValueError(f"{what}: shape {value.shape}, the view stores {self.shape}")
        if not value.size or (value.dtype == np.float16 and self._within_magnitude(value)):
            return
        # min and max carry a NaN or an infinity: one pass each finds both kinds of problem. float16
        # is compared as float32 (numpy's float16 reductions are ten times slower).
        wide = value.astype(np.float32) if value.dtype == np.float16 else value
        lo, hi = wide.min(), wide.max()
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"{what}: values are NaN or infinite")
        if (self.low is not None and lo < self.low) or (self.high is not None and hi > self.high):
            raise ValueError(f"{what}: values in [{lo}, {hi}], outside the view's [{self.low}, {self.high}]")

    def _within_magnitude(self, value: np.ndarray) -> bool:
        """For float16, on the bits (microseconds, where min and max take a millisecond): True when every
        value is finite and no larger in magnitude than both ends of the range (the log-mel's [-1, 1])."""
        if self.low is None or self.high is None:
            return False
        bound = np.float16(min(-self.low, self.high))
        if not bound >= 0:
            return False
        return (value.view(np.uint16) & 0x7FFF).max() <= bound.view(np.uint16)


class View:
    """One view. A subclass sets the class attributes and ``stored`` and ``compute``; see log_mel.py,
    waveform.py. An instance is plain data (its config), so it travels to any worker process."""

    name: ClassVar[str]
    config_type: ClassVar[type]  # a frozen dataclass; every field that changes values is in it
    needs: ClassVar[tuple[str, ...]] = ()  # importable modules it needs beyond the core dependencies
    install: ClassVar[str] = ""  # the pip extra that brings them, e.g. "emotion-aggregate[opensmile]"

    def __init__(self, config=None):
        self.config = config if config is not None else self.config_type()

    def config_dict(self) -> dict:
        """The config as JSON-ready data (index.json); ``config_type.from_dict`` or ``(**d)`` reads it back."""
        to_dict = getattr(self.config, "to_dict", None)
        return to_dict() if to_dict else asdict(self.config)

    @classmethod
    def config_from_dict(cls, data: dict):
        """The config of ``config_dict``; unknown fields raise ValueError."""
        from_dict = getattr(cls.config_type, "from_dict", None)
        if from_dict:
            return from_dict(data)
        unknown = sorted(set(data) - {f.name for f in fields(cls.config_type)})
        if unknown:
            raise ValueError(f"unknown {cls.name} config fields {unknown}: written by a newer version of this toolkit?")
        return cls.config_type(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    @classmethod
    def from_options(cls, options: dict[str, str]) -> View:
        """The view with its config's fields set from text (``--view-option NAME.FIELD=VALUE``), each
        converted to the type of the field's default; a view whose config needs more than fields (a model
        folder to hash) overrides this."""
        known = {f.name: f for f in fields(cls.config_type)}
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ValueError(f"view {cls.name} has no option {unknown[0]!r} (its options: {', '.join(known)})")
        defaults = cls.config_type()
        values = {}
        for name, text in options.items():
            default = getattr(defaults, name)
            if isinstance(default, bool):
                if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(f"view {cls.name} option {name} takes true or false, got {text!r}")
                values[name] = text.lower() in ("true", "1", "yes")
            elif isinstance(default, tuple):
                values[name] = tuple(part.strip() for part in text.split(",") if part.strip())
            else:
                values[name] = type(default)(text) if default is not None else text
        return cls(cls.config_type(**values))

    def config_hash(self) -> str:
        """sha256 hex of the canonical JSON of the view's name and config: equal configs, equal hashes."""
        text = json.dumps({"view": self.name, "config": self.config_dict()}, sort_keys=True,
                          separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def stored(self, storage) -> Stored:
        """What this view stores per clip, given the folder's ``StorageConfig``."""
        raise NotImplementedError

    def compute(self, clip: DecodedClip) -> np.ndarray:
        """One clip's value, with the shape, dtype and range of ``stored``; raise DecodeError for a clip it
        cannot compute (recorded as that clip's failure, never silent)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"


class DecodedClip:
    """One clip as every view of it sees it, in a worker. The file's bytes are read once and checked
    against the manifest's (bytes, SHA-256): a changed file raises DecodeError, as it always did.

    ``recipe``: the folder's FeatureConfig (which corpora are noisy, the noise gate's settings);
    ``max_duration``: the manifest's label policy's longest clip, in seconds (None: no limit).
    """

    def __init__(self, path: Path | str, corpus: str, recipe, expected: tuple | None = None,
                 max_duration: float | None = None):
        self.path = Path(path)
        self.corpus = corpus
        self.recipe = recipe
        self.expected = expected
        self.max_duration = max_duration
        self.noisy = corpus in recipe.noisy_corpora
        self._bytes: bytes | None = None
        self._native: tuple[np.ndarray, int] | None = None
        self._signals: dict[tuple, np.ndarray] = {}

    def source(self) -> io.BytesIO | str:
        """What soundfile opens: the checked bytes in memory, or the path where nothing is expected."""
        if self.expected is None:
            return str(self.path)
        if self._bytes is None:
            from ..recipe.decode import checked_bytes

            self._bytes = checked_bytes(self.path, *self.expected)
        return io.BytesIO(self._bytes)

    def native(self) -> tuple[np.ndarray, int]:
        """float32 mono of the whole file and its sample rate (decoded once)."""
        if self._native is None:
            from ..recipe.decode import decode_native

            self._native = decode_native(self.source(), self.path)
        return self._native

    def signal(self, rate: int, max_s: float | None, denoise: bool, resampler: str = "soxr_hq") -> np.ndarray:
        """float32 mono at ``rate``, cut to ``max_s`` seconds (no padding), spectral-gated with the recipe's
        noise-gate settings when ``denoise`` and the corpus is noisy. ``resampler``: soxr's quality by
        librosa's name. Cached per argument tuple: read-only (copy it to change it)."""
        key = (int(rate), max_s, bool(denoise and self.noisy), resampler)
        if key not in self._signals:
            from ..recipe.decode import resample_cut

            mono, native_rate = self.native()
            y = resample_cut(mono, native_rate, key[0], max_s, resampler)
            if key[2]:
                from ..recipe.denoise import reduce_noise_at

                y = reduce_noise_at(y, key[0], self.recipe)
            y.flags.writeable = False
            self._signals[key] = y
        return self._signals[key]

