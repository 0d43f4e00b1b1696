"""The manifest: one row per kept clip, a rejects table, and how both are made.

``build_manifest`` runs every corpus parser (and reads every ``--table``), reads
each file's audio header, applies the label policy and splits the files into
kept rows and rejects, so that every .wav under the roots, and every file a
table lists, ends in exactly one of the two tables. The format, and reading and
writing it, is ``aggregate.manifest.format``.
The columns are documented in docs/manifest.md.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

import pandas as pd

from .. import __version__
from ..audio import probe
from ..corpora import CORPORA, table
from ..corpora.base import REASONS, Candidate, Parsed, is_utf8, printable
from ..corpora.policy import LabelPolicy, labels_from_votes
from ..errors import InputError
from ..progress import show_progress
from ..vocabulary import EMOTIONS
from .format import COLUMNS, REJECT_COLUMNS, Manifest
from .split_assign import assign_splits
from .split_config import SplitConfig
from .split_summary import few_speaker_warnings, split_summary, summarize_splits


@dataclass(frozen=True)
class _Source:
    """One corpus to parse: a registered unit's folder or a table (``--table NAME=PATH``)."""

    name: str
    root: Path  # the folder manifest paths are relative to
    parse: Callable[[], Parsed]
    columns: dict[str, str]  # the corpus' own columns


def build_manifest(roots: dict[str, Path | str], policy: LabelPolicy | None = None, progress: bool = True,
                   split: SplitConfig = SplitConfig(), tables: dict[str, Path | str] | None = None) -> Manifest:
    """Parse the corpora under ``roots`` (corpus name -> folder) and the ``tables`` (name -> CSV or
    Parquet file, see ``corpora.table``) into kept clips and rejects."""
    policy = policy or LabelPolicy()
    sources = _sources(roots, tables or {}, policy)
    clips, rejects, notes = [], [], {}
    for source in sources:
        parsed = source.parse()
        if not parsed.candidates:
            raise InputError(f"{source.name}: no .wav file under {source.root}; is the audio unpacked there?")
        notes[source.name] = parsed.notes
        headers = _probe_all([c.path for c in parsed.candidates], source.name, progress)
        kept_here = []
        for candidate, (info, audio_reason, audio_detail) in zip(parsed.candidates, headers):
            reason, detail, labels = _judge(candidate, info, audio_reason, audio_detail, policy)
            if reason:
                rejects.append(_reject_row(source, candidate, reason, detail))
            else:
                kept_here.append((_clip_row(source, candidate, info, labels), candidate.canonical))
        kept, duplicates = _drop_duplicates(kept_here)
        if not kept:  # a wrong folder or table, not a corpus: a manifest without it would hide that
            raise InputError(_nothing_kept(source, [r for r in rejects if r["corpus"] == source.name] + duplicates))
        clips.extend(kept)
        rejects.extend(duplicates)

    clips_df = pd.DataFrame(clips, columns=list(COLUMNS))
    clips_df["split"] = assign_splits(clips_df, split) if clips else []
    clips_df = _as_schema(clips_df, [s.name for s in sources])
    rejects_df = pd.DataFrame(rejects, columns=REJECT_COLUMNS).astype("string")
    rejects_df = rejects_df.sort_values(["corpus", "path"], kind="stable").reset_index(drop=True)
    meta = {
        "tool": "aggregate", "version": __version__, "emotions": list(EMOTIONS),
        "policy": policy.to_dict(), "split": split.to_dict(), "roots": {s.name: str(s.root) for s in sources},
        "counts": count_clips(clips_df, rejects_df, [s.name for s in sources]), "notes": notes,
    }
    if tables:
        meta["tables"] = {name: str(Path(path).expanduser().resolve()) for name, path in tables.items()}
    return Manifest(clips_df, rejects_df, meta)


def _sources(roots: dict[str, Path | str], tables: dict[str, Path | str], policy: LabelPolicy) -> list[_Source]:
    """Every corpus to parse, registered ones first in registry order, then the tables as given.
    Every root and table is checked before the slow part, so a typo in the last one fails at once."""
    unknown = sorted(set(roots) - set(CORPORA))
    if unknown:
        raise InputError(f"unknown corpus {', '.join(unknown)}; known: {', '.join(CORPORA)}")
    if not roots and not tables:
        raise InputError("no corpus given: pass at least one of "
                         + ", ".join(f"--{c} DIR" for c in CORPORA) + " or --table NAME=PATH")
    sources = []
    for name, unit in CORPORA.items():
        if name in roots:
            root = unit.locate(roots[name])
            sources.append(_Source(name, root, partial(unit.parse, root, policy), unit.COLUMNS))
    for name, path in tables.items():
        rows = table.read(name, path)
        sources.append(_Source(name, rows.folder, partial(table.parse, rows), {}))
    return sources


