"""Reading the views other than log_mel: rows by dataset index, checked, and batches that pad them.

A view's shard ``VIEW/shard-NNNNN.h5`` holds the rows of the log-mel shard of its number, in order,
so a dataset's (shard, row) places hold for every view. Values are checked against what the view
promises (``Stored``: dtype, shape, finite, range) as they are read.
"""
from __future__ import annotations

import os

import numpy as np

from ..errors import InputError
from ..shards.h5 import ShardLayoutError
from ..shards.view_h5 import check_view_values, read_rows
from ..views.base import Stored


class ViewRows:
    """The views ``names`` of a folder, read by (shard, row); handles opened per process, on first use."""

    def __init__(self, folder, names: list[str]):
        self.folder, self.names = folder, list(names)
        self.stored = {name: Stored.from_dict(folder.views[name]["stored"]) for name in self.names}
        self._handles: dict = {}
        self._pid: int | None = None

    def lacking(self) -> set[str]:
        """Sample ids that one of the views could not compute (their rows hold no value)."""
        return {f["sample_id"] for name in self.names for f in self.folder.views[name]["failed"]}

    def read(self, places: list[tuple[str, int]]) -> dict[str, list[np.ndarray]]:
        """view -> the values at ``places``, in their order, as stored (checked)."""
        out = {}
        for name in self.names:
            values: list = [None] * len(places)
            by_shard: dict[str, list[tuple[int, int]]] = {}
            for position, (shard, row) in enumerate(places):
                by_shard.setdefault(shard, []).append((row, position))
            for shard, items in by_shard.items():
                items.sort()
                rows = [row for row, _ in items]
                got = read_rows(self._handle(name, shard), name, rows)
                try:
                    check_view_values(got, np.ones(len(got), bool), self.stored[name], self.folder.path / name / shard)
                except ShardLayoutError as err:
                    raise InputError(str(err)) from None
                for (_, position), value in zip(items, got):
                    values[position] = value
            out[name] = values
        return out

    def _handle(self, name: str, shard: str):
        if self._pid != os.getpid():  # a new process: never reuse a parent's handles
            self._handles, self._pid = {}, os.getpid()
        key = (name, shard)
        if key not in self._handles:
            self._handles[key] = self.folder.open_view_shard(name, shard)
        return self._handles[key]

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles = {}

    def __getstate__(self) -> dict:  # pickled into a worker process: without open handles
        return dict(self.__dict__, _handles={}, _pid=None)


def pad(values: list[np.ndarray], stored: Stored) -> tuple[np.ndarray, np.ndarray | None]:
    """A batch of one view as float32: stacked, or (variable length) zero-padded to the longest, with the lengths."""
    if not stored.variable:
        return np.stack(values).astype(np.float32), None
    lengths = np.array([len(v) for v in values], dtype=np.int64)
    out = np.zeros((len(values), int(lengths.max(initial=0))), np.float32)
    for row, value in enumerate(values):
        out[row, :len(value)] = value
    return out, lengths


def view_batches(ds, batch_size: int, shuffle: bool, seed: int, workers: int):
    """``ds.batches`` with views besides log_mel: log-mel batches as streamed (if asked for), the other
    views read for each batch's samples; without log_mel, batches of indices in the same seeded order."""
    from .streaming import stream_batches

    if "log_mel" in ds.views:
        batches = stream_batches(ds, batch_size, shuffle, seed, workers)
    else:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        order = np.random.default_rng(seed).permutation(len(ds)) if shuffle else np.arange(len(ds))
        batches = ({"labels": ds.labels[order[s:s + batch_size]].astype(np.float32), "index": order[s:s + batch_size]}
                   for s in range(0, len(ds), batch_size))
    for batch in batches:
        if "features" in batch:
            batch["log_mel"] = batch["features"]
        values = ds.view_rows.read([ds.places[i] for i in batch["index"]])
        for name, got in values.items():
            batch[name], lengths = pad(got, ds.view_rows.stored[name])
            if lengths is not None:
                batch[f"{name}_length"] = lengths
        yield batch
