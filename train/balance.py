"""Corpus balance: each training clip's group (speaker or corpus), its share, and what a balanced split is worth.

No TensorFlow here: the cross-corpus plan reads it before any training starts, and importing
TensorFlow before ``train.tf_env.import_tensorflow`` brings its start-up noise back to the terminal.
``train.fit`` applies the shares (by sampling or by the loss); docs/training.md, "Corpus balance".
"""
from __future__ import annotations

import numpy as np

BALANCES = ("none", "equal", "speakers")  # --corpus-balance
BALANCE_BY = ("sampling", "loss")  # --balance-by


def equal_shares(groups) -> np.ndarray | None:
    """One weight per item so that each group (its value in ``groups``) weighs the same, mean 1; None when they
    already do (one group, or groups of one size).

    For speakers: what generalises to an unseen speaker is learnt across speakers, so a corpus of one
    speaker and 1,400 clips (TESS's older speaker) is one more voice, not 27 RAVDESS actors' worth."""
    names, index, counts = np.unique(np.asarray(groups), return_inverse=True, return_counts=True)
    if len(names) < 2 or counts.min() == counts.max():
        return None
    return (len(index) / (len(names) * counts))[index].astype(np.float32)


def balance_groups(corpora, speakers, balance: str) -> np.ndarray | None:
    """Each training clip's group for ``--corpus-balance`` (``BALANCES``), from the clips' corpora and
    speakers: its corpus (equal) or speaker (speakers); None when nothing is balanced (none, one group,
    or groups of one size)."""
    if balance not in BALANCES:
        raise ValueError(f"corpus balance must be one of {', '.join(BALANCES)}, got {balance!r}")
    if balance == "none":
        return None
    # speakers are named per corpus: the same name in two corpora is two people
    groups = np.asarray(corpora if balance == "equal" else [f"{c}/{s}" for c, s in zip(corpora, speakers)])
    return groups if equal_shares(groups) is not None else None


def balance_weights(split, balance: str) -> np.ndarray | None:
    """The training clips' weights for ``--corpus-balance`` (``BALANCES``), or None (all the same): what the
    loss weighs (``--balance-by loss``), and the shares the emotion weights and a finishing step see."""
    groups = balance_groups(split.corpora, split.speakers, balance)
    return None if groups is None else equal_shares(groups)


def effective_clips(n_train: int, clip_weights: np.ndarray | None = None) -> float:
    """How many clips the training split is worth under ``clip_weights`` (corpus balance): Kish's effective
    sample size, (sum w)^2 / sum w^2; ``n_train`` without weights. 1,400 clips of one TESS speaker beside
    8 RAVDESS actors of 52, each speaker weighing the same, are worth 524 clips, not 1,816."""
    if clip_weights is None:
        return float(n_train)
    w = np.asarray(clip_weights, np.float64)
    return float(w.sum() ** 2 / np.square(w).sum())


def pleasant_surprise_note(train_clips) -> str | None:
    """One line when the training split holds TESS clips labelled surprise alone beside another corpus's
    surprise clips, else None. ``train_clips``: the training split's manifest rows.

    TESS's "surprise" is its pleasant surprise: on one fold of RAVDESS's actors those clips made the default
    hear RAVDESS's happy clips as surprised and the other way round (docs/benchmarks.md, fold 3's gap).
    Relabelling them did not pay over 24 runs, so the line informs and does not advise."""
    surprise = train_clips[train_clips["label_surprise"] == 1]
    tess = surprise["corpus"] == "tess"
    others = sorted(surprise.loc[~tess, "corpus"].unique())
    if not others or not (tess & (surprise["label_happy"] == 0)).any():
        return None
    return (f"note: TESS's surprise clips are its pleasant surprise, trained here beside the surprise of "
            f"{', '.join(others)}; --tess-pleasant-surprise-as-happy (python -m aggregate manifest) labels them "
            f"happy and surprise instead (docs/training.md, Corpus balance)")
