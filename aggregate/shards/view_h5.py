"""One shard file of a view other than log_mel: ``VIEW/shard-NNNNN.h5`` (docs/shards.md).

It holds the rows of the log-mel shard of the same number, in the same order, and is self-contained,
so plain h5py and Hugging Face's ``hdf5`` builder read it alone (one row per clip in every dataset):

    <view>          (N, *shape) as the view stores it; for a variable-length view (the waveform) an
                    HDF5 variable-length dataset (N,) of 1-D arrays: h5py gives one array per row,
                    the ``hdf5`` builder a list column
    <view>_length   (N,) int64, a variable-length view only: each row's length
    present         (N,) uint8: 0 where the view could not be computed for a clip that is in the
                    log-mel shard (its value is empty or zeros; the reason is in the attribute failed)
    labels, vote_fractions, sample_id, speaker, corpus, split, emotion/<name>: as the log-mel shard
    attrs: format, view, view_config (+ _hash), stored, tool_version, failed
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np

from .. import __version__
from ..views.base import Stored
from ..vocabulary import CLIP_COLUMNS, EMOTIONS
from .h5 import ShardColumns, ShardLayoutError

FORMAT = "aggregate-view-shard/1"


def write_view_shard(tmp: str, view: str, config: dict, config_hash: str, stored: Stored, compression: str | None,
                     values: list, present: np.ndarray, columns: ShardColumns, failed: list[dict]) -> None:
    """Write one view's shard at ``tmp``: ``values`` in row order (an empty or zero array where ``present`` is 0)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    with os.fdopen(os.open(tmp, flags, 0o666), "r+b") as sink, h5py.File(sink, "w") as f:
        n = len(values)
        if stored.variable:
            data = f.create_dataset(view, shape=(n,), dtype=h5py.vlen_dtype(np.dtype(stored.dtype)))
            for row, value in enumerate(values):  # h5py writes a vlen row from a 1-D array
                data[row] = np.asarray(value, dtype=stored.dtype).reshape(-1)
            f.create_dataset(f"{view}_length", data=np.array([np.size(v) for v in values], dtype=np.int64))
        else:
            block = np.stack(values).astype(stored.dtype) if n else np.zeros((0, *stored.shape), stored.dtype)
            f.create_dataset(view, data=block, chunks=(1, *stored.shape) if n else None,
                             compression=compression if n else None)
        f.create_dataset("present", data=present.astype(np.uint8))
        f.create_dataset("labels", data=columns.labels.astype(np.uint8).reshape(-1, len(EMOTIONS)))
        f.create_dataset("vote_fractions", data=columns.vote_fractions.astype(np.float32).reshape(-1, len(EMOTIONS)))
        for name in CLIP_COLUMNS:
            f.create_dataset(name, data=np.array(getattr(columns, name), dtype=object), dtype=h5py.string_dtype())
        named = f.create_group("emotion")
        for column, emotion in enumerate(EMOTIONS):
            named.create_dataset(emotion, data=columns.labels[:, column].astype(np.uint8))
        f.attrs["format"] = FORMAT
        f.attrs["view"] = view
        f.attrs["view_config"] = json.dumps(config, sort_keys=True)
        f.attrs["view_config_hash"] = config_hash
        f.attrs["stored"] = json.dumps(stored.to_dict(), sort_keys=True)
        f.attrs["tool_version"] = __version__
        f.attrs["emotions"] = json.dumps(list(EMOTIONS))
        f.attrs["failed"] = json.dumps(failed)


def read_view_header(path: Path) -> tuple[list[str], str, list[dict]]:
    """(sample ids, view config hash, failed clips) of a view shard."""
    with h5py.File(path, "r") as f:
        return list(f["sample_id"].asstr()[:]), str(f.attrs["view_config_hash"]), json.loads(f.attrs["failed"])


def check_view_layout(f: h5py.File, path: Path, view: str, samples: int, stored: Stored) -> None:
    """Refuse a view shard whose datasets are not what render writes (as ``h5.check_layout`` for log-mel)."""
    def refuse(why: str) -> ShardLayoutError:
        return ShardLayoutError(f"{path}: {why}; it is not a {view} shard as render writes it: fetch or render it again")

    names = [view, "present", "labels", *CLIP_COLUMNS] + ([f"{view}_length"] if stored.variable else [])
    for name in names:
        link = f.get(name, getlink=True)
        if not isinstance(link, h5py.HardLink) or not isinstance(f[name], h5py.Dataset):
            raise refuse(f"{name} is {'missing' if link is None else 'not a dataset of the shard itself'}")
        dataset = f[name]
        if dataset.is_virtual or dataset.id.get_create_plist().get_external_count() > 0:
            raise refuse(f"{name} is stored outside the shard")
        if dataset.shape[:1] != (samples,):
            raise refuse(f"{name} has {dataset.shape[:1]} rows, the index says {samples}")
    data = f[view]
    if stored.variable:
        base = h5py.check_vlen_dtype(data.dtype)
        if data.shape != (samples,) or base is None or base != np.dtype(stored.dtype):
            raise refuse(f"{view} is {data.shape} {data.dtype}, expected ({samples},) variable-length {stored.dtype}")
    elif data.shape != (samples, *stored.shape) or data.dtype != np.dtype(stored.dtype):
        raise refuse(f"{view} is {data.shape} {data.dtype}, expected {(samples, *stored.shape)} {stored.dtype}")
    if f.attrs.get("view") != view:
        raise refuse(f"it says it holds the view {f.attrs.get('view')!r}")


def read_rows(f: h5py.File, view: str, rows) -> list[np.ndarray]:
    """The values of ``rows`` (shard rows, ascending) of an open view shard, as stored."""
    data = f[view]
    rows = np.asarray(rows, dtype=np.int64)
    if not rows.size:
        return []
    if h5py.check_vlen_dtype(data.dtype) is not None:
        return [np.asarray(data[int(r)]) for r in rows]
    block = data[int(rows[0]):int(rows[-1]) + 1]
    return list(block[rows - rows[0]])


def read_present(f: h5py.File) -> np.ndarray:
    return f["present"][:].astype(bool)


def check_view_values(values: list[np.ndarray], present: np.ndarray, stored: Stored, path) -> None:
    """Refuse values read from a view shard that break the view's promise (dtype, shape, finite, range)."""
    for value, here in zip(values, present):
        if here:
            try:
                stored.check(np.asarray(value), str(path))
            except ValueError as err:
                raise ShardLayoutError(f"{err}; it is not a shard as render writes it: fetch or render it again") from None
