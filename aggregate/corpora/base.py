"""What every corpus unit shares: its option type, the candidate record, reject reasons, file finding."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import InputError

# Reject reasons, in priority order: a file with several problems gets the first.
# A file that is not there or cannot be named comes first; then audio defects, because
# they make every other question moot.
REASONS: dict[str, str] = {
    "missing": "listed in a table but no such file",
    "name_not_utf8": "the file name is not valid UTF-8, so it cannot be stored in the manifest",
    "unreadable": "not readable as audio (corrupt, git-lfs pointer, macOS metadata twin)",
    "truncated": "the audio data is shorter than its header says (an interrupted copy or download)",
    "empty": "audio with no samples",
    "too_long": "longer than the policy's max_duration",
    "not_speech": "not speech (RAVDESS song)",
    "not_a_clip": "not a clip (a whole-dialog recording)",
    "name_not_understood": "file name does not follow the corpus' naming scheme",
    "no_speaker": "no speaker given (a table's empty speaker cell): the splits need every clip's speaker",
    "malformed_cell": "a table's optional cell (gender) that cannot be read (line in the detail)",
    "no_votes": "no rating found for this clip",
    "malformed_rating": "the clip's rating entry does not parse or is impossible (file and line in the detail)",
    "label_outside_vocabulary": "no label in the seven-emotion vocabulary",
    "too_many_labels": "more labels than the policy's max_labels",
    "duplicate": "a second copy of a clip already kept",
}


@dataclass(frozen=True)
class Option:
    """A yes/no label-policy choice one corpus understands; its flag is ``--<corpus>-<name>``."""

    name: str  # snake_case, e.g. "calm_as_neutral"
    default: bool
    help: str  # one line for --help and docs/labels.md


@dataclass
class Candidate:
    """One audio file found under a corpus root, as its parser understood it."""

    path: Path  # absolute
    sample_id: str | None = None  # "<corpus>/<clip>": stable across copies of the corpus
    speaker: str | None = None  # "<corpus>:<local id>": unique across corpora
    gender: str | None = None  # "female" | "male"
    acted: str | None = None  # intended emotion: a vocabulary word, or the native word if outside
    labels: tuple[str, ...] | None = None  # labels given outright (a table's `labels` column)
    votes: dict[str, int | None] | None = None  # per emotion; None = not offered to raters
    n_raters: int | None = None
    fields: dict = field(default_factory=dict)  # the corpus' own columns (sentence, intensity, ...)
    canonical: bool = True  # False: a stray copy outside the corpus' own layout (loses to a canonical one)
    reject: str | None = None  # a key of REASONS, when the parser already knows
    detail: str = ""


@dataclass
class Parsed:
    """A parser's answer: one candidate per .wav under the root, and notes for the summary."""

    candidates: list[Candidate]
    notes: list[str] = field(default_factory=list)


def list_wavs(root: Path) -> list[Path]:
    """Every .wav file under root (any case), sorted, so runs are deterministic.

    Symlinked folders are followed (a speaker folder linked in from elsewhere is still that
    speaker), each real folder once, so a link back up the tree cannot loop.
    """
    found, seen = [], set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in seen:
            dirs.clear()
            continue
        seen.add(real)
        dirs.sort()
        found.extend(Path(folder, f) for f in files if f.lower().endswith(".wav"))
    return sorted(found)


def printable(path: Path | str) -> str:
    """A path as text that any file can store: bytes that are not UTF-8 become \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def is_utf8(path: Path) -> bool:
    try:
        os.fsencode(path).decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


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
    """Read a CSV a corpus ships, every cell as text (the parser checks each value), or say
    which file lacks which columns."""
    import pandas as pd

    if not path.is_file():
        raise InputError(f"{corpus}: {path} is missing; it ships with the corpus, copy it there")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False).fillna("")  # a short row's missing cells
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise InputError(f"{corpus}: cannot read {path} as CSV ({' '.join(str(err).split())})") from None
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(f"{corpus}: {path} lacks the columns {', '.join(missing)}; "
                          "is it the file from the official release?")
    return table


def whole_number(text: str) -> int | None:
    """A count or age written in a table cell ("12", " 12 ", "12.0"), or None when it is not one."""
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else None


def option_key(corpus: str, name: str) -> str:
    """``("crema-d", "x")`` -> ``"crema_d_x"``: the policy key; the flag is ``--crema-d-x``."""
    return f"{corpus.replace('-', '_')}_{name}"
