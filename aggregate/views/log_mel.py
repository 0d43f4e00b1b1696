"""The paper's log-mel spectrogram as a view: today's recipe, its bytes and its hash unchanged.

Its config is the recipe's ``FeatureConfig`` and its hash ``FeatureConfig.hash()``, so folders rendered
before views existed and after read the same. It keeps the recipe's own decoding (only the first
4.5 s read, cropped before resampling, zero-padded) from the clip's checked bytes, so that a render
of log_mel alone costs what it always did.
"""
from __future__ import annotations

import numpy as np

from ..recipe import FeatureConfig
from .base import DecodedClip, Stored, View


class LogMel(View):
    name = "log_mel"
    config_type = FeatureConfig

    def config_hash(self) -> str:
        return self.config.hash()  # the recipe's hash, exactly: older folders' indexes carry it

    def stored(self, storage) -> Stored:
        return Stored(self.config.shape, storage.dtype, self.config.scale_min, self.config.scale_max)

    def compute(self, clip: DecodedClip) -> np.ndarray:
        from ..recipe.decode import decode_cropped
        from ..recipe.logmel import log_mel

        return log_mel(decode_cropped(clip.source(), clip.path, self.config, clip.corpus), self.config)
