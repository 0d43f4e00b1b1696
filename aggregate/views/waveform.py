"""The clip's waveform as a view: mono 16 kHz float32, the whole clip up to the label policy's longest.

What pretrained speech models (wav2vec2, HuBERT, WavLM) take as input: the raw decoded signal,
resampled but not denoised, not cropped to the log-mel's 4.5 s and not padded. float32 holds every
16-bit sample (and every 24-bit one) exactly; resampling's ringing can pass +-1 slightly, so no
range is promised beyond finite values. Each clip has its own length: a shard stores it as an HDF5
variable-length dataset, with the lengths beside it (docs/shards.md).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import DecodedClip, Stored, View


@dataclass(frozen=True)
class WaveformConfig:
    sample_rate: int = 16000  # what wav2vec2, HuBERT and WavLM were trained on
    resampler: str = "soxr_hq"  # librosa's res_type names, as the recipe's

    def __post_init__(self) -> None:
        from ..recipe.config import RESAMPLERS

        object.__setattr__(self, "sample_rate", int(self.sample_rate))
        if self.sample_rate < 1000:
            raise ValueError(f"sample_rate must be at least 1000 Hz, got {self.sample_rate}")
        if self.resampler not in RESAMPLERS:
            raise ValueError(f"resampler must be one of {', '.join(RESAMPLERS)}, got {self.resampler!r}")


class Waveform(View):
    name = "waveform"
    config_type = WaveformConfig

    def stored(self, storage) -> Stored:
        return Stored((None,), "float32", None, None)

    def compute(self, clip: DecodedClip) -> np.ndarray:
        # The manifest's label policy already rejects clips longer than max_duration; cutting there
        # too keeps a hand-made manifest from storing an hour of audio per row.
        return clip.signal(self.config.sample_rate, clip.max_duration, denoise=False,
                           resampler=self.config.resampler)
