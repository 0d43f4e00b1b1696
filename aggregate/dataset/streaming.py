"""Streaming a ShardDataset in batches: whole blocks per HDF5 read, in this process or in several.

h5py holds one lock for every HDF5 call, so threads cannot decompress blocks in parallel;
worker processes can. They are started with "spawn" (never forked: a process that has
TensorFlow or open HDF5 handles must not be forked), once per dataset, and each opens
its own handles. A worker decompresses a block straight into a slot of shared memory:
only the labels and a slot number cross the pipe (pickling 7 MB blocks through it cost
more than the reading saved). Blocks come back in the order asked for, so a seeded order
gives the same batches whatever the number of workers.
"""
from __future__ import annotations

import multiprocessing
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from .blocks import ROWS_PER_BLOCK, as_float32

_WORKER = None  # (dataset, slots array, their shared memory), inside a reader process


def stream_batches(ds, batch_size: int, shuffle: bool, seed: int, workers: int):
    """Yield dicts of ``features`` float32, ``labels`` float32 and ``index`` (dataset indices) per batch.

    Blocks are read in a seeded random order (``shuffle``), copied into a pool of four batches,
    and a full pool is dealt out in a seeded random order: one copy into the pool, one into each batch.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    blocks = ds.blocks(ROWS_PER_BLOCK)
    order = np.random.default_rng(seed).permutation(len(blocks)) if shuffle else np.arange(len(blocks))
    rng = np.random.default_rng(seed + 1) if shuffle else None
    capacity = batch_size * 4 if shuffle else batch_size  # rows gathered before batches are dealt
    pool = _Pool(capacity + ROWS_PER_BLOCK, ds.shape, len(ds.emotions))
    for x, y, index in read_blocks(ds, [blocks[b] for b in order], workers):
        n = len(index)
        as_float32(x, out=pool.features[pool.rows:pool.rows + n])
        pool.labels[pool.rows:pool.rows + n], pool.index[pool.rows:pool.rows + n] = y, index
        pool.rows += n
        if pool.rows >= capacity:
            yield from pool.deal(batch_size, rng, keep_rest=True)
    yield from pool.deal(batch_size, rng, keep_rest=False)


class _Pool:
    """Rows read but not yet batched: shuffling mixes the samples of several blocks."""

    def __init__(self, capacity: int, shape: tuple[int, int], n_labels: int):
        self.features = np.empty((capacity, *shape), np.float32)
        self.labels = np.empty((capacity, n_labels), np.float32)
        self.index = np.empty(capacity, np.int64)
        self.rows = 0

    def deal(self, batch_size: int, rng, keep_rest: bool):
        order = rng.permutation(self.rows) if rng is not None else np.arange(self.rows)
        full = len(order) // batch_size * batch_size
        for start in range(0, full, batch_size):
            yield self._take(order[start:start + batch_size])
        rest = order[full:]
        if rest.size and not keep_rest:
            yield self._take(rest)
            rest = rest[:0]
        # the rest moves to the front (fancy indexing copies first, so the rows cannot overlap)
        self.features[:rest.size], self.labels[:rest.size], self.index[:rest.size] = \
            self.features[rest], self.labels[rest], self.index[rest]
        self.rows = rest.size

    def _take(self, rows: np.ndarray) -> dict:
        return {"features": self.features[rows], "labels": self.labels[rows], "index": self.index[rows]}


def read_blocks(ds, blocks: list, workers: int = 1):
    """Yield (features as stored, labels uint8, dataset indices) per block, in the order given.

    With ``workers > 1`` the features are a view of shared memory, valid until the next block
    is asked for: keep a copy, not the view.
    """
    if workers <= 1 or len(blocks) < 2:
        for block in blocks:
            x, y = ds.read_block(block)
            yield x, y, block.first + np.arange(len(block.keep))
        return
    readers = ds.reader_pool(workers)
    free = deque(range(readers.n_slots))
    window: deque = deque()  # (block, slot, future), oldest first
    todo = iter(blocks)
    while True:
        while free:  # keep every slot busy: a few blocks ahead per worker
            block = next(todo, None)
            if block is None:
                break
            slot = free.popleft()
            window.append((block, slot, readers.executor.submit(_read_in_worker, block, slot)))
        if not window:
            return
        block, slot, future = window.popleft()
        labels, n = future.result()
        yield readers.slots[slot, :n], labels, block.first + np.arange(n)
        free.append(slot)  # the consumer has asked for the next block: this slot may be reused


class ReaderPool:
    """Reader processes of one dataset and the shared-memory slots they write blocks into."""

    def __init__(self, ds, workers: int):
        self.n_slots = 4 * workers + 1  # four in flight per worker, one with the consumer
        shape, dtype = (self.n_slots, ROWS_PER_BLOCK, *ds.shape), np.dtype(ds.folder.storage.dtype)
        self.memory = SharedMemory(create=True, size=int(np.prod(shape)) * dtype.itemsize)
        self.slots = np.ndarray(shape, dtype, buffer=self.memory.buf)
        self.executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_start_worker, initargs=(ds, self.memory.name, shape, dtype))

    def close(self) -> None:
        self.executor.shutdown(cancel_futures=True)
        del self.slots  # the view must go before the memory can be closed
        self.memory.close()
        self.memory.unlink()


def _start_worker(ds, memory_name: str, shape: tuple, dtype: np.dtype) -> None:
    global _WORKER
    memory = SharedMemory(name=memory_name)  # kept open as long as this process lives
    _WORKER = (ds, np.ndarray(shape, dtype, buffer=memory.buf), memory)


def _read_in_worker(block, slot: int):
    ds, slots, _ = _WORKER
    labels = ds.read_block_into(block, slots[slot])
    return labels, len(labels)
