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

import json
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
        self._file = h5py.File(tmp, "w")
        try:
            # One chunk per sample: random reads touch one chunk. (HDF5 refuses chunks in an empty
            # dataset: a shard whose every clip failed has none.)
            self._features = self._file.create_dataset(
                "features", shape=(rows, *recipe.shape), dtype=storage.dtype,
                chunks=(1, *recipe.shape) if rows else None, compression=storage.h5_compression if rows else None)
        except BaseException:
            self._file.close()
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
        self._file.close()


def open_file(path: Path) -> h5py.File:
    return h5py.File(path, "r")


def read_header(path: Path) -> tuple[list[str], str, list[dict]]:
    """(sample ids, recipe hash, failed clips) of a shard."""
    with h5py.File(path, "r") as f:
        return (list(f["sample_id"].asstr()[:]), str(f.attrs["feature_config_hash"]),
                json.loads(f.attrs["failed"]))


def read_columns(path: Path) -> dict[str, np.ndarray]:
    """Every per-sample column but the features: labels, vote_fractions and the strings."""
    with h5py.File(path, "r") as f:
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
