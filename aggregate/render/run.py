"""Render a manifest into log-mel shards with a pool of workers: ``python -m aggregate render``.

Tasks and shards are decoupled. The manifest's rows are cut, in order, into
shards of ``storage.shard_size`` clips, and each shard into tasks of consecutive
clips that shrink towards the end of the run, so that the workers finish together
whatever the manifest's size (``chunk_size``). Workers (``pool.py``) only
compute features and send them back; this process writes each shard's features in
row order as they come back, so compressing it overlaps their work, under a
temporary name renamed when the shard is complete, with its checksum beside it.
So the bytes of a shard do not depend on ``--jobs``, a worker never writes a file,
and only the shards being rendered are held in memory.

The plan is written first: running the same command again keeps every shard
whose bytes still match the checksum written with it and renders only the rest,
so an interrupted run (Ctrl-C, kill -9, a lost node) resumes to the same result.
"""
from __future__ import annotations

import math
from collections import Counter
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..progress import show_progress
from ..recipe import FeatureConfig
from ..shards.storage import StorageConfig
from ..vocabulary import CLIP_COLUMNS, EMOTIONS
from .pool import worker_pool
from .worker import MAX_CHUNK, MIN_CHUNK, Chunk

if TYPE_CHECKING:
    from ..shards.writing import ShardsFolderWriter

GUIDED_SPLIT = 2  # a task takes 1/(GUIDED_SPLIT * jobs) of the clips left: the last ones are small


@dataclass
class RenderResult:
    folder: Path
    shards: int
    rendered: int  # shards written by this run
    skipped: int  # shards already complete from an earlier run
    samples: int
    failed: list[dict] = field(default_factory=list)


def render_shards(manifest_path: Path | str, out_dir: Path | str, recipe: FeatureConfig = FeatureConfig(),
                  storage: StorageConfig = StorageConfig(), jobs: int = 1, roots: dict[str, str] | None = None,
                  backend: str = "loky", scheduler: str | None = None, progress: bool = True,
                  retry_failed: bool = False) -> RenderResult:
    """Render every row of the manifest into ``out_dir``; see the module docstring.

    ``retry_failed``: render again the shards holding clips that failed last time (a file since restored).
    """
    if jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {jobs}")
    # The workers start first, before this process starts any thread (pool.py) and before it
    # imports pandas: with pyarrow alone it reads what to render, checks it and claims the folder,
    # and sends the workers their first clips; then it reads the rest while they render.
    with worker_pool(jobs, backend, scheduler, recipe, storage.dtype) as results:
        from ..manifest.format import read_manifest_table
        from ..shards.reading import make_plan
        from ..shards.writing import ShardsFolderWriter

        source = read_manifest_table(manifest_path)
        ids, corpora = source.column("sample_id"), source.column("corpus")
        if not ids:
            raise InputError(f"{source.path} has no clips to render")
        corpus_roots = _corpus_roots(source.meta, set(corpora), roots or {})
        paths = [str(corpus_roots[corpus] / path) for corpus, path in zip(corpora, source.column("path"))]
        plan = make_plan(recipe, storage, source.sha256)
        folder = ShardsFolderWriter(out_dir)
        folder.claim(plan)  # every input is checked by now: a refused run leaves no trace
        pending: dict[int, _Assembly] = {}
        try:
            shards = [range(start, min(start + storage.shard_size, len(ids)))
                      for start in range(0, len(ids), storage.shard_size)]
            todo = [n for n, rows in enumerate(shards)
                    if not folder.shard_is_complete(n, ids[rows.start:rows.stop], recipe.hash(), retry_failed)]
            chunks = _chunks({n: shards[n] for n in todo}, jobs,
                             list(zip(ids, paths, corpora, source.column("file_bytes"), source.column("file_sha256"))))
            done_before = len(ids) - sum(len(shards[n]) for n in todo)
            try:
                stream = results(chunks)
                folder.write_manifest_copy(source)
                clips = source.clips()
                per_shard = Counter(chunk.shard for chunk in chunks)
                pending = {n: _Assembly(folder, n, clips.iloc[shards[n].start:shards[n].stop], per_shard[n],
                                        recipe, storage) for n in todo}
                with show_progress(len(ids), "rendering", "clip", progress, initial=done_before) as bar:
                    for number, first, features, failed in stream:
                        if pending[number].add(first, features, failed):
                            pending.pop(number).finish()
                        bar.update(len(features) + len(failed))
            except BrokenProcessPool:
                raise InputError(f"a worker process died while rendering into {folder.path} (killed, or out of "
                                 "memory?); run the same command again to resume, with fewer --jobs if memory "
                                 "is short") from None
            finally:
                for assembly in pending.values():
                    assembly.discard()
            folder.write_index(plan, len(shards))
        finally:
            folder.release()
    return RenderResult(folder.path, len(shards), len(todo), len(shards) - len(todo),
                        len(folder.places), folder.failed)


def chunk_size(clips_left: int, jobs: int) -> int:
    """Clips in the next task (guided scheduling): large while many clips are left, smaller towards
    the end, so that no worker idles while another finishes a large last task."""
    return max(MIN_CHUNK, min(MAX_CHUNK, math.ceil(clips_left / (GUIDED_SPLIT * jobs))))


