"""A corpus without a module, brought in as a table: ``--table NAME=PATH``.

The table is a CSV or Parquet file (``.parquet``/``.pq``), one row per audio file:

- ``path``: the file, relative to the table's folder or absolute;
- ``speaker``: the speaker's id within this corpus (stored as ``NAME:speaker``);
- the labels, in one of three forms: ``emotion`` (one acted label), ``labels``
  (``|``-joined), or ``votes_<emotion>`` counts, one column per emotion offered
  to the raters, optionally with ``n_raters``;
- optionally ``gender`` (``female``/``male``, or ``f``/``m``; empty when unknown).

Each row becomes a candidate like those of the built-in corpora, so the same
header probing, label policy, rejects and splits apply. A table that cannot be
read, lacks a column or has an empty ``path`` cell stops the build with one line
naming the table, the line and what to fix; a row without a speaker, with a
``gender`` it cannot read, or whose labels or votes are unusable, is rejected with
a reason naming its line.
A CSV may separate its cells with commas, semicolons or tabs (``_delimiter``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..vocabulary import EMOTIONS
from . import CORPORA
from .base import Candidate, Parsed, whole_number

LABEL_FORMS = ("emotion", "labels", "votes_<emotion>")
DELIMITERS = (",", ";", "\t")  # a CSV's; spreadsheets in many locales save semicolons
GENDERS = {"female": "female", "f": "female", "male": "male", "m": "male", "": None}
_SAFE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class Table:
    name: str
    path: Path  # absolute
    rows: pd.DataFrame  # every cell as text

    @property
    def folder(self) -> Path:
        return self.path.parent

    def where(self, i: int) -> str:
        """Row ``i`` (from 0) as a person finds it: the line of a CSV file (after the header), the row of a Parquet one."""
        return f"{self.path.name} row {i + 1}" if self.path.suffix.lower() in (".parquet", ".pq") \
            else f"{self.path.name} line {i + 2}"


def read(name: str, path: Path | str) -> Table:
    """Check the name and the table's columns, and read its rows; every problem is one line."""
    if not _SAFE_NAME.match(name):
        raise InputError(f"--table {name}=...: a table name is lower-case letters, digits, '-' or '_' "
                          "(starting with a letter, at most 32), e.g. savee")
    if name in CORPORA:
        raise InputError(f"--table {name}=...: {name} is a built-in corpus; pass --{name} DIR for it, "
                          "or give the table another name")
    given = Path(path).expanduser()
    if not given.is_file():
        raise InputError(f"table {name}: {given} {'is not a file' if given.exists() else 'does not exist'}; "
                          "expected a CSV or Parquet table (see docs/adding-a-corpus.md)")
    parquet = given.suffix.lower() in (".parquet", ".pq")
    try:
        frame = pd.read_parquet(given) if parquet else pd.read_csv(given, dtype=str, keep_default_na=False,
                                                                   sep=_delimiter(given))
    except (ValueError, OSError, UnicodeDecodeError, ImportError) as err:
        kind = "Parquet" if parquet else "CSV"
        raise InputError(f"table {name}: cannot read {given} as {kind} ({' '.join(str(err).split())})") from None
    frame = frame.astype("string").fillna("")
    frame.columns = [str(c).strip() for c in frame.columns]
    table = Table(name, given.resolve(), frame)
    _check_columns(table)
    return table


