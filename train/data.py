"""The input pipeline: tf.data over a split of the shards, built on ``aggregate.dataset.ShardDataset``.

A split is a ``ShardDataset`` (the framework-neutral reader) of the split's sample ids.
Reading goes block by block (up to 64 contiguous rows of one shard per HDF5 call): h5py
serialises every call behind one lock, so threads cannot decompress in parallel. With
``readers`` > 1, that many processes decompress blocks into shared memory (about 3,000
samples/s each); the default of one reads in this process, which is plenty for a model
trained on the CPU. Blocks come in a new seeded order each epoch; their samples are
interleaved, eight blocks at a time, in parallel, then shuffled in a buffer and batched.
Features stay float16 until the model casts them. ``cache=True`` keeps the decoded split
in memory after epoch 1.
"""
from __future__ import annotations

import numpy as np

from aggregate.dataset import ShardDataset
from aggregate.vocabulary import EMOTIONS
from aggregate.errors import InputError
from aggregate.shards.reading import ShardsFolder
from aggregate.dataset.streaming import read_blocks
from aggregate.dataset.views import ViewRows

SplitData = ShardDataset  # a split, as the training code sees it
SHUFFLE_BUFFER = 1024  # samples


def load_split(folder: ShardsFolder, sample_ids, limit: int | None = None, seed: int = 0,
               views=("log_mel",)) -> ShardDataset:
    """The samples ``sample_ids`` of an open shards folder (``limit``: a seeded subset, for quick runs);
    ``views``: those the model reads (a clip one of them could not compute is left out, with a warning)."""
    wanted = sorted(set(sample_ids) & set(folder.places))
    if limit is not None and len(wanted) > limit:
        wanted = sorted(np.random.default_rng(seed).choice(wanted, size=limit, replace=False))
    return ShardDataset(folder, split=None, sample_ids=wanted, views=views)


def view_arrays(split: ShardDataset, names) -> dict[str, np.ndarray]:
    """Each fixed-shape view of ``names`` (functionals, embeddings: kilobytes a clip) for every clip of the
    split, float32, in the split's order: read once, kept in memory beside the streamed log-mel."""
    rows = ViewRows(split.folder, [n for n in names if n != "log_mel"])
    variable = [n for n, stored in rows.stored.items() if stored.variable]
    if variable:
        raise InputError(f"view {variable[0]} has a length per clip: a model reads it through its own pipeline")
    try:
        return {name: np.stack(values).astype(np.float32) if values else np.zeros((0, *rows.stored[name].shape),
                                                                                  np.float32)
                for name, values in rows.read(split.places).items()}
    finally:
        rows.close()


