"""The input pipeline: tf.data over the HDF5 shards, one split at a time.

Reading is planned from the index: the rows of the requested split are grouped
into contiguous blocks of one shard; each pass opens its own file handles (in
the thread tf.data runs it in, never inherited across a fork), reads a block in
one call, keeps the split's rows, and yields them. Streams by default; with
``cache=True`` the decoded split stays in memory after the first epoch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aggregate.emotions import EMOTIONS
from aggregate.errors import InputError
from aggregate.shards import ShardsFolder
from aggregate.shards.h5 import read_block

BLOCK_ROWS = 64  # rows read per call: contiguous reads, and memory stays at a few MB


@dataclass
class SplitData:
    """Where one split's samples are, and their labels in reading order (unshuffled)."""

    folder: ShardsFolder
    blocks: list[tuple[str, int, int, np.ndarray]]  # (shard name, start, stop, rows kept within the block)
    sample_ids: list[str]
    labels: np.ndarray  # (N, 7) uint8
    corpora: list[str]
    shape: tuple[int, int]

    def __len__(self) -> int:
        return len(self.sample_ids)


def load_split(folder: ShardsFolder, sample_ids, limit: int | None = None, seed: int = 0) -> SplitData:
    """Plan the reading of ``sample_ids`` from an open shards folder (``limit``: a seeded subset, for quick runs)."""
    places = folder.places
    wanted = sorted(set(sample_ids) & set(places))
    if limit is not None and len(wanted) > limit:
        rng = np.random.default_rng(seed)
        wanted = sorted(rng.choice(wanted, size=limit, replace=False))
    by_shard: dict[str, list[int]] = {}
    for sample_id in wanted:
        shard, row = places[sample_id]
        by_shard.setdefault(shard, []).append(row)

    blocks, ids, labels, corpora = [], [], [], []
    for shard in sorted(by_shard):
        rows = np.array(sorted(by_shard[shard]))
        columns = folder.columns(shard)
        shard_ids, shard_labels, shard_corpora = columns["sample_id"], columns["labels"], columns["corpus"]
        for start in range(0, int(rows.max()) + 1, BLOCK_ROWS):
            inside = rows[(rows >= start) & (rows < start + BLOCK_ROWS)]
            if inside.size:
                stop = int(inside.max()) + 1
                blocks.append((shard, start, stop, inside - start))
                ids += list(shard_ids[inside])
                labels.append(shard_labels[inside])
                corpora += list(shard_corpora[inside])
    shape = folder.shape
    stacked = np.concatenate(labels) if labels else np.zeros((0, len(EMOTIONS)), np.uint8)
    return SplitData(folder, blocks, ids, stacked, corpora, shape)


def iterate_blocks(split: SplitData, shuffle_blocks: bool = False, seed: int = 0):
    """Yield (features (n, n_mels, n_frames, 1) as stored (float16), labels (n, 7) uint8), block by block."""
    order = np.arange(len(split.blocks))
    if shuffle_blocks:
        np.random.default_rng(seed).shuffle(order)
    handles = {}  # opened here, in the reading thread, and closed at the end
    try:
        for b in order:
            shard, start, stop, keep = split.blocks[b]
            if shard not in handles:
                handles[shard] = split.folder.open_shard(shard)
            features, labels = read_block(handles[shard], start, stop)
            yield features[keep][..., None], labels[keep]
    finally:
        for handle in handles.values():
            handle.close()


def make_dataset(split: SplitData, batch_size: int, shuffle: bool, seed: int = 0, cache: bool = False):
    """A batched, prefetched tf.data.Dataset of (features, labels) over one split."""
    import tensorflow as tf

    if len(split) == 0:
        raise InputError("a split with no clips cannot be read; check the split assignment")
    n_mels, n_frames = split.shape
    stored = tf.as_dtype(split.folder.storage.dtype)
    signature = (tf.TensorSpec((None, n_mels, n_frames, 1), stored),
                 tf.TensorSpec((None, len(EMOTIONS)), tf.uint8))
    epoch = {"n": 0}

    def generator():
        # a new block order each epoch (seeded), so shuffling is not limited to the buffer
        epoch["n"] += 1
        yield from iterate_blocks(split, shuffle_blocks=shuffle and not cache, seed=seed + epoch["n"])

    # Whole blocks cross from Python to TensorFlow, then split into samples: per-sample crossings
    # cost more than reading (measured: 860 samples/s per sample, several thousand per block).
    # float16 -> float32 in TensorFlow, in parallel: numpy's conversion is slower than the reads.
    dataset = tf.data.Dataset.from_generator(generator, output_signature=signature).map(
        lambda x, y: (tf.cast(x, tf.float32), tf.cast(y, tf.float32)), num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.unbatch()
    # a known length lets Keras show the epoch's progress and not warn about running out of data
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(split)))
    if cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(min(len(split), 2048), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def read_all(split: SplitData) -> tuple[np.ndarray, np.ndarray]:
    """The whole split as arrays, in ``split.sample_ids`` order (for the baseline and evaluation)."""
    features = np.empty((len(split), *split.shape), np.float32)
    labels = np.empty((len(split), len(EMOTIONS)), np.float32)
    row = 0
    for x, y in iterate_blocks(split):
        features[row:row + len(x)], labels[row:row + len(x)] = x[..., 0], y  # numpy casts on assignment
        row += len(x)
    return features, labels
