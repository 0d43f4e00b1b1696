"""One shard of a render, assembled from its chunks as they come back in any order, and written.

``ShardAssembly``: a shard rendered now, every view of its clips (log-mel streamed to its file in row
order; the other views written when the shard is whole). ``AddedViews``: the shards of views added to a
folder whose log-mel shard is complete: the log-mel shard's rows, its columns, its bytes untouched.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..vocabulary import CLIP_COLUMNS, EMOTIONS

if TYPE_CHECKING:
    from ..shards.writing import ShardsFolderWriter


class ShardAssembly:
    """One shard, from its chunks as they come back in any order.

    Its features go to the file in row order as soon as the next rows are in, so this process
    compresses the shard while the workers render the rest. A clip that failed leaves the shard
    with fewer rows than planned: then the shard is written whole, once every chunk is in.
    Every chunk is kept until then, so at most the shards in flight are held in memory.
    ``extras``: the other views (name -> (View, Stored)), written when the shard is whole.
    """

    def __init__(self, folder: ShardsFolderWriter, number: int, rows, n_chunks: int, recipe, storage,
                 extras: dict | None = None):
        self.folder, self.number, self.rows, self.n_chunks = folder, number, rows, n_chunks
        self.recipe, self.storage, self.extras = recipe, storage, extras or {}
        self.chunks: dict[int, tuple[dict, dict]] = {}  # first row -> (values by view and row, failures by view and row)
        self.draft = None
        self.streaming = True
        self.written = 0  # rows in the file so far, while streaming

    def add(self, first: int, values: dict, failed: dict) -> bool:
        """Take one chunk's result; True when the shard has all its chunks."""
        self.chunks[first] = (values, failed)
        if failed["log_mel"] and self.streaming:
            self.streaming = False
            self.discard()
        while self.streaming and self.written in self.chunks:
            block = self.chunks[self.written][0]["log_mel"]
            self._draft(len(self.rows)).write_rows(self.written, np.stack([block[r] for r in sorted(block)]))
            self.written += len(block)
        return len(self.chunks) == self.n_chunks

    def finish(self) -> None:
        """Write what is left of the shard (all of it, if a clip failed), then its other views, and put it in place."""
        features, failed = {}, {}
        for chunk_values, chunk_failed in self.chunks.values():
            features.update(chunk_values["log_mel"])
            failed.update(chunk_failed["log_mel"])
        kept = sorted(features)
        if not self.streaming and kept:
            self._draft(len(kept)).write_rows(0, np.stack([features[r] for r in kept]))
        columns, strings = shard_columns(self.rows, kept)
        # Failures name the clip by its manifest path, relative to its corpus: no path of this machine.
        records = [{"sample_id": strings["sample_id"][r], "corpus": strings["corpus"][r],
                    "path": str(self.rows["path"].iloc[r]), "reason": why} for r, why in sorted(failed.items())]
        # The other views first: the log-mel shard, once in place, says the shard is complete.
        for name, (view, stored) in self.extras.items():
            values = {}
            for chunk_values, _ in self.chunks.values():
                values.update(chunk_values[name])
            write_view(self.folder, self.number, view, stored, self.storage, [values[r] for r in kept],
                       np.ones(len(kept), bool), columns, [])
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


class AddedViews:
    """The shards of views added to a folder for one complete log-mel shard: its rows, in its order.

    A clip that fails only an added view keeps its row, with ``present`` 0 and an empty (or zero)
    value, and is listed in that view's ``failed``: the log-mel shard stays byte-identical."""

    def __init__(self, folder: ShardsFolderWriter, number: int, rows, columns, n_chunks: int, storage, extras: dict):
        self.folder, self.number, self.rows, self.columns = folder, number, rows, columns
        self.n_chunks, self.storage, self.extras = n_chunks, storage, extras
        self.chunks: dict[int, tuple[dict, dict]] = {}

    def add(self, first: int, values: dict, failed: dict) -> bool:
        self.chunks[first] = (values, failed)
        return len(self.chunks) == self.n_chunks

    def finish(self) -> None:
        for name, (view, stored) in self.extras.items():
            values, failed = {}, {}
            for chunk_values, chunk_failed in self.chunks.values():
                values.update(chunk_values[name])
                failed.update(chunk_failed[name])
            empty = np.zeros([0 if n is None else n for n in stored.shape], stored.dtype)
            n = len(self.rows)
            records = [{"sample_id": str(self.rows["sample_id"].iloc[r]), "corpus": str(self.rows["corpus"].iloc[r]),
                        "path": str(self.rows["path"].iloc[r]), "reason": why} for r, why in sorted(failed.items())]
            write_view(self.folder, self.number, view, stored, self.storage,
                       [values.get(r, empty) for r in range(n)], np.array([r in values for r in range(n)]),
                       self.columns, records)

    def discard(self) -> None:
        pass  # nothing is written before finish


def write_view(folder, number: int, view, stored, storage, values: list, present, columns, failed: list) -> None:
    from ..shards.view_h5 import write_view_shard

    folder.write_view_shard(view.name, number, lambda tmp: write_view_shard(
        tmp, view.name, view.config_dict(), view.config_hash(), stored, storage.h5_compression, values,
        present, columns, failed))


def shard_columns(rows, kept: list[int]):
    """(ShardColumns of rows ``kept`` of the manifest rows ``rows``, every row's strings)."""
    from ..shards.h5 import ShardColumns  # as in render_shards: after the workers start

    strings = {name: rows[name].fillna("").astype(str).to_numpy() if name in rows else np.full(len(rows), "")
               for name in CLIP_COLUMNS}  # a manifest without splits: every clip's split is ""
    labels = rows[[f"label_{e}" for e in EMOTIONS]].to_numpy(np.uint8)
    columns = ShardColumns(labels=labels[kept], vote_fractions=vote_fractions(rows)[kept],
                           **{name: list(strings[name][kept]) for name in CLIP_COLUMNS})
    return columns, strings


def vote_fractions(rows) -> np.ndarray:
    """Votes / raters per emotion; the multi-hot itself for acted corpora (the acted label is the whole truth)."""
    labels = rows[[f"label_{e}" for e in EMOTIONS]].to_numpy(np.float32)
    votes = rows[[f"votes_{e}" for e in EMOTIONS]].astype("float64").fillna(0).to_numpy()
    raters = rows["n_raters"].astype("float64").to_numpy()
    voted = ~np.isnan(raters) & (raters > 0)
    labels[voted] = (votes[voted] / raters[voted, None]).astype(np.float32)
    return labels