def epoch_draws(groups, n: int, seed: int) -> np.ndarray:
    """How many times each clip is drawn into one epoch of ``n`` samples in which every group (its value in
    ``groups``: a speaker) has an equal share, give or take one; seeded.

    Stratified, not independent draws: a group of m clips and a share of q gives each clip q // m draws
    and q % m of them, picked at random, one more; a clip of a small group is drawn several times, most
    clips of a big one not at all that epoch (other ones the next)."""
    names, group = np.unique(np.asarray(groups), return_inverse=True)
    rng = np.random.default_rng(seed)
    shares = np.full(len(names), n // len(names))
    shares[rng.choice(len(names), n % len(names), replace=False)] += 1
    draws = np.zeros(len(group), np.int64)
    for g, share in enumerate(shares):
        members = np.flatnonzero(group == g)
        draws[members] = share // len(members)
        draws[rng.choice(members, share % len(members), replace=False)] += 1
    return draws


def iterate_blocks(split: ShardDataset, shuffle_blocks: bool = False, seed: int = 0, readers: int = 1,
                   sample_weights: np.ndarray | None = None, views: dict | None = None,
                   draws: np.ndarray | None = None):
    """Yield (features (n, n_mels, n_frames, 1) as stored, labels (n, 7) uint8[, weights (n,) float32]),
    block by block; weights when ``sample_weights`` (one per clip of the split, in its order) are given;
    with ``views`` ({name: array, one row per clip of the split}) the features are a dict: ``log_mel``
    and each of those views' rows. ``draws`` (``epoch_draws``): each clip that many times, one after the
    other (the shuffle downstream mixes them); a block none of whose clips is drawn is not read.

    A block read by a reader process is a view of shared memory, valid until the next is asked for:
    tf.data copies it into a tensor before it asks.
    """
    blocks = split.blocks()
    order = np.random.default_rng(seed).permutation(len(blocks)) if shuffle_blocks else np.arange(len(blocks))
    if draws is not None:
        order = [b for b in order if draws[blocks[b].first:blocks[b].first + len(blocks[b].keep)].any()]
    for features, labels, index in read_blocks(split, [blocks[b] for b in order], readers):
        if draws is not None:
            features, labels, index = (np.repeat(a, draws[index], axis=0) for a in (features, labels, index))
        x = features[..., None]
        if views:
            x = {"log_mel": x, **{name: values[index] for name, values in views.items()}}
        if sample_weights is None:
            yield x, labels
        else:
            yield x, labels, sample_weights[index]


def batches_per_epoch(split: ShardDataset, batch_size: int) -> int:
    return int(np.ceil(len(split) / batch_size))


def make_dataset(split: ShardDataset, batch_size: int, shuffle: bool, seed: int = 0, cache: bool = False,
                 readers: int = 1, sample_weights: np.ndarray | None = None, epochs: range | None = None,
                 views: dict | None = None, groups: np.ndarray | None = None):
    """A batched, prefetched tf.data.Dataset of (features as stored, labels float32[, weights float32]);
    with ``views`` (``view_arrays``) the features are a dict of the log-mel and those views (a model
    with an input of each name).

    ``readers``: processes that decompress the shards. ``sample_weights``: one per clip of the
    split (Keras weighs each clip's loss by it). Cast the features (``tf.cast``) before computing
    on them in the pipeline; a Keras model casts them itself.

    ``groups`` (training, with ``epochs``): one per clip of the split (its speaker, say); each epoch is then
    as many samples as the split has clips, every group an equal share (``epoch_draws``, seeded by the
    run's seed and the epoch): clips of small groups come several times, of big ones fewer.

    ``epochs`` (training): a range of epoch numbers. The dataset is then every batch of those
    epochs, one epoch after the other, and each epoch's order is a function of (seed, epoch)
    alone, never of how many passes came before: a run resumed at epoch k reads exactly the
    batches an uninterrupted run read from epoch k on. Give Keras
    ``steps_per_epoch=batches_per_epoch(split, batch_size)`` with it. Without ``epochs`` each
    pass over the dataset is one epoch (evaluation).
    """
    import tensorflow as tf

    if len(split) == 0:
        raise InputError("a split with no clips cannot be read; check the split assignment")
    if groups is not None and (epochs is None or cache):
        raise ValueError("groups draw each training epoch anew: they need epochs, and no cache")
    n_mels, n_frames = split.shape
    stored = tf.as_dtype(split.folder.storage.dtype)
    features = tf.TensorSpec((None, n_mels, n_frames, 1), stored)
    if views:
        features = {"log_mel": features, **{name: tf.TensorSpec((None, *values.shape[1:]), tf.float32)
                                            for name, values in views.items()}}
    signature = (features, tf.TensorSpec((None, len(EMOTIONS)), tf.uint8))
    if sample_weights is not None:
        sample_weights = np.asarray(sample_weights, np.float32)
        signature += (tf.TensorSpec((None,), tf.float32),)
    passes = {"n": 0}

    def generator(epoch=None):
        # a new block order each epoch (seeded), so shuffling is not limited to the buffer
        if epoch is None:  # no epoch numbers: count the passes
            passes["n"] += 1
            epoch = passes["n"] - 1
        draws = None if groups is None else epoch_draws(groups, len(split), seed * 1_000_003 + int(epoch))
        yield from iterate_blocks(split, shuffle_blocks=shuffle and not cache, seed=seed + int(epoch) + 1,
                                  readers=readers, sample_weights=sample_weights, views=views, draws=draws)

    def samples(*block):
        return tf.data.Dataset.from_tensor_slices(block)

    def clips(epoch=None):
        # Samples cut out of blocks in parallel: twice as fast as unbatch() (benchmarks/input_pipeline.py).
        # Shuffled, eight blocks take turns, so that consecutive samples come from different blocks;
        # otherwise the split's order is kept (predictions line up with split.sample_ids). Deterministic
        # either way: a seed gives the same batches.
        source = tf.data.Dataset.from_generator(generator, output_signature=signature,
                                                args=() if epoch is None else (epoch,))
        dataset = source.interleave(samples, cycle_length=8 if shuffle else 1, num_parallel_calls=tf.data.AUTOTUNE,
                                    deterministic=True)
        # a known length lets Keras show the epoch's progress and not warn about running out of data
        return dataset.apply(tf.data.experimental.assert_cardinality(len(split)))

    def batched(dataset, shuffle_seed):
        if shuffle:
            # Blocks come in a new order each epoch and eight take turns, so 1,024 samples (114 MB) mix
            # batches well; a bigger buffer costs memory and CPU (measured: 119 us a sample through a
            # full 2,048 buffer, 85 through 512).
            dataset = dataset.shuffle(min(len(split), SHUFFLE_BUFFER), seed=shuffle_seed, reshuffle_each_iteration=True)
        return dataset.batch(batch_size)

    if epochs is None:
        dataset = clips()
        dataset = batched(dataset.cache() if cache else dataset, seed)
    else:
        cached = clips().cache() if cache else None  # read once (in the split's order), shuffled per epoch

        def one_epoch(epoch):  # epoch: a tensor; every seed of the epoch derives from it
            # The shuffle's seed pair is (this function's graph seed, the epoch's): set the graph seed here
            # (a global seed of 0, a run's seed 0, would make TensorFlow compare the tensor seed as a bool).
            tf.random.set_seed(seed + 1)
            return batched(cached if cache else clips(epoch), seed * 1_000_003 + epoch)

        dataset = tf.data.Dataset.range(epochs.start, epochs.stop).flat_map(one_epoch).apply(
            tf.data.experimental.assert_cardinality(len(epochs) * batches_per_epoch(split, batch_size)))
    # Features stay as stored (float16: half the bytes to copy, and to send to a GPU); a Keras model
    # casts its inputs to float32 on entry, exactly. Casting here cost a third of the pipeline's CPU.
    dataset = dataset.map(lambda x, y, *w: (x, tf.cast(y, tf.float32), *w), num_parallel_calls=tf.data.AUTOTUNE,
                          deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


def read_all(split: ShardDataset) -> tuple[np.ndarray, np.ndarray]:
    """The whole split as float32 arrays, in ``split.sample_ids`` order (for the baseline and evaluation)."""
    features = np.empty((len(split), *split.shape), np.float32)
    labels = np.empty((len(split), len(EMOTIONS)), np.float32)
    for batch in split.batches(batch_size=256):
        features[batch["index"]], labels[batch["index"]] = batch["features"], batch["labels"]
    return features, labels
