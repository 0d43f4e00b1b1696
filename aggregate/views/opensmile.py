"""openSMILE functionals as views: ``egemaps`` (eGeMAPSv02, 88 numbers a clip) and ``compare``
(ComParE_2016, 6,373), computed with the ``opensmile`` package (the extra ``opensmile``).

The signal is the one every view shares (``DecodedClip.signal``): the whole clip, mono, resampled to
16 kHz, cut at the label policy's longest duration, and spectral-gated for the recipe's noisy
corpora with the log-mel's own noise-gate settings. A stored value equals
``opensmile.Smile(feature_set, FeatureLevel.Functionals).process_signal(signal, 16000)`` on that
signal (tested), in openSMILE's feature order (``feature_names``).

The config names openSMILE's feature set, not the package's release: eGeMAPSv02 and ComParE_2016 are
frozen, versioned configurations, which is why openSMILE gives them dated names.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .base import DecodedClip, Stored, View

# feature set -> numbers per clip; the view's stored shape, known without importing opensmile
SIZES = {"eGeMAPSv02": 88, "ComParE_2016": 6373}


@dataclass(frozen=True)
class SmileConfig:
    feature_set: str = "eGeMAPSv02"  # opensmile.FeatureSet's name
    sample_rate: int = 16000  # what both feature sets were designed at
    denoise: bool = True  # gate the noisy corpora, as the log-mel does: the same voice, not its room
    resampler: str = "soxr_hq"  # librosa's res_type names, as the recipe's

    def __post_init__(self) -> None:
        from ..recipe.config import RESAMPLERS

        object.__setattr__(self, "sample_rate", int(self.sample_rate))
        object.__setattr__(self, "denoise", bool(self.denoise))
        if self.feature_set not in SIZES:
            raise ValueError(f"feature_set must be one of {', '.join(SIZES)}, got {self.feature_set!r}")
        if self.sample_rate < 8000:
            raise ValueError(f"sample_rate must be at least 8000 Hz, got {self.sample_rate}")
        if self.resampler not in RESAMPLERS:
            raise ValueError(f"resampler must be one of {', '.join(RESAMPLERS)}, got {self.resampler!r}")


@dataclass(frozen=True)
class CompareConfig(SmileConfig):
    feature_set: str = "ComParE_2016"


@lru_cache(maxsize=None)
def smile(feature_set: str):
    """The extractor of ``feature_set``'s functionals, built once per process (a worker's every clip
    reuses it: building one parses openSMILE's config, ~0.2 s)."""
    import sys

    if "opensmile" not in sys.modules and "tensorflow" in sys.modules:
        # Measured with opensmile 2.6 and TensorFlow 2.21: its library then aborts the process (malloc's
        # "invalid size") on the first clip. Imported before TensorFlow, it works.
        from ..errors import InputError

        raise InputError("openSMILE cannot run in a process that loaded TensorFlow before it (it crashes): "
                         "compute the egemaps/compare views in a process of their own, or import opensmile first")
    import opensmile

    return opensmile.Smile(feature_set=opensmile.FeatureSet[feature_set],
                           feature_level=opensmile.FeatureLevel.Functionals)


class _Smile(View):
    needs = ("opensmile",)
    install = "emotion-aggregate[opensmile]"

    def __init__(self, config=None):
        super().__init__(config)
        if self.config.feature_set != self.config_type.feature_set:  # the name says which set is stored
            raise ValueError(f"view {self.name} stores {self.config_type.feature_set}, "
                             f"not {self.config.feature_set}")

    def signal(self, clip: DecodedClip) -> np.ndarray:
        """The signal the functionals are computed on (a copy of no one's: read-only, shared)."""
        return clip.signal(self.config.sample_rate, clip.max_duration, denoise=self.config.denoise,
                           resampler=self.config.resampler)

    def stored(self, storage) -> Stored:
        # float32: what openSMILE computes in; unbounded (some functionals are in dB, some are positions)
        return Stored((SIZES[self.config.feature_set],), "float32", None, None)

    def compute(self, clip: DecodedClip) -> np.ndarray:
        from ..errors import DecodeError

        y = self.signal(clip)
        if y.size < self.config.sample_rate // 10:  # under 0.1 s openSMILE's functionals are empty or NaN
            raise DecodeError(clip.path, f"{y.size} samples at {self.config.sample_rate} Hz: too short for "
                                         f"openSMILE's {self.config.feature_set} functionals")
        values = smile(self.config.feature_set).process_signal(y, self.config.sample_rate).to_numpy()
        return values.reshape(-1).astype("float32", copy=False)

    def feature_names(self) -> list[str]:
        """openSMILE's name of each stored number, in order."""
        return list(smile(self.config.feature_set).feature_names)


class Egemaps(_Smile):
    name = "egemaps"
    config_type = SmileConfig


class Compare(_Smile):
    name = "compare"
    config_type = CompareConfig
