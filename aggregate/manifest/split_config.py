"""How to split a manifest's clips: ``SplitConfig`` (stored with a run or a manifest), and its error.

Kept apart from the assignment (``split_assign.py``) so that whoever only needs the config (the
command lines' flags) does not import pandas.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields
from typing import Mapping

from ..corpora import CORPORA
from ..errors import InputError
from ..vocabulary import SPLIT_STRATEGIES

TRAIN, VAL, TEST = range(3)  # positions in vocabulary.SPLITS


class SplitError(InputError):
    """A split that cannot be made or used; the message says why and what to do."""


@dataclass(frozen=True)
class SplitConfig:
    """How to split: everything ``assign_splits`` needs, stored with a run or a manifest."""

    strategy: str = "speakers"  # "speakers" | "leave-one-corpus-out" | "kfold" | "random" (leaks speakers)
    seed: int = 0
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)  # train/val/test share of clips ("speakers")
    test_corpus: str | None = None  # the corpus held out ("leave-one-corpus-out")
    folds: int = 5  # "kfold"
    fold: int = 0  # "kfold": this fold is test; val comes from the other folds' speakers

    def __post_init__(self) -> None:
        # Normalise here, so equal configs compare and serialise equal (JSON gives lists).
        object.__setattr__(self, "fractions", tuple(float(f) for f in self.fractions))
        if self.strategy not in SPLIT_STRATEGIES:
            raise SplitError(f"unknown split strategy {self.strategy!r}; use one of {', '.join(SPLIT_STRATEGIES)}")
        if not isinstance(self.seed, numbers.Integral) or self.seed < 0:
            raise SplitError(f"the split seed must be a whole number >= 0, got {self.seed!r}")
        _check_fractions(self.fractions)
        if self.strategy == "leave-one-corpus-out" and not self.test_corpus:
            raise SplitError("leave-one-corpus-out needs test_corpus (--test-corpus): the name of a corpus "
                             f"in the manifest, e.g. {', '.join(CORPORA)}")
        if self.strategy == "kfold":
            if self.folds < 3:
                raise SplitError(f"kfold needs at least 3 folds (one test, one val, one train), got {self.folds}")
            if not 0 <= self.fold < self.folds:
                raise SplitError(f"fold {self.fold} is out of range: with {self.folds} folds use 0 to {self.folds - 1}")

    @property
    def speaker_disjoint(self) -> bool:
        """False only for ``"random"``, the strategy that deals clips, not speakers."""
        return self.strategy != "random"

    def to_dict(self) -> dict:
        data = asdict(self)
        data["fractions"] = list(self.fractions)
        return data

    @classmethod
    def from_dict(cls, data: Mapping) -> "SplitConfig":
        # Unknown keys are an error: a misspelt option must not silently give the default split.
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise SplitError(f"unknown split option {', '.join(unknown)}; known: "
                             + ", ".join(f.name for f in fields(cls)))
        return cls(**data)


def _check_fractions(fractions: tuple[float, ...]) -> None:
    if len(fractions) != 3 or any(not math.isfinite(f) or f < 0 for f in fractions):
        raise SplitError(f"fractions must be three shares >= 0 (train, val, test), got {fractions}")
    if abs(sum(fractions) - 1) > 1e-6:
        raise SplitError(f"fractions must add up to 1, got {fractions} (sum {sum(fractions):g})")
    if fractions[TRAIN] <= 0:
        raise SplitError(f"the train fraction must be above 0, got {fractions}")
