"""The feature recipe: one clip's audio file in, one log-mel spectrogram out.

Everything that decides a spectrogram's values lives here, and nothing else
does: ``FeatureConfig`` (config.py), decoding and resampling (decode.py), the
noise gate (denoise.py), the log-mel and its scaling (logmel.py). How results
are stored is ``aggregate.shards.storage``; who runs the recipe over a manifest is
``aggregate.render``. ``reference.py`` keeps the seed code's slow chain, which
tests and benchmarks hold this one against.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DecodeError
from .config import FeatureConfig

if TYPE_CHECKING:
    import numpy as np

__all__ = ["DecodeError", "FeatureConfig", "render_clip"]


def render_clip(path: Path | str, corpus: str, config: FeatureConfig, expected: tuple | None = None) -> np.ndarray:
    """Features of one clip: float32 ``config.shape`` (200 mels x 278 frames) in [-1, 1].

    ``expected``: (bytes, SHA-256) the manifest recorded; the bytes decoded must be those.
    Raises ``DecodeError`` for audio that cannot be decoded, or that changed, so a caller
    can record it and go on. The numerics (scipy, soxr, soundfile) are imported here, on first
    use, not with the package: whoever only plans or reads shards needs ``FeatureConfig`` alone,
    and ``import scipy.fft, scipy.sparse`` costs 0.2-0.3 s.
    """
    from .decode import load_clip
    from .logmel import log_mel

    return log_mel(load_clip(path, config, corpus, expected), config)
