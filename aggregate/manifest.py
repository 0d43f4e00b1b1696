"""The manifest: one row per kept clip, a rejects table, and how both were made.

``build_manifest`` runs every corpus parser, reads each file's audio header,
applies the label policy and splits the files into kept rows and rejects, so
that every .wav under the roots ends in exactly one of the two tables.
``write_manifest`` stores the rows as Parquet (the policy, roots and counts in
the file's metadata) and the rejects as CSV beside it; ``read_manifest`` reads
them back. The columns are documented in docs/manifest.md.
"""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from . import __version__
from .audio import probe
from .corpora import CORPORA
from .corpora.base import REASONS, Candidate
from .emotions import EMOTIONS, LabelPolicy, labels_from_votes
from .errors import InputError
from .files import atomic_write
from .splits import SplitConfig, assign_splits, summarize_splits

METADATA_KEY = b"aggregate"

# The schema, in column order. Nullable dtypes (capitalised) where a corpus may lack the value.
COLUMNS: dict[str, str] = {
    "sample_id": "string", "corpus": "string", "path": "string",
    "speaker": "string", "gender": "string",
    "duration": "float64", "sample_rate": "int32", "channels": "int16", "frames": "int64", "format": "string",
    "labels": "string", "n_labels": "int8",
    **{f"label_{e}": "int8" for e in EMOTIONS},
    **{f"votes_{e}": "Int16" for e in EMOTIONS},
    "n_raters": "Int16", "acted_label": "string",
    # the corpora's own fields
    "statement": "string", "intensity": "string", "repetition": "Int8", "vocal_channel": "string",
    "word": "string", "age": "Int16",
    "session": "Int8", "dialog": "string", "mode": "string", "consensus_label": "string",
    "start": "Float64", "end": "Float64", "valence": "Float64", "arousal": "Float64", "dominance": "Float64",
    # speaker-disjoint train/val/test (aggregate.splits; its config is in the metadata)
    "split": "string",
}
REJECT_COLUMNS = ["corpus", "path", "reason", "detail", "sample_id"]


@dataclass
class Manifest:
    clips: pd.DataFrame
    rejects: pd.DataFrame
    meta: dict = field(default_factory=dict)


def build_manifest(roots: dict[str, Path | str], policy: LabelPolicy = LabelPolicy(),
                   progress: bool = True, split: SplitConfig = SplitConfig()) -> Manifest:
    """Parse the corpora under ``roots`` (corpus name -> folder) into kept clips and rejects."""
    unknown = sorted(set(roots) - set(CORPORA))
    if unknown:
        raise InputError(f"unknown corpus {', '.join(unknown)}; known: {', '.join(CORPORA)}")
    if not roots:
        raise InputError("no corpus given: pass at least one of " + ", ".join(f"--{c}" for c in CORPORA))
    # Check every root before the slow part, so a typo in the last one fails at once.
    located = {name: CORPORA[name].locate(roots[name]) for name in CORPORA if name in roots}

    clips, rejects, notes = [], [], {}
    for name, root in located.items():
        parsed = CORPORA[name].parse(root, policy)
        if not parsed.candidates:
            raise InputError(f"{name}: no .wav file under {root}; is the audio unpacked there?")
        notes[name] = parsed.notes
        headers = _probe_all([c.path for c in parsed.candidates], name, progress)
        kept_here = []
        for candidate, (info, audio_reason, audio_detail) in zip(parsed.candidates, headers):
            reason, detail, labels = _judge(candidate, info, audio_reason, audio_detail, policy)
            if reason:
                rejects.append(_reject_row(name, root, candidate, reason, detail))
            else:
                kept_here.append(_clip_row(name, root, candidate, info, labels))
        kept, duplicates = _drop_duplicates(kept_here)
        clips.extend(kept)
        rejects.extend(duplicates)

    clips_df = pd.DataFrame(clips, columns=list(COLUMNS))
    clips_df["split"] = assign_splits(clips_df, split) if clips else []
    clips_df = _as_schema(clips_df)
    rejects_df = pd.DataFrame(rejects, columns=REJECT_COLUMNS).astype("string")
    rejects_df = rejects_df.sort_values(["corpus", "path"], kind="stable").reset_index(drop=True)
    meta = {
        "tool": "aggregate", "version": __version__, "emotions": list(EMOTIONS),
        "policy": policy.to_dict(), "split": split.to_dict(), "roots": {n: str(r) for n, r in located.items()},
        "counts": _counts(clips_df, rejects_df, located), "notes": notes,
    }
    return Manifest(clips_df, rejects_df, meta)


def _probe_all(paths: list[Path], corpus: str, progress: bool) -> list:
    # Header reads wait on the disk on a cold or network drive: two threads overlap that wait,
    # more only fight over the GIL (measured: 2 threads of 256-file batches beat 1, 4 and 8).
    batches = [paths[i:i + 256] for i in range(0, len(paths), 256)]
    results = []
    with ThreadPoolExecutor(max_workers=2) as pool, \
            tqdm(total=len(paths), desc=f"{corpus}: reading headers", unit="file",
                 disable=None if progress else True, leave=False) as bar:  # None: off when not a terminal
        for batch in pool.map(lambda batch: [probe(p) for p in batch], batches):
            results.extend(batch)
            bar.update(len(batch))
    return results