def _nothing_kept(source: _Source, rejected: list[dict]) -> str:
    """One line for a corpus or table of which every file was rejected: how many, why, the first detail."""
    reasons = pd.Series([r["reason"] for r in rejected]).value_counts()
    why = ", ".join(f"{reason} {reasons[reason]}" for reason in REASONS if reason in reasons)
    first = next(r for r in rejected if r["reason"] == next(x for x in REASONS if x in reasons))
    example = f"{first['path']}: {first['detail']}" if first["detail"] else first["path"]
    what = (f"all {len(rejected)} rows of table {source.name} were rejected" if source.name not in CORPORA else
            f"{source.name}: all {len(rejected)} files under {source.root} were rejected")
    fix = "fix the table" if source.name not in CORPORA else "check the folder and the label policy"
    return (f"{what} ({why}; first: {example}), so no manifest is written: {fix} and run again "
            "(the reasons: docs/manifest.md)")


def _probe_all(paths: list[Path], corpus: str, progress: bool) -> list:
    # Header reads wait on the disk on a cold or network drive: two threads overlap that wait,
    # more only fight over the GIL (measured: 2 threads of 256-file batches beat 1, 4 and 8).
    batches = [paths[i:i + 256] for i in range(0, len(paths), 256)]
    results = []
    with ThreadPoolExecutor(max_workers=2) as pool, \
            show_progress(len(paths), f"{corpus}: reading headers", "file", progress) as bar:
        for batch in pool.map(lambda batch: [probe(p) for p in batch], batches):
            results.extend(batch)
            bar.update(len(batch))
    return results


def _judge(candidate: Candidate, info, audio_reason, audio_detail, policy: LabelPolicy):
    """The reject reason (the first in REASONS order) and detail, or the clip's labels."""
    problems = []
    if not is_utf8(candidate.path):
        problems.append(("name_not_utf8", "rename the file (or its folder) to a UTF-8 name"))
    if audio_reason:
        problems.append((audio_reason, audio_detail))
    elif info.duration > policy.max_duration:
        problems.append(("too_long", f"{info.duration:.1f} s > max_duration {policy.max_duration:g} s"))
    if candidate.reject:
        problems.append((candidate.reject, candidate.detail))
    labels: tuple[str, ...] = ()
    if not candidate.reject:
        labels, label_problem = _labels(candidate, policy)
        if label_problem:
            problems.append(label_problem)
    if problems:
        reason, detail = min(problems, key=lambda p: list(REASONS).index(p[0]))
        return reason, detail, ()
    return None, "", labels


def _labels(candidate: Candidate, policy: LabelPolicy):
    if candidate.labels is not None:  # labels given outright (a table's `labels` column)
        outside = [w for w in candidate.labels if w not in EMOTIONS]
        if outside or not candidate.labels:
            what = f"'{outside[0]}' is not one of the seven" if outside else "no label given"
            return (), ("label_outside_vocabulary", what)
        labels = tuple(e for e in EMOTIONS if e in candidate.labels)
    elif candidate.votes is None:  # an acted corpus: one label, the intended emotion
        if candidate.acted in EMOTIONS:
            return (candidate.acted,), None
        return (), ("label_outside_vocabulary", f"acted emotion '{candidate.acted}' is not one of the seven")
    else:
        labels = labels_from_votes(candidate.votes, policy.min_votes)
        if not labels:
            if labels_from_votes(candidate.votes, 1):
                return (), ("label_outside_vocabulary", f"no emotion got min_votes={policy.min_votes} votes")
            return (), ("label_outside_vocabulary", "the raters named only emotions outside the seven")
    if len(labels) > policy.max_labels:
        return (), ("too_many_labels",
                    f"{len(labels)} labels ({'|'.join(labels)}) > max_labels {policy.max_labels}")
    return labels, None



def _relative(root: Path, path: Path) -> str:
    """The path as stored: relative to the root (POSIX), absolute when outside it (a table may list
    such files); bytes that are not UTF-8 escaped, so the row can be written at all."""
    try:
        path = path.relative_to(root)
    except ValueError:
        pass
    return printable(path.as_posix())


def _reject_row(source: _Source, candidate: Candidate, reason: str, detail: str) -> dict:
    sample_id = None if candidate.sample_id is None else printable(candidate.sample_id)
    return {"corpus": source.name, "path": _relative(source.root, candidate.path), "reason": reason,
            "detail": detail, "sample_id": sample_id}


