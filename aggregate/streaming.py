"""Streaming a ShardDataset in batches: whole blocks per HDF5 read, in this process or in several.

h5py holds one lock for every HDF5 call, so threads cannot decompress blocks in parallel;
worker processes can. They are started with "spawn" (never forked: a process that has
TensorFlow or open HDF5 handles must not be forked), once per dataset, and each opens
its own handles. Blocks come back in the order asked for, so a seeded order gives the
same batches whatever the number of workers.
"""
from __future__ import annotations

import multiprocessing
from collections import deque
from concurrent.futures import ProcessPoolExecutor

import numpy as np

_WORKER_DATASET = None  # the dataset, inside a worker process


def stream_batches(ds, batch_size: int, shuffle: bool, seed: int, workers: int):
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    blocks = ds.blocks()
    order = np.random.default_rng(seed).permutation(len(blocks)) if shuffle else np.arange(len(blocks))
    rng = np.random.default_rng(seed + 1)
    pool: list = []  # blocks read but not yet batched: shuffling mixes samples of several blocks
    pool_rows = batch_size * 4 if shuffle else batch_size
    for x, y, index in read_blocks(ds, [blocks[b] for b in order], workers):
        pool.append((x, y, index))
        if sum(len(p[2]) for p in pool) >= pool_rows:
            yield from _batches(pool, batch_size, rng if shuffle else None, keep_rest=True)
    yield from _batches(pool, batch_size, rng if shuffle else None, keep_rest=False)


def read_blocks(ds, blocks: list, workers: int = 1):
    """Yield (features as stored, labels, dataset indices) per block, in the order given."""
    if workers <= 1 or len(blocks) < 2:
        for block in blocks:
            x, y = ds.read_block(block)
            yield x, y, block.first + np.arange(len(block.keep))
        return
    executor = ds.reader_pool(workers)
    window: deque = deque()
    for block in blocks:
        window.append((block, executor.submit(_read_in_worker, block)))
        if len(window) > 2 * workers:  # a few blocks ahead per worker: memory stays at tens of MB
            done, future = window.popleft()
            yield (*future.result(), done.first + np.arange(len(done.keep)))
    while window:
        done, future = window.popleft()
        yield (*future.result(), done.first + np.arange(len(done.keep)))


def start_reader_pool(ds, workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_set_worker_dataset, initargs=(ds,))


def _set_worker_dataset(ds) -> None:
    global _WORKER_DATASET
    _WORKER_DATASET = ds


def _read_in_worker(block):
    return _WORKER_DATASET.read_block(block)


def _batches(pool: list, batch_size: int, rng, keep_rest: bool):
    from .dataset import as_float32

    x = np.concatenate([p[0] for p in pool])
    y = np.concatenate([p[1] for p in pool])
    index = np.concatenate([p[2] for p in pool])
    pool.clear()
    order = rng.permutation(len(index)) if rng is not None else np.arange(len(index))
    full = len(order) // batch_size * batch_size
    for start in range(0, full, batch_size):
        rows = order[start:start + batch_size]
        yield {"features": as_float32(x[rows]), "labels": y[rows].astype(np.float32), "index": index[rows]}
    rest = order[full:]
    if rest.size and keep_rest:
        pool.append((x[rest], y[rest], index[rest]))
    elif rest.size:
        yield {"features": as_float32(x[rest]), "labels": y[rest].astype(np.float32), "index": index[rest]}
