"""One shard file: the HDF5 layout, how it is written, and how it is read back.

The only module that knows the dataset names. A shard opens with plain h5py::

    features        (N, n_mels, n_frames) float16 (or float32), one chunk per sample
    labels          (N, 7) uint8 multi-hot, in the order of the attribute ``emotions``
    vote_fractions  (N, 7) float32: votes / raters (the multi-hot for acted corpora)
    sample_id, speaker, corpus, split   (N,) UTF-8 strings
    emotion/<name>  (N,) uint8, one per emotion: ``labels`` again, under the emotions' names, so that a
                    reader that knows only HDF5 (Hugging Face's ``hdf5`` builder: a struct column) keeps them
    attrs: format, emotions, feature_config (+ _hash), storage, tool_version, failed
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from .. import __version__
from ..recipe import FeatureConfig
from ..vocabulary import CLIP_COLUMNS, EMOTIONS
from .storage import StorageConfig

FORMAT = "aggregate-shards/2"


@dataclass
class ShardColumns:
    """Every per-sample column of one shard but the features, in row order."""

    labels: np.ndarray  # (N, 7) uint8 multi-hot, EMOTIONS order
    vote_fractions: np.ndarray  # (N, 7) float32
    sample_id: list[str]
    speaker: list[str]
    corpus: list[str]
    split: list[str]


class ShardWriter:
    """A shard file being written at ``tmp`` (the caller renames it into place when whole): the
    features in row order, block by block as they come (``write_rows``), then everything else
    (``finish``).

    HDF5 places each chunk (one row) in the file as it is written, so rows written in order
    give the same bytes however they are cut into blocks: a shard written while it renders is
    byte for byte the one written at once.
    """

    def __init__(self, tmp: str, rows: int, recipe: FeatureConfig, storage: StorageConfig):
        self._recipe, self._storage = recipe, storage
        # HDF5 writes through a Python file object (h5py's fileobj driver), not its own: after a failed
        # write (a full disk) ``abandon`` makes that object drop what HDF5 still holds, so that closing
        # cannot fail too. Through HDF5's own driver the close failed again, and the process segfaulted
        # at exit trying once more to flush it (issue 17).
        flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
        self._sink = _Sink(os.fdopen(os.open(tmp, flags, 0o666), "r+b", buffering=0))
        try:
            self._file = h5py.File(self._sink, "w")
        except BaseException:
            self._sink.abandon()
            raise
        try:
            # One chunk per sample: random reads touch one chunk. (HDF5 refuses chunks in an empty
            # dataset: a shard whose every clip failed has none.)
            self._features = self._file.create_dataset(
                "features", shape=(rows, *recipe.shape), dtype=storage.dtype,
                chunks=(1, *recipe.shape) if rows else None, compression=storage.h5_compression if rows else None)
        except BaseException:
            self.abandon()
            raise

    def write_rows(self, start: int, features: np.ndarray) -> None:
        """Rows ``start``.. of the features, ``features`` (k, n_mels, n_frames) in [-1, 1]."""
        self._features[start:start + len(features)] = features.astype(self._storage.dtype, copy=False)

    def finish(self, columns: ShardColumns, failed: list[dict]) -> None:
        """Write every other column and the attributes, and close the file."""
        # HDF5 keeps the last rows in its chunk cache until they are flushed: flush them now, before
        # the other columns, where writing the features at once (and closing them) would have put them.
        self._features.flush()
        f = self._file
        strings = h5py.string_dtype()
        f.create_dataset("labels", data=columns.labels.astype(np.uint8).reshape(-1, len(EMOTIONS)))
        f.create_dataset("vote_fractions",
                         data=columns.vote_fractions.astype(np.float32).reshape(-1, len(EMOTIONS)))
        for name in CLIP_COLUMNS:
            f.create_dataset(name, data=np.array(getattr(columns, name), dtype=object), dtype=strings)
        named = f.create_group("emotion")
        for column, emotion in enumerate(EMOTIONS):
            named.create_dataset(emotion, data=columns.labels[:, column].astype(np.uint8))
        f.attrs["format"] = FORMAT
        f.attrs["emotions"] = json.dumps(list(EMOTIONS))
        f.attrs["feature_config"] = json.dumps(self._recipe.to_dict(), sort_keys=True)
        f.attrs["feature_config_hash"] = self._recipe.hash()
        f.attrs["storage"] = json.dumps(self._storage.to_dict(), sort_keys=True)
        f.attrs["tool_version"] = __version__
        f.attrs["failed"] = json.dumps(failed)  # clips of this shard that could not be rendered
        self.close()

    def close(self) -> None:
        try:
            self._file.close()
        finally:
            self._sink.raw.close()

    def abandon(self) -> None:
        """Close the file after a failed write, or to drop it: nothing more reaches the disk (the caller
        deletes the temporary file), and nothing is left open for HDF5 to flush at exit."""
        self._sink.abandon()
        try:
            self._file.close()
        except (OSError, RuntimeError, ValueError):  # nothing to save: it is being deleted
            pass


class _Sink(io.RawIOBase):
    """The file HDF5 writes a shard through; ``abandon`` turns it into a sink that accepts and drops
    every write, once the shard is being thrown away."""

    def __init__(self, raw):
        super().__init__()
        self.raw, self.abandoned = raw, False

    def abandon(self) -> None:
        self.abandoned = True
        self.raw.close()

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return 0 if self.abandoned else self.raw.readinto(buffer)

    def write(self, data) -> int:
        return len(data) if self.abandoned else self.raw.write(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0 if self.abandoned else self.raw.seek(offset, whence)

    def tell(self) -> int:
        return 0 if self.abandoned else self.raw.tell()

    def truncate(self, size=None) -> int:
        return 0 if self.abandoned else self.raw.truncate(size)

    def flush(self) -> None:
        if not self.abandoned:
            self.raw.flush()


def open_file(path: Path, expect: dict | None = None) -> h5py.File:
    """An open shard; with ``expect`` (samples, shape, dtype: what the index says), its layout checked first."""
    handle = h5py.File(path, "r")
    if expect is not None:
        try:
            check_layout(handle, path, **expect)
        except BaseException:
            handle.close()
            raise
    return handle


class ShardLayoutError(ValueError):
    """A shard whose datasets are not what render writes (ShardsFolder turns it into one InputError line)."""


def check_layout(f: h5py.File, path: Path, samples: int, shape: tuple, dtype: str) -> None:
    """Refuse a shard whose layout or small columns are not what render writes, once, when it is opened:
    every dataset a plain one stored in the file itself (an external link, external storage or a virtual
    dataset would read another file of the receiving machine), each of its dtype and shape, every column
    ``samples`` long, labels 0 or 1, vote fractions in [0, 1]. The features' values are checked as they
    are read (``check_values``): reading them all here would read every shard twice."""
    def refuse(why: str) -> ShardLayoutError:
        return ShardLayoutError(f"{path}: {why}; it is not a shard as render writes it: fetch or render it again")

    wanted = {"features": ((samples, *shape), (np.dtype(dtype),)),
              "labels": ((samples, len(EMOTIONS)), (np.dtype(np.uint8),)),
              "vote_fractions": ((samples, len(EMOTIONS)), (np.dtype(np.float32),)),
              **{name: ((samples,), None) for name in CLIP_COLUMNS}}
    for name, (want_shape, dtypes) in wanted.items():
        link = f.get(name, getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise refuse(f"{name} is {'missing' if link is None else 'a link to elsewhere'}")
        dataset = f[name]
        if not isinstance(dataset, h5py.Dataset) or _stored_elsewhere(dataset):
            raise refuse(f"{name} is not a dataset stored in the shard itself")
        if dataset.shape != want_shape:
            raise refuse(f"{name} has shape {dataset.shape}, expected {want_shape}")
        if dtypes is not None and dataset.dtype not in dtypes:
            raise refuse(f"{name} holds {dataset.dtype}, expected {dtypes[0]}")
        if dtypes is None and h5py.check_string_dtype(dataset.dtype) is None:
            raise refuse(f"{name} does not hold strings")
    labels = f["labels"][:]
    if labels.size and labels.max() > 1:
        raise refuse("labels hold values other than 0 and 1")
    fractions = f["vote_fractions"][:]
    if fractions.size and not (np.isfinite(fractions).all() and fractions.min() >= 0 and fractions.max() <= 1):
        raise refuse("vote_fractions hold values outside [0, 1]")


def _stored_elsewhere(dataset: h5py.Dataset) -> bool:
    """A virtual dataset, or one whose bytes live in external raw files."""
    return dataset.is_virtual or dataset.id.get_create_plist().get_external_count() > 0


def check_values(features: np.ndarray, path, low: float = -1.0, high: float = 1.0) -> None:
    """Refuse features read from a shard that hold a NaN, an infinity or a value outside [low, high]."""
    if features.dtype == np.float16 and (low, high) == (-1.0, 1.0):
        # On the bits: |x| > 1 (NaN and infinities included) is a magnitude above 0x3C00. Fast: no conversion.
        bad = features.size and (features.view(np.uint16) & 0x7FFF).max() > 0x3C00
    else:
        values = np.asarray(features, dtype=np.float32)
        bad = values.size and not (np.isfinite(values).all() and values.min() >= low and values.max() <= high)
    if bad:
        raise ShardLayoutError(f"{path}: features hold NaN, infinite or out-of-range values (outside "
                               f"[{low:g}, {high:g}]); it is not a shard as render writes it: fetch or render it again")


def read_header(path: Path) -> tuple[list[str], str, list[dict]]:
    """(sample ids, recipe hash, failed clips) of a shard."""
    with h5py.File(path, "r") as f:
        return (list(f["sample_id"].asstr()[:]), str(f.attrs["feature_config_hash"]),
                json.loads(f.attrs["failed"]))


def read_columns(path: Path, expect: dict | None = None) -> dict[str, np.ndarray]:
    """Every per-sample column but the features: labels, vote_fractions and the strings."""
    with open_file(path, expect) as f:
        out = {name: f[name].asstr()[:] for name in CLIP_COLUMNS}
        out["labels"] = f["labels"][:]
        out["vote_fractions"] = f["vote_fractions"][:]
    return out


def read_block(handle: h5py.File, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """(features as stored, labels) of rows start..stop of an open shard."""
    return handle["features"][start:stop], handle["labels"][start:stop]


def read_block_into(handle: h5py.File, start: int, stop: int, out: np.ndarray) -> np.ndarray:
    """Labels of rows start..stop of an open shard; their features are decompressed straight into ``out``."""
    handle["features"].read_direct(out, np.s_[start:stop], np.s_[:stop - start])
    return handle["labels"][start:stop]


def features_of(handle: h5py.File) -> h5py.Dataset:
    """The features dataset of an open shard: keep it, looking it up costs as much as a read."""
    return handle["features"]


def check(path: Path, samples: int, recipe: FeatureConfig, storage: StorageConfig, recipe_hash: str) -> tuple[list[str], list[str]]:
    """(problems, sample ids) of one shard file, read end to end (for verify)."""
    name = path.name
    problems: list[str] = []
    with h5py.File(path, "r") as f:
        try:
            check_layout(f, path, samples, recipe.shape, storage.dtype)
        except ShardLayoutError as err:
            problems.append(f"{name}: {str(err).removeprefix(f'{path}: ')}")
            if "stored in the shard itself" in str(err) or "link" in str(err):
                return problems, list(f["sample_id"].asstr()[:]) if "sample_id" in f else []
        if f.attrs.get("feature_config_hash") != recipe_hash:
            problems.append(f"{name}: rendered with another feature config than the index says")
        ids = list(f["sample_id"].asstr()[:])
        features = f["features"]
        if features.shape != (len(ids), *recipe.shape) or features.dtype != np.dtype(storage.dtype):
            problems.append(f"{name}: features are {features.shape} {features.dtype}, expected "
                            f"({len(ids)}, {recipe.shape[0]}, {recipe.shape[1]}) {storage.dtype}")
        for other in ("labels", "vote_fractions", *CLIP_COLUMNS[1:]):
            if f[other].shape[0] != len(ids):
                problems.append(f"{name}: {other} has {f[other].shape[0]} rows for {len(ids)} samples")
        labels = f["labels"][:]
        if labels.size and labels.max() > 1:
            problems.append(f"{name}: labels hold values other than 0 and 1")
        for start in range(0, len(ids), 256):  # block by block: memory stays small
            block = features[start:start + 256].astype(np.float32)
            if not np.isfinite(block).all():
                problems.append(f"{name}: non-finite values in rows {start}..{start + len(block) - 1}")
            elif block.size and (block.min() < recipe.scale_min or block.max() > recipe.scale_max):
                problems.append(f"{name}: values outside [{recipe.scale_min}, {recipe.scale_max}]")
    if len(ids) != samples:
        problems.append(f"{name}: holds {len(ids)} samples, the index says {samples}")
    return problems, ids
