"""The label policy: which clips are kept, and how raters' votes become multi-hot labels.

The emotions themselves and their order are ``aggregate.vocabulary.EMOTIONS``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Mapping

from ..vocabulary import EMOTIONS
from . import OPTIONS
from .base import option_key


@dataclass(frozen=True)
class LabelPolicy:
    """Every choice that decides which clips are kept and with which labels.

    The whole policy is stored in the manifest, so a manifest says how it was made.
    ``options`` holds the choices a single corpus declares (its ``OPTIONS``), keyed
    ``<corpus>_<option>`` (``ravdess_calm_as_neutral``); one left out takes the corpus'
    default, so ``options`` always ends up holding every declared option.
    """

    min_votes: int = 1  # an emotion is present when at least this many raters named it
    max_labels: int = 3  # clips with more labels than this are ambiguous and rejected
    max_duration: float = 40.0  # seconds; longer files are defects (a CREMA-D clip lasts a minute)
    options: Mapping[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.min_votes < 1:
            raise ValueError(f"min_votes must be at least 1, got {self.min_votes}")
        if self.max_labels < 1:
            raise ValueError(f"max_labels must be at least 1, got {self.max_labels}")
        if self.max_duration <= 0:
            raise ValueError(f"max_duration must be positive, got {self.max_duration}")
        unknown = sorted(set(self.options) - set(OPTIONS))
        if unknown:
            raise ValueError(f"unknown corpus option {', '.join(unknown)}; known: {', '.join(OPTIONS)}")
        object.__setattr__(self, "options", {key: bool(self.options.get(key, option.default))
                                             for key, option in OPTIONS.items()})

    def option(self, corpus: str, name: str) -> bool:
        """A corpus' own choice, e.g. ``policy.option("ravdess", "song")``."""
        return self.options[option_key(corpus, name)]

    def to_dict(self) -> dict:
        """Flat, as stored in the manifest: the shared fields, then every corpus option."""
        shared = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "options"}
        return {**shared, **self.options}

    @classmethod
    def from_dict(cls, data: Mapping) -> "LabelPolicy":
        """The policy of ``to_dict``; options of corpora this version no longer has are dropped."""
        shared = {f.name for f in fields(cls)} - {"options"}
        return cls(**{k: v for k, v in data.items() if k in shared},
                   options={k: v for k, v in data.items() if k in OPTIONS})


def labels_from_votes(votes: Mapping[str, int | None], min_votes: int) -> tuple[str, ...]:
    """Emotions (in vocabulary order) that got at least ``min_votes`` votes.

    ``None`` means the corpus did not offer that emotion to its raters.
    """
    return tuple(e for e in EMOTIONS if (votes.get(e) or 0) >= min_votes)
