"""What every corpus parser shares: the candidate record, reject reasons, root finding."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import InputError

# Reject reasons, in priority order: a file with several problems gets the first.
# Audio defects come first because they make every other question moot.
REASONS: dict[str, str] = {
    "unreadable": "not readable as audio (corrupt, git-lfs pointer, macOS metadata twin)",
    "empty": "audio with no samples",
    "too_long": "longer than the policy's max_duration",
    "not_speech": "not speech (RAVDESS song)",
    "not_a_clip": "not a clip (a whole-dialog recording)",
    "name_not_understood": "file name does not follow the corpus' naming scheme",
    "no_votes": "no rating found for this clip",
    "label_outside_vocabulary": "no label in the seven-emotion vocabulary",
    "too_many_labels": "more labels than the policy's max_labels",
    "duplicate": "a second copy of a clip already kept",
}


@dataclass
class Candidate:
    """One audio file found under a corpus root, as its parser understood it."""

    path: Path  # absolute
    sample_id: str | None = None  # "<corpus>/<clip>": stable across copies of the corpus
    speaker: str | None = None  # "<corpus>:<local id>": unique across corpora
    gender: str | None = None  # "female" | "male"
    acted: str | None = None  # intended emotion: a vocabulary word, or the native word if outside
    votes: dict[str, int | None] | None = None  # per emotion; None = not offered to raters
    n_raters: int | None = None
    fields: dict = field(default_factory=dict)  # the corpus' own columns (sentence, intensity, ...)
    reject: str | None = None  # a key of REASONS, when the parser already knows
    detail: str = ""


@dataclass
class Parsed:
    """A parser's answer: one candidate per .wav under the root, and notes for the summary."""

    candidates: list[Candidate]
    notes: list[str] = field(default_factory=list)


def list_wavs(root: Path) -> list[Path]:
    """Every .wav file under root (any case), sorted, so runs are deterministic."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        found.extend(Path(folder, f) for f in files if f.lower().endswith(".wav"))
    return sorted(found)


def find_root(path: Path | str, corpus: str, looks_like: Callable[[Path], bool], expected: str) -> Path:
    """Accept the folder an archive unpacks to, or the folder that holds it."""
    given = Path(path).expanduser()
    if not given.is_dir():
        what = "is not a folder" if given.exists() else "does not exist"
        raise InputError(f"{corpus}: {given} {what}; expected {expected}")
    if looks_like(given):
        return given.resolve()
    inside = [c for c in sorted(given.iterdir()) if c.is_dir() and looks_like(c)]
    if len(inside) == 1:
        return inside[0].resolve()
    if len(inside) > 1:
        names = ", ".join(c.name for c in inside)
        raise InputError(f"{corpus}: {given} holds several copies ({names}); pass one of them")
    raise InputError(f"{corpus}: {given} does not look like {corpus}; expected {expected}")


def has_subdirs(path: Path, prefix: str) -> bool:
    try:
        return any(c.is_dir() and c.name.startswith(prefix) for c in path.iterdir())
    except OSError:
        return False


def read_csv_table(path: Path, required: list[str], corpus: str):
    """Read a CSV a corpus ships, or say which file lacks which columns."""
    import pandas as pd

    if not path.is_file():
        raise InputError(f"{corpus}: {path} is missing; it ships with the corpus, copy it there")
    try:
        table = pd.read_csv(path)
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise InputError(f"{corpus}: cannot read {path} as CSV ({err})") from None
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(f"{corpus}: {path} lacks the columns {', '.join(missing)}; "
                          "is it the file from the official release?")
    return table
