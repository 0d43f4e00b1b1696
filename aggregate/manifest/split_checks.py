"""Checks of a split: no speaker in two splits, the splits a caller needs are not empty."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .split_config import SplitError


def check_speaker_disjoint(clips: pd.DataFrame, split: pd.Series) -> None:
    """Raise SplitError naming a speaker whose clips are in more than one split."""
    leaking = leaking_speakers(clips, split)
    if len(leaking):
        speaker, splits = leaking.index[0], ", ".join(leaking.iloc[0])
        more = f" (and {len(leaking) - 1} more speaker(s))" if len(leaking) > 1 else ""
        raise SplitError(f"speaker {speaker} is in several splits ({splits}){more}: its voice would be "
                         "trained on and evaluated; split by speaker (aggregate.manifest.split_assign.assign_splits)")


def leaking_speakers(clips: pd.DataFrame, split: pd.Series) -> pd.Series:
    """The speakers whose clips are in more than one split, sorted by name; each value is the
    sorted list of that speaker's splits. Clips without a split are left out."""
    frame = pd.DataFrame({"speaker": clips["speaker"].to_numpy(), "split": aligned(clips, split)}).dropna()
    per_speaker = frame.groupby("speaker", sort=True)["split"].unique()
    return per_speaker[per_speaker.map(len) > 1].map(lambda values: sorted(map(str, values)))


def aligned(clips: pd.DataFrame, split) -> np.ndarray:
    """The split values in the order of ``clips``' rows: a Series by index label, anything else by
    position. A Series that misses clips is an error, not a silent gap in a leak check."""
    if isinstance(split, pd.Series):
        if not split.index.equals(clips.index):
            missing = clips.index.difference(split.index)
            if len(missing) or split.index.has_duplicates:
                raise SplitError(f"the split does not match the clips: {len(missing)} clip(s) have no entry; "
                                 "pass the Series assign_splits returned for these clips")
            split = split.reindex(clips.index)
        return split.to_numpy(dtype=object)
    values = np.asarray(split, dtype=object)
    if len(values) != len(clips):
        raise SplitError(f"the split has {len(values)} values for {len(clips)} clips; give one per clip")
    return values


def require_nonempty(split: pd.Series, needed=("train", "val")) -> None:
    """Raise SplitError if any of the ``needed`` splits has no clips."""
    for name in needed:
        if not (split == name).any():
            raise SplitError(f"the split {name!r} has no clips: there are too few speakers to hold whole "
                             "speakers out for it; add corpora or speakers, or choose another strategy "
                             "(leave-one-corpus-out, kfold) or other fractions")