def _clip_row(source: _Source, c: Candidate, info, labels: tuple[str, ...]) -> dict:
    row = {
        "sample_id": c.sample_id, "corpus": source.name, "path": _relative(source.root, c.path),
        "speaker": c.speaker, "gender": c.gender,
        "duration": info.duration, "sample_rate": info.sample_rate, "channels": info.channels,
        "frames": info.frames, "format": info.format, "file_bytes": info.bytes, "file_sha256": info.sha256,
        "labels": "|".join(labels), "n_labels": len(labels),
        **{f"label_{e}": int(e in labels) for e in EMOTIONS},
        **{f"votes_{e}": (c.votes or {}).get(e) for e in EMOTIONS},
        "n_raters": c.n_raters, "acted_label": c.acted,
    }
    undeclared = set(c.fields) - set(source.columns)
    assert not undeclared, f"{source.name} parser field(s) {undeclared} missing from its unit's COLUMNS"
    row.update(c.fields)
    return row


def _drop_duplicates(rows: list[tuple[dict, bool]]) -> tuple[list[dict], list[dict]]:
    """Keep one row per sample id: a copy in the corpus' own layout over a stray one (``Actor_02/``
    over ``Actor_02 copy/``), then the copy nearest the root (a nested second tree loses).
    ``rows`` are (row, whether its file is in the corpus' own layout)."""
    rows = sorted(rows, key=lambda r: (not r[1], r[0]["path"].count("/"), r[0]["path"]))
    kept: dict[str, tuple[dict, bool]] = {}
    duplicates = []
    for row, canonical in rows:
        first, first_canonical = kept.setdefault(row["sample_id"], (row, canonical))
        if first is not row:
            why = "in the corpus' own layout" if first_canonical and not canonical else "nearer the root"
            duplicates.append({"corpus": row["corpus"], "path": row["path"], "reason": "duplicate",
                               "detail": f"same clip as {first['path']}, the copy {why}",
                               "sample_id": row["sample_id"]})
    return sorted((row for row, _ in kept.values()), key=lambda r: r["sample_id"]), duplicates


def _as_schema(frame: pd.DataFrame, corpora: list[str]) -> pd.DataFrame:
    frame = frame.astype(COLUMNS)
    order = {name: i for i, name in enumerate(corpora)}
    frame = frame.sort_values("sample_id", kind="stable")
    frame = frame.sort_values("corpus", key=lambda s: s.map(order), kind="stable")
    return frame.reset_index(drop=True)


def count_clips(clips: pd.DataFrame, rejects: pd.DataFrame, corpora: list[str]) -> dict:
    """The metadata's ``counts``: per corpus, clips kept, rejects by reason, speakers, clips per emotion."""
    counts = {}
    for name in corpora:
        mine = clips[clips["corpus"] == name]
        reasons = rejects.loc[rejects["corpus"] == name, "reason"].value_counts()
        counts[name] = {
            "kept": len(mine),
            "rejected": {r: int(reasons[r]) for r in REASONS if r in reasons},
            "speakers": int(mine["speaker"].nunique()),
            "labels": {e: int(mine[f"label_{e}"].sum()) for e in EMOTIONS},
        }
    return counts


def summarize(manifest: Manifest) -> str:
    """A per-corpus summary for people: kept, rejected by reason, labels, speakers."""
    counts = manifest.meta["counts"]
    lines = [f"{'corpus':<10}{'files':>8}{'kept':>8}{'rejected':>10}{'speakers':>10}"]
    for name, c in counts.items():
        rejected = sum(c["rejected"].values())
        lines.append(f"{name:<10}{c['kept'] + rejected:>8}{c['kept']:>8}{rejected:>10}{c['speakers']:>10}")
    lines += ["", "rejected, by reason:"]
    for name, c in counts.items():
        reasons = ", ".join(f"{r} {n}" for r, n in c["rejected"].items()) or "none"
        lines.append(f"  {name:<10}{reasons}")
    lines += ["", "clips with each emotion present:", f"  {'':<10}" + "".join(f"{e:>9}" for e in EMOTIONS)]
    for name, c in counts.items():
        lines.append(f"  {name:<10}" + "".join(f"{c['labels'][e]:>9}" for e in EMOTIONS))
    if "split" in manifest.clips and len(manifest.clips):
        lines += ["", summarize_splits(manifest.clips, manifest.clips["split"])]
    notes = [f"  {name}: {note}" for name, items in manifest.meta.get("notes", {}).items() for note in items]
    if notes:
        lines += ["", "notes:", *notes]
    return "\n".join(lines)


def warnings_of(manifest: Manifest) -> list[str]:
    """The summary's warnings alone (``-q``): corpora whose val or test holds too few speakers."""
    if "split" not in manifest.clips or not len(manifest.clips):
        return []
    return few_speaker_warnings(split_summary(manifest.clips, manifest.clips["split"]))
