"""The feature recipe: one clip's audio file in, one log-mel spectrogram out.

Everything that decides a spectrogram's values lives here, and nothing else
does: ``FeatureConfig`` (config.py), decoding and resampling (decode.py), the
noise gate (denoise.py), the log-mel and its scaling (logmel.py). How results
are stored is ``aggregate.storage``; who runs the recipe over a manifest is
``aggregate.render``. ``reference.py`` keeps the seed code's slow chain, which
tests and benchmarks hold this one against.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from .config import FeatureConfig

if TYPE_CHECKING:
    import numpy as np

__all__ = ["DecodeError", "FeatureConfig", "load_clip", "log_mel", "render_clip", "warm_up"]

# The numerics (scipy, soxr, soundfile) load on first use, not with the package: a render's main
# process plans and writes shards with FeatureConfig alone, while its workers import them (aggregate.pool).
_LOADED_ON_USE = {"DecodeError": ".decode", "load_clip": ".decode", "log_mel": ".logmel"}


def __getattr__(name: str):
    if name in _LOADED_ON_USE:
        return getattr(importlib.import_module(_LOADED_ON_USE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def render_clip(path: Path | str, corpus: str, config: FeatureConfig, expected: tuple | None = None) -> np.ndarray:
    """Features of one clip: float32 ``config.shape`` (200 mels x 278 frames) in [-1, 1].

    ``expected``: (bytes, SHA-256) the manifest recorded; the bytes decoded must be those.
    Raises ``DecodeError`` for audio that cannot be decoded, or that changed, so a caller can record it and go on.
    """
    from .decode import load_clip
    from .logmel import log_mel

    return log_mel(load_clip(path, config, corpus, expected), config)


def warm_up(config: FeatureConfig) -> None:
    """Build in this process what its first clip would otherwise build: the window and filterbank,
    the noise gate's plan, pocketfft's plans, and the memory a clip's arrays take (about 20 ms).
    A render worker does it while the render process is still reading the manifest."""
    import numpy as np

    from .denoise import reduce_noise
    from .logmel import log_mel

    tone = np.sin(np.arange(config.n_samples, dtype=np.float32) * np.float32(0.05)) * np.float32(0.1)
    log_mel(reduce_noise(tone, config) if config.noisy_corpora else tone, config)
