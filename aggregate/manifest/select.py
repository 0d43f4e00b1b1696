"""``python -m aggregate select``: keep part of a manifest as a manifest of its own.

A table filtered and saved with pandas loses the metadata (label policy, split config,
corpus roots) that render, report and train read; ``select`` keeps it, recomputes the
counts for the rows kept, keeps the rejects of the corpora kept, and records where the
rows came from (``selected_from``: the source's SHA-256 and the filters).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..files import sha256_of
from .build import count_clips
from .format import Manifest, check_output, read_manifest, rejects_path, write_manifest
from .where import where_mask


@dataclass(frozen=True)
class Selection:
    """Which rows to keep: each given filter must hold (an empty list or None: no filter)."""

    corpora: tuple[str, ...] = ()
    splits: tuple[str, ...] = ()
    speakers: tuple[str, ...] = ()
    max_duration: float | None = None
    where: str | None = None  # a condition on the manifest's columns (aggregate.manifest.where: never Python)

    def filters(self) -> dict:
        """The filters given, as recorded in the metadata."""
        return {name: list(value) if isinstance(value, tuple) else value
                for name, value in asdict(self).items() if value not in ((), None)}


def select_file(source: Path | str, output: Path | str, selection: Selection) -> Manifest:
    """Write the rows of the manifest ``source`` that ``selection`` keeps to ``output``; return it."""
    source, output = Path(source), Path(output)
    if output.resolve() == source.resolve() or rejects_path(output).resolve() == source.resolve():
        raise InputError(f"-o {output} is the manifest being selected from; pass another file name")
    check_output(output)
    manifest = read_manifest(source)
    selected = select(manifest, selection, source.name)
    selected.meta["selected_from"]["sha256"] = sha256_of(source)
    write_manifest(selected, output)
    return selected


def select(manifest: Manifest, selection: Selection, name: str = "the manifest") -> Manifest:
    """The rows ``selection`` keeps, with the metadata of the corpora kept and their counts recomputed."""
    clips = manifest.clips
    keep = np.ones(len(clips), bool)
    for column, wanted, option in (("corpus", selection.corpora, "--corpus"), ("split", selection.splits, "--split"),
                                   ("speaker", selection.speakers, "--speaker")):
        if wanted:
            _check_present(wanted, clips[column], option, name)
            keep &= clips[column].isin(wanted).to_numpy()
    if selection.max_duration is not None:
        if not selection.max_duration > 0:
            raise InputError(f"--max-duration {selection.max_duration:g}: expected a number of seconds above 0")
        keep &= (clips["duration"] <= selection.max_duration).to_numpy()
    if selection.where:
        keep &= _where(clips, selection.where)
    kept = clips[keep].reset_index(drop=True)
    if kept.empty:
        raise InputError(f"no clip of {name} passes the filters {selection.filters()}; loosen them")

    corpora = [c for c in manifest.meta["counts"] if c in set(kept["corpus"])]
    rejects = manifest.rejects[manifest.rejects["corpus"].isin(corpora)].reset_index(drop=True)
    meta = dict(manifest.meta, counts=count_clips(kept, rejects, corpora))
    for key in ("roots", "tables", "notes"):  # per corpus: only those kept
        if key in meta:
            meta[key] = {c: value for c, value in meta[key].items() if c in corpora}
    meta["selected_from"] = {"file": name, "filters": selection.filters()}
    if "selected_from" in manifest.meta:  # a selection of a selection: keep the whole chain
        meta["selected_from"]["selected_from"] = manifest.meta["selected_from"]
    return Manifest(kept, rejects, meta)


def _check_present(wanted: tuple[str, ...], values, option: str, name: str) -> None:
    present = set(values.dropna())
    absent = [w for w in wanted if w not in present]
    if absent:
        known = sorted(present)
        listed = ", ".join(known[:8]) + (f", ... ({len(known)} in all)" if len(known) > 8 else "")
        raise InputError(f"{option} {absent[0]}: {name} has none; it has {listed}")


def _where(clips: pd.DataFrame, expression: str) -> np.ndarray:
    """The rows where the condition holds (a null: not known to hold), or one line saying why it is
    refused. The condition is our own small language (``aggregate.manifest.where``), checked before it runs:
    a pandas query could reach Python objects, so none is ever evaluated here."""
    return where_mask(clips, expression)