def _judge(candidate: Candidate, info, audio_reason, audio_detail, policy: LabelPolicy):
    """The reject reason (the first in REASONS order) and detail, or the clip's labels."""
    problems = []
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
    if candidate.votes is None:  # an acted corpus: one label, the intended emotion
        if candidate.acted in EMOTIONS:
            return (candidate.acted,), None
        return (), ("label_outside_vocabulary", f"acted emotion '{candidate.acted}' is not one of the seven")
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
    return path.relative_to(root).as_posix()


def _reject_row(corpus: str, root: Path, candidate: Candidate, reason: str, detail: str) -> dict:
    return {"corpus": corpus, "path": _relative(root, candidate.path), "reason": reason,
            "detail": detail, "sample_id": candidate.sample_id}


def _clip_row(corpus: str, root: Path, c: Candidate, info, labels: tuple[str, ...]) -> dict:
    row = {
        "sample_id": c.sample_id, "corpus": corpus, "path": _relative(root, c.path),
        "speaker": c.speaker, "gender": c.gender,
        "duration": info.duration, "sample_rate": info.sample_rate, "channels": info.channels,
        "frames": info.frames, "format": info.format,
        "labels": "|".join(labels), "n_labels": len(labels),
        **{f"label_{e}": int(e in labels) for e in EMOTIONS},
        **{f"votes_{e}": (c.votes or {}).get(e) for e in EMOTIONS},
        "n_raters": c.n_raters, "acted_label": c.acted,
    }
    unexpected = set(c.fields) - set(COLUMNS)
    assert not unexpected, f"parser field(s) {unexpected} missing from manifest.COLUMNS"
    row.update(c.fields)
    return row


def _drop_duplicates(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Keep one row per sample id: the copy nearest the root (a nested second copy loses)."""
    rows = sorted(rows, key=lambda r: (r["path"].count("/"), r["path"]))
    kept, duplicates = {}, []
    for row in rows:
        first = kept.setdefault(row["sample_id"], row)
        if first is not row:
            duplicates.append({"corpus": row["corpus"], "path": row["path"], "reason": "duplicate",
                               "detail": f"same clip as {first['path']}", "sample_id": row["sample_id"]})
    return sorted(kept.values(), key=lambda r: r["sample_id"]), duplicates


def _as_schema(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype(COLUMNS)
    order = {name: i for i, name in enumerate(CORPORA)}
    frame = frame.sort_values("sample_id", kind="stable")
    frame = frame.sort_values("corpus", key=lambda s: s.map(order), kind="stable")
    return frame.reset_index(drop=True)


def _counts(clips: pd.DataFrame, rejects: pd.DataFrame, located: dict) -> dict:
    counts = {}
    for name in located:
        mine = clips[clips["corpus"] == name]
        reasons = rejects.loc[rejects["corpus"] == name, "reason"].value_counts()
        counts[name] = {
            "kept": len(mine),
            "rejected": {r: int(reasons[r]) for r in REASONS if r in reasons},
            "speakers": int(mine["speaker"].nunique()),
            "labels": {e: int(mine[f"label_{e}"].sum()) for e in EMOTIONS},
        }
    return counts


def rejects_path(manifest_path: Path | str) -> Path:
    """Where the rejects of a manifest live: ``name.parquet`` -> ``name.rejects.csv``."""
    path = Path(manifest_path)
    return path.with_name(path.stem + ".rejects.csv")


def write_manifest(manifest: Manifest, path: Path | str) -> Path:
    """Write the Parquet manifest and its rejects CSV; each appears whole or not at all."""
    path = Path(path)
    table = pa.Table.from_pandas(manifest.clips, preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[METADATA_KEY] = json.dumps(manifest.meta, sort_keys=True).encode()
    table = table.replace_schema_metadata(metadata)
    atomic_write(rejects_path(path), lambda tmp: manifest.rejects.to_csv(tmp, index=False))
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))
    return path


def read_manifest(path: Path | str) -> Manifest:
    """Read a manifest written by ``write_manifest`` (rejects too, when the CSV is beside it)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no manifest at {path}; build one with `python -m aggregate manifest ... -o {path}`")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise InputError(f"{path} is not a readable Parquet manifest ({err})") from None
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise InputError(f"{path} is a Parquet file but not a manifest written by this tool")
    clips = table.to_pandas().astype(COLUMNS)
    rejects_file = rejects_path(path)
    if rejects_file.is_file():
        rejects = pd.read_csv(rejects_file, dtype="string", keep_default_na=False, na_values=[""])
    else:
        rejects = pd.DataFrame(columns=REJECT_COLUMNS, dtype="string")
    return Manifest(clips, rejects, json.loads(raw))


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
