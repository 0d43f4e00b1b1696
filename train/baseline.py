"""``python -m train baseline``: the floor a network must beat, on the same shards and split.

One logistic regression per emotion (balanced classes, C = 0.1, standardised inputs)
on each clip's per-band mean and standard deviation over time.
"""
from __future__ import annotations

import numpy as np

from aggregate.vocabulary import EMOTIONS

from .data import SplitData, read_all


def band_statistics(features: np.ndarray) -> np.ndarray:
    """Per clip, each mel band's mean and standard deviation over time: (N, 2 x n_mels)."""
    return np.concatenate([features.mean(axis=2), features.std(axis=2)], axis=1)


def baseline_scores(data: dict[str, SplitData]) -> dict[str, np.ndarray]:
    """Fit on ``data["train"]``; (N, 7) probabilities for every split in ``data``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    stats = {name: band_statistics(read_all(split)[0]) for name, split in data.items()}
    scores = {name: np.zeros((len(split), len(EMOTIONS))) for name, split in data.items()}
    for e in range(len(EMOTIONS)):
        y = data["train"].labels[:, e]
        if y.min() == y.max():  # one class only in training: predict its rate
            for name in scores:
                scores[name][:, e] = float(y.mean())
            continue
        fit = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced", C=0.1))
        fit.fit(stats["train"], y)
        for name in scores:
            scores[name][:, e] = fit.predict_proba(stats[name])[:, 1]
    return scores
