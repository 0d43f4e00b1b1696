"""The emotion vocabulary and the policy that turns votes into multi-hot labels.

The seven emotions and their order are defined here and nowhere else: every
manifest column, shard array and model output follows ``EMOTIONS``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Mapping

EMOTIONS: tuple[str, ...] = ("neutral", "anger", "disgust", "fear", "happy", "sad", "surprise")


@dataclass(frozen=True)
class LabelPolicy:
    """Every choice that decides which clips are kept and with which labels.

    The whole policy is stored in the manifest, so a manifest says how it was made.
    """

    min_votes: int = 1  # an emotion is present when at least this many raters named it
    max_labels: int = 3  # clips with more labels than this are ambiguous and rejected
    max_duration: float = 40.0  # seconds; longer files are defects (a CREMA-D clip lasts a minute)
    iemocap_self_evaluations: bool = False  # count the actors' own C-F1/C-M1 ratings as votes
    iemocap_excited_as_happy: bool = True  # IEMOCAP's "Excited" is a vote for happy
    ravdess_calm_as_neutral: bool = False  # RAVDESS "calm" is outside the vocabulary unless mapped
    ravdess_song: bool = False  # RAVDESS sung clips (vocal channel 02) are not speech

    def __post_init__(self) -> None:
        if self.min_votes < 1:
            raise ValueError(f"min_votes must be at least 1, got {self.min_votes}")
        if self.max_labels < 1:
            raise ValueError(f"max_labels must be at least 1, got {self.max_labels}")
        if self.max_duration <= 0:
            raise ValueError(f"max_duration must be positive, got {self.max_duration}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> "LabelPolicy":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def labels_from_votes(votes: Mapping[str, int | None], min_votes: int) -> tuple[str, ...]:
    """Emotions (in vocabulary order) that got at least ``min_votes`` votes.

    ``None`` means the corpus did not offer that emotion to its raters.
    """
    return tuple(e for e in EMOTIONS if (votes.get(e) or 0) >= min_votes)
