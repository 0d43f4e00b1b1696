"""The recipe as the seed code writes it: the reference the fast chain is held against."""
from __future__ import annotations

import numpy as np


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
