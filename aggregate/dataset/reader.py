"""A framework-neutral reader of a shards folder: ``ShardDataset(folder, split="train")``.

Map-style (``len(ds)``, ``ds[i]``), so it works as-is with ``torch.utils.data.DataLoader``
(``num_workers > 0`` included), JAX/numpy loops, or ``datasets.Dataset.from_generator``.
It imports neither TensorFlow nor torch. HDF5 handles are opened lazily, per process: a
handle opened before a fork and shared by several processes corrupts reads (pytorch #11887),
so each process (a DataLoader worker) opens its own on first use.

``ds.batches(batch_size)`` streams contiguous blocks (one HDF5 read per block), optionally in
several processes: the fast path for training. docs/reading.md shows each framework.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..shards.h5 import features_of, read_block, read_block_into
from ..shards.reading import ShardsFolder
from ..vocabulary import CLIP_COLUMNS, SPLITS
from .blocks import ROWS_PER_BLOCK, Block, as_float32
from .streaming import ReaderPool, stream_batches
from .views import ViewRows, view_batches


class ShardDataset:
    """The samples of one split (or all, ``split=None``) of a shards folder.

    ``ds[i]`` is a dict: each requested view under its name (``views``, default log_mel alone), the
    log-mel also as ``features``: float32 (n_mels, n_frames) = (200, 278); ``waveform`` float32 (n,)
    at 16 kHz; ``labels`` float32 (7,) multi-hot in ``ds.emotions`` order; ``vote_fractions`` float32
    (7,); ``sample_id``, ``speaker``, ``corpus`` strings. The split is the one written into the shards
    (the manifest's split column); ``sample_ids`` selects any other subset, in the folder's order.
    A folder lacking a requested view is refused; a clip that a requested view could not compute
    (listed in its ``failed``) is left out, and counted in ``ds.skipped``.
    Every shard's checksum is checked once when the dataset is made (``check=False`` skips it).
    """

    def __init__(self, folder: ShardsFolder | Path | str, split: str | None = "train", sample_ids=None,
                 check: bool = True, views=("log_mel",)):
        if split is not None and split not in SPLITS:
            raise InputError(f"split must be one of {', '.join(SPLITS)} or None, got {split!r}")
        self.folder = folder if isinstance(folder, ShardsFolder) else ShardsFolder.open(folder, check=check)
        self.views = (views,) if isinstance(views, str) else tuple(views)
        if not self.views:
            raise InputError("views must name at least one view, e.g. ('log_mel',)")
        self.folder.require_views(self.views)
        self.split = split
        self.emotions = self.folder.emotions
        self.view_rows = ViewRows(self.folder, [v for v in self.views if v != "log_mel"])
        lacking = self.view_rows.lacking()
        wanted = None if sample_ids is None else set(sample_ids)
        if lacking:
            wanted = (set(self.folder.places) if wanted is None else wanted) - lacking
        self.skipped = len(lacking)
        if lacking:
            warnings.warn(f"{len(lacking)} clips of {self.folder.path} are left out: a view of "
                          f"{', '.join(self.views)} could not be computed for them (see its 'failed' in the index)",
                          stacklevel=2)
        places, columns = [], {k: [] for k in (*CLIP_COLUMNS, "labels", "vote_fractions")}
        for shard in self.folder.shard_names:
            table = self.folder.columns(shard)
            rows = np.ones(len(table["sample_id"]), bool)
            if split is not None:
                rows &= table["split"] == split
            if wanted is not None:
                rows &= np.isin(table["sample_id"], list(wanted))
            for row in np.flatnonzero(rows):
                places.append((shard, int(row)))
            for key in columns:
                columns[key].append(table[key][rows])
        self.places = places  # dataset index -> (shard, row), in the folder's order
        self.sample_ids = _join(columns["sample_id"], str)
        self.speakers = _join(columns["speaker"], str)
        self.corpora = _join(columns["corpus"], str)
        self.labels = _join(columns["labels"], np.uint8, (0, len(self.emotions)))
        self.vote_fractions = _join(columns["vote_fractions"], np.float32, (0, len(self.emotions)))
        self.shape = self.folder.shape
        self._handles: dict = {}
        self._datasets: dict = {}
        self._pool = None
        self._pid: int | None = None

    def __len__(self) -> int:
        return len(self.places)

    def __getitem__(self, i: int) -> dict:
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} samples")
        shard, row = self.places[i]
        item = {"labels": self.labels[i].astype(np.float32), "vote_fractions": self.vote_fractions[i],
                "sample_id": self.sample_ids[i], "speaker": self.speakers[i], "corpus": self.corpora[i]}
        if "log_mel" in self.views:
            features = self._features(shard)[row]
            self.folder.check_features(shard, features)
            item["features"] = item["log_mel"] = as_float32(features)
        for view, values in self.view_rows.read([(shard, row)]).items():
            item[view] = values[0]
        return item

    def blocks(self, rows_per_block: int = ROWS_PER_BLOCK) -> list[Block]:
        """The dataset as contiguous blocks of at most ``rows_per_block`` shard rows, in order."""
        blocks, index = [], 0
        by_shard: dict[str, list[int]] = {}
        for shard, row in self.places:
            by_shard.setdefault(shard, []).append(row)
        for shard in self.folder.shard_names:
            rows = np.array(by_shard.get(shard, []))
            for start in range(0, int(rows.max()) + 1 if rows.size else 0, rows_per_block):
                inside = rows[(rows >= start) & (rows < start + rows_per_block)]
                if inside.size:
                    blocks.append(Block(shard, start, int(inside.max()) + 1, inside - start, index))
                    index += inside.size
        return blocks

    def read_block(self, block: Block) -> tuple[np.ndarray, np.ndarray]:
        """(features as stored, e.g. float16, (n, n_mels, n_frames); labels uint8 (n, 7)) of one block."""
        features, labels = read_block(self._handle(block.shard), block.start, block.stop)
        self.folder.check_features(block.shard, features)
        if block.whole:
            return features, labels
        return features[block.keep], labels[block.keep]

    def read_block_into(self, block: Block, out: np.ndarray) -> np.ndarray:
        """Features of one block into ``out[:len(block.keep)]`` (as stored); returns its labels."""
        if block.whole:  # decompressed in place
            labels = read_block_into(self._handle(block.shard), block.start, block.stop, out)
            self.folder.check_features(block.shard, out[:block.stop - block.start])
            return labels
        features, labels = self.read_block(block)
        out[:len(labels)] = features
        return labels

    def batches(self, batch_size: int = 64, shuffle: bool = False, seed: int = 0, workers: int = 1):
        """Yield dicts of ``features`` (float32, (n, n_mels, n_frames)), ``labels``, ``index`` per batch, and
        each other requested view under its name (a variable-length one zero-padded to the batch's longest,
        with ``<view>_length``; ``views.py``).

        Reads whole blocks (``shuffle``: blocks in a seeded random order, then samples within a pool
        of blocks); ``workers > 1`` reads blocks in that many processes in parallel (started on first
        use, kept until ``close()``). The same seed gives the same batches whatever ``workers`` is.
        """

        if self.views == ("log_mel",):
            yield from stream_batches(self, batch_size, shuffle, seed, workers)
            return
        yield from view_batches(self, batch_size, shuffle, seed, workers)

    def __del__(self) -> None:
        try:
            self.close_pool()
        except Exception:  # interpreter shutdown: the pool may be half torn down already
            pass

    def _handle(self, shard: str):
        if self._pid != os.getpid():  # a new process (a DataLoader worker): never reuse a parent's handles
            self._handles, self._datasets, self._pid = {}, {}, os.getpid()
        handle = self._handles.get(shard)
        if handle is None:
            handle = self._handles[shard] = self.folder.open_shard(shard)
        return handle

    def _features(self, shard: str):
        dataset = self._datasets.get(shard) if self._pid == os.getpid() else None
        if dataset is None:
            dataset = self._datasets[shard] = features_of(self._handle(shard))
        return dataset

    def reader_pool(self, workers: int):
        """Worker processes that read blocks of this dataset, started once and kept until ``close()``."""

        if self._pool is None or self._pool[:2] != (workers, os.getpid()):
            self.close_pool()
            self._pool = (workers, os.getpid(), ReaderPool(self, workers))
        return self._pool[2]

    def close_pool(self) -> None:
        if self._pool is not None and self._pool[1] == os.getpid():  # a forked child does not own its parent's pool
            self._pool[2].close()
        self._pool = None

    def close(self) -> None:
        self.close_pool()
        self.view_rows.close()
        for handle in self._handles.values():
            handle.close()
        self._handles, self._datasets = {}, {}

    def __getstate__(self) -> dict:  # pickled into a worker process: without open handles
        state = dict(self.__dict__)
        state["_handles"], state["_datasets"], state["_pid"], state["_pool"] = {}, {}, None, None
        return state


# Every float16 value as float32, indexed by its bits: a table look-up is twice as fast as numpy's
# own conversion (measured: 44 against 95 us per spectrogram), and exact.
def _join(parts: list, dtype, empty_shape=(0,)) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(empty_shape, dtype)