def _chunks(shards: dict[int, range], jobs: int, clips: list[tuple]) -> list[Chunk]:
    """The tasks, in row order: consecutive clips of one shard each, sized by ``chunk_size``.
    ``shards``: shard number -> its rows; ``clips``: (sample_id, audio path, corpus, bytes, SHA-256) of every row."""
    chunks, left = [], sum(len(rows) for rows in shards.values())
    for number, rows in shards.items():
        first = 0
        while first < len(rows):
            size = min(chunk_size(left, jobs), len(rows) - first)
            start = rows.start + first
            chunks.append(Chunk(number, first, clips[start:start + size]))
            first += size
            left -= size
    return chunks


def _corpus_roots(meta: dict, corpora: set[str], overrides: dict[str, str]) -> dict[str, Path]:
    """Where each corpus lives on this machine: the manifest's roots, unless overridden."""
    recorded = meta.get("roots", {})
    unknown = sorted(set(overrides) - set(recorded))
    if unknown:
        raise InputError(f"--root {unknown[0]}=...: the manifest has no corpus {unknown[0]} "
                         f"(it has {', '.join(recorded)})")
    roots = {name: Path(overrides.get(name, root)).expanduser() for name, root in recorded.items()}
    for name in sorted(corpora):
        if not roots.get(name, Path("/nonexistent")).is_dir():
            raise InputError(f"{name}: the corpus folder {roots.get(name)} recorded in the manifest is not here; "
                             f"pass --root {name}=DIR with your copy of it")
    return roots


class _Assembly:
    """One shard, from its chunks as they come back in any order.

    Its features go to the file in row order as soon as the next rows are in, so this process
    compresses the shard while the workers render the rest. A clip that failed leaves the shard
    with fewer rows than planned: then the shard is written whole, once every chunk is in.
    Every chunk is kept until then, so at most the shards in flight are held in memory.
    """

    def __init__(self, folder: ShardsFolderWriter, number: int, rows, n_chunks: int, recipe: FeatureConfig,
                 storage: StorageConfig):
        self.folder, self.number, self.rows, self.n_chunks = folder, number, rows, n_chunks
        self.recipe, self.storage = recipe, storage
        self.chunks: dict[int, tuple[dict, dict]] = {}  # first row -> (features by row, failures by row)
        self.draft = None
        self.streaming = True
        self.written = 0  # rows in the file so far, while streaming

    def add(self, first: int, features: dict, failed: dict) -> bool:
        """Take one chunk's result; True when the shard has all its chunks."""
        self.chunks[first] = (features, failed)
        if failed and self.streaming:
            self.streaming = False
            self.discard()
        while self.streaming and self.written in self.chunks:
            block = self.chunks[self.written][0]
            self._draft(len(self.rows)).write_rows(self.written, np.stack([block[r] for r in sorted(block)]))
            self.written += len(block)
        return len(self.chunks) == self.n_chunks

    def finish(self) -> None:
        """Write what is left of the shard (all of it, if a clip failed) and put it in place."""
        from ..shards.h5 import ShardColumns  # as in render_shards: after the workers start

        features, failed = {}, {}
        for chunk_features, chunk_failed in self.chunks.values():
            features.update(chunk_features)
            failed.update(chunk_failed)
        kept = sorted(features)
        if not self.streaming and kept:
            self._draft(len(kept)).write_rows(0, np.stack([features[r] for r in kept]))
        rows = self.rows
        strings = {name: rows[name].fillna("").astype(str).to_numpy() if name in rows else np.full(len(rows), "")
                   for name in CLIP_COLUMNS}  # a manifest without splits: every clip's split is ""
        labels = rows[[f"label_{e}" for e in EMOTIONS]].to_numpy(np.uint8)
        columns = ShardColumns(labels=labels[kept], vote_fractions=vote_fractions(rows)[kept],
                               **{name: list(strings[name][kept]) for name in CLIP_COLUMNS})
        # Failures name the clip by its manifest path, relative to its corpus: no path of this machine.
        records = [{"sample_id": strings["sample_id"][r], "corpus": strings["corpus"][r],
                    "path": str(rows["path"].iloc[r]), "reason": why} for r, why in sorted(failed.items())]
        self._draft(len(kept)).finish(columns, records)
        self.draft = None

    def discard(self) -> None:
        if self.draft is not None:
            self.draft.discard()
            self.draft = None

    def _draft(self, rows: int):
        if self.draft is None:
            self.draft = self.folder.start_shard(self.number, rows, self.recipe, self.storage)
        return self.draft


def vote_fractions(rows) -> np.ndarray:
    """Votes / raters per emotion; the multi-hot itself for acted corpora (the acted label is the whole truth)."""
    labels = rows[[f"label_{e}" for e in EMOTIONS]].to_numpy(np.float32)
    votes = rows[[f"votes_{e}" for e in EMOTIONS]].astype("float64").fillna(0).to_numpy()
    raters = rows["n_raters"].astype("float64").to_numpy()
    voted = ~np.isnan(raters) & (raters > 0)
    labels[voted] = (votes[voted] / raters[voted, None]).astype(np.float32)
    return labels
