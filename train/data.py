"""The input pipeline: tf.data over a split of the shards, built on ``aggregate.dataset.ShardDataset``.

A split is a ``ShardDataset`` (the framework-neutral reader) of the split's sample ids.
Reading goes block by block (up to 64 contiguous rows of one shard per HDF5 call), in this
process: h5py serialises every call behind one lock, so threads cannot decompress in
parallel, and reader processes (``READERS`` > 1) cost more in passing 7 MB blocks back
than they gain on 2 cores (measured: benchmarks/input_pipeline.py). Whole
blocks cross from Python to TensorFlow and are cut into samples there, and the float16
to float32 cast runs in TensorFlow, in parallel (per-sample crossings and numpy's cast
cost more than the reads). Blocks come in a new seeded order each epoch; samples are
then shuffled in a buffer. ``cache=True`` keeps the decoded split in memory after epoch 1.
"""
from __future__ import annotations

import numpy as np

from aggregate.dataset import ShardDataset
from aggregate.emotions import EMOTIONS
from aggregate.errors import InputError
from aggregate.shards import ShardsFolder
from aggregate.streaming import read_blocks

READERS = 1  # reader processes per split (ShardDataset.batches); more pay off only with cores to spare
SplitData = ShardDataset  # a split, as the training code sees it


def load_split(folder: ShardsFolder, sample_ids, limit: int | None = None, seed: int = 0) -> ShardDataset:
    """The samples ``sample_ids`` of an open shards folder (``limit``: a seeded subset, for quick runs)."""
    wanted = sorted(set(sample_ids) & set(folder.places))
    if limit is not None and len(wanted) > limit:
        wanted = sorted(np.random.default_rng(seed).choice(wanted, size=limit, replace=False))
    return ShardDataset(folder, split=None, sample_ids=wanted)


def iterate_blocks(split: ShardDataset, shuffle_blocks: bool = False, seed: int = 0, readers: int | None = None):
    """Yield (features (n, n_mels, n_frames, 1) as stored, labels (n, 7) uint8), block by block."""
    readers = READERS if readers is None else readers
    blocks = split.blocks()
    order = np.random.default_rng(seed).permutation(len(blocks)) if shuffle_blocks else np.arange(len(blocks))
    for features, labels, _ in read_blocks(split, [blocks[b] for b in order], readers):
        yield features[..., None], labels


def make_dataset(split: ShardDataset, batch_size: int, shuffle: bool, seed: int = 0, cache: bool = False):
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


def read_all(split: ShardDataset) -> tuple[np.ndarray, np.ndarray]:
    """The whole split as float32 arrays, in ``split.sample_ids`` order (for the baseline and evaluation)."""
    features = np.empty((len(split), *split.shape), np.float32)
    labels = np.empty((len(split), len(EMOTIONS)), np.float32)
    for batch in split.batches(batch_size=256, workers=READERS):
        features[batch["index"]], labels[batch["index"]] = batch["features"], batch["labels"]
    return features, labels