def _delimiter(path: Path) -> str:
    """The CSV's delimiter: a comma, or the semicolon or tab that a spreadsheet may have saved, whichever
    splits the header into cells that include path and speaker (a comma when none does: the column check says so)."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
            header = handle.readline()
    except OSError:
        return ","  # pandas reports the file as unreadable
    for delimiter in DELIMITERS:
        if {"path", "speaker"} <= {cell.strip().strip('"') for cell in header.split(delimiter)}:
            return delimiter
    return ","


def _check_columns(table: Table) -> None:
    columns = list(table.rows.columns)
    for needed in ("path", "speaker"):
        if needed not in columns:
            raise InputError(f"table {table.name}: {table.path} has no column {needed!r} (columns: "
                              f"{', '.join(columns) or 'none'}); the first line names the columns, separated by "
                              "commas (or semicolons or tabs); see docs/adding-a-corpus.md")
    votes = [c for c in columns if c.startswith("votes_")]
    for column in votes:
        if column[len("votes_"):] not in EMOTIONS:
            raise InputError(f"table {table.name}: {table.path} column {column!r} is not votes_ of one of "
                              f"{', '.join(EMOTIONS)}; rename or drop it")
    forms = [f for f, present in zip(LABEL_FORMS, ("emotion" in columns, "labels" in columns, bool(votes)))
             if present]
    if len(forms) != 1:
        found = f"it has {' and '.join(forms)}" if forms else "it has none"
        raise InputError(f"table {table.name}: {table.path} must give the labels as exactly one of the columns "
                          f"emotion, labels or votes_<emotion>; {found}")
    if "n_raters" in columns and not votes:
        raise InputError(f"table {table.name}: {table.path} has n_raters but no votes_<emotion> columns")
    if table.rows.empty:
        raise InputError(f"table {table.name}: {table.path} has no rows")


def parse(table: Table) -> Parsed:
    """One candidate per row; a second row listing the same file is rejected as a duplicate."""
    rows = table.rows.to_dict("records")
    paths = [_file(table, row["path"], i) for i, row in enumerate(rows)]
    stems = [p.stem for p in paths]
    by_stem = len(set(stems)) == len(stems)  # ids by stem when that is unambiguous, else by path
    candidates, first_row = [], {}
    for i, (row, path) in enumerate(zip(rows, paths)):
        clip_id = path.stem if by_stem else _id_path(table.folder, path)
        candidate = _candidate(table, row, path, i, f"{table.name}/{clip_id}")
        seen = first_row.setdefault(path, i)
        if seen != i:
            candidate.reject, candidate.detail = "duplicate", f"{table.where(i)} lists the same file as {table.where(seen)}"
        candidates.append(candidate)
    return Parsed(candidates, [f"{len(rows)} rows in {table.path}"])


def _file(table: Table, cell: str, i: int) -> Path:
    if not cell.strip():
        raise InputError(f"table {table.name}: {table.folder / table.where(i)}: empty path; give the audio file")
    path = Path(cell.strip()).expanduser()
    return path if path.is_absolute() else table.folder / path


def _id_path(folder: Path, path: Path) -> str:
    try:
        path = path.relative_to(folder)
    except ValueError:
        pass
    return path.with_suffix("").as_posix().lstrip("/")


def _candidate(table: Table, row: dict, path: Path, i: int, sample_id: str) -> Candidate:
    where = table.where(i)
    speaker = row["speaker"].strip()
    gender = row.get("gender", "").strip().lower()
    clip = Candidate(path, sample_id=sample_id, speaker=f"{table.name}:{speaker}" if speaker else None,
                     gender=GENDERS.get(gender))
    if not path.is_file():
        clip.reject, clip.detail = "missing", f"{where}: no file at {path}"
    elif not speaker:
        clip.reject, clip.detail = "no_speaker", f"{where}: empty speaker cell; give the speaker's id"
    elif gender not in GENDERS:  # one mistyped cell rejects its row, not the whole table
        clip.reject, clip.detail = "malformed_cell", (f"{where}: gender {row['gender']!r} is not female, male, "
                                                      "f, m or empty")
    elif "emotion" in row:
        clip.acted = row["emotion"].strip().lower()
        if clip.acted not in EMOTIONS:
            what = f"emotion {row['emotion'].strip()!r} is not" if clip.acted else "empty emotion cell: give"
            clip.reject, clip.detail = "label_outside_vocabulary", f"{where}: {what} one of the seven ({', '.join(EMOTIONS)})"
    elif "labels" in row:
        clip.labels = tuple(w.strip().lower() for w in row["labels"].split("|") if w.strip())
        outside = [w for w in clip.labels if w not in EMOTIONS]
        if outside or not clip.labels:
            what = f"label {outside[0]!r} is not" if outside else "empty labels cell: give"
            clip.reject, clip.detail = "label_outside_vocabulary", f"{where}: {what} one of the seven ({', '.join(EMOTIONS)})"
    else:
        problem = _votes(clip, row, where)
        if problem:
            clip.reject, clip.detail = "malformed_rating", problem
    return clip


def _votes(clip: Candidate, row: dict, where: str) -> str | None:
    """Fill the clip's votes (and raters) from the row, or say why the row's votes are unusable."""
    votes: dict[str, int | None] = {}
    for emotion in EMOTIONS:
        cell = row.get(f"votes_{emotion}")
        if cell is None:
            votes[emotion] = None  # a column left out: the emotion was not offered to the raters
            continue
        count = whole_number(cell)
        if count is None or count < 0:
            return f"{where}: votes_{emotion} {cell!r} is not a count (a whole number, 0 or more)"
        votes[emotion] = count
    raters = None
    if row.get("n_raters", "").strip():
        raters = whole_number(row["n_raters"])
        if raters is None or raters < 1:
            return f"{where}: n_raters {row['n_raters']!r} is not a positive whole number"
        over = [e for e, n in votes.items() if (n or 0) > raters]
        if over:
            return f"{where}: votes_{over[0]} {votes[over[0]]} is more than n_raters {raters}"
    clip.votes, clip.n_raters = votes, raters
    return None
