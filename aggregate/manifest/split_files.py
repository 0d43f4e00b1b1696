"""Split files: CSV with the columns ``sample_id, speaker, corpus, split``, one row per clip,
written whole or not at all and checked when read (a run folder's splits.csv)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..files import atomic_write
from ..vocabulary import CLIP_COLUMNS, SPLITS
from .split_checks import aligned, check_speaker_disjoint
from .split_config import SplitError


def split_table(clips: pd.DataFrame, split: pd.Series) -> pd.DataFrame:
    """``sample_id, speaker, corpus, split`` per clip, sorted by sample_id: a splits file's rows."""
    table = pd.DataFrame({"sample_id": clips["sample_id"], "speaker": clips["speaker"],
                          "corpus": clips["corpus"], "split": aligned(clips, split)})
    return table.astype("string").sort_values("sample_id", ignore_index=True)


def write_splits(table: pd.DataFrame, path: Path | str, speaker_disjoint: bool = True) -> None:
    """Write a split table as CSV (whole or not at all); ``speaker_disjoint=False`` only for a ``"random"`` split."""
    path = Path(path)
    _validate_table(table, f"the split table for {path}", speaker_disjoint)
    atomic_write(path, lambda tmp: table[list(CLIP_COLUMNS)].to_csv(tmp, index=False))


def read_splits(path: Path | str, speaker_disjoint: bool = True) -> pd.DataFrame:
    """Read and check a splits CSV: the columns, known split values, no speaker in two splits
    (unless ``speaker_disjoint=False``: a ``"random"`` split's file, read back by its own run)."""
    path = Path(path)
    if not path.is_file():
        raise SplitError(f"splits file {path} not found; pass the splits.csv of an earlier run folder")
    try:
        table = pd.read_csv(path, dtype="string", keep_default_na=False, na_values=[""])
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise SplitError(f"splits file {path} is not a readable CSV ({error}); "
                         "write it again with aggregate.manifest.split_files.write_splits") from None
    _validate_table(table, f"splits file {path}", speaker_disjoint)
    return table[list(CLIP_COLUMNS)]


def _validate_table(table: pd.DataFrame, where: str, speaker_disjoint: bool = True) -> None:
    fix = "it needs the columns sample_id, speaker, corpus, split (write it with aggregate.manifest.split_files.write_splits)"
    missing = [c for c in CLIP_COLUMNS if c not in table.columns]
    if missing:
        raise SplitError(f"{where} lacks the column(s) {', '.join(missing)}; {fix}")
    for column in CLIP_COLUMNS:
        empty = table[column].isna()
        if empty.any():
            raise SplitError(f"{where}: row {_line(table, empty)} has no {column}; {fix}")
    unknown = ~table["split"].isin(SPLITS)
    if unknown.any():
        raise SplitError(f"{where}: row {_line(table, unknown)} has the split {table['split'][unknown].iloc[0]!r}; "
                         f"a split is one of {', '.join(SPLITS)}")
    twice = table["sample_id"].duplicated()
    if twice.any():
        raise SplitError(f"{where}: sample_id {table['sample_id'][twice].iloc[0]} appears twice (row "
                         f"{_line(table, twice)}); each clip has one split")
    if not speaker_disjoint:
        return
    try:
        check_speaker_disjoint(table, table["split"])
    except SplitError as error:
        raise SplitError(f"{where}: {error}") from None


def _line(table: pd.DataFrame, mask: pd.Series) -> int:
    """The 1-based data row of the first hit (the CSV line is one more, after the header)."""
    return int(np.flatnonzero(mask.to_numpy())[0]) + 1
