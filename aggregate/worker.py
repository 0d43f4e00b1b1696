"""The worker side of the render pool: what runs in each worker process, and nothing more.

Kept apart from ``aggregate.render`` so that a spawned worker imports only numpy and the
recipe, not pandas, pyarrow or h5py: on a small manifest, worker start-up decides whether a
second worker helps at all. For the same reason the recipe's numerics are imported on first
use: the render process imports this module and, with workers, never renders a clip itself.
"""
from __future__ import annotations

import ctypes
import math
import mmap
import os
import signal
import threading
import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from .recipe import FeatureConfig

MAX_CHUNK = 64  # clips per task at most: a few MB of features travel back per task
MIN_CHUNK = 4  # clips per task at least: a task costs a few milliseconds besides its clips


@dataclass
class Chunk:
    """One task: consecutive clips of one shard. Plain data, so it travels to any process."""

    shard: int
    first: int  # its first row within the shard
    clips: list[tuple]  # (sample_id, absolute audio path, corpus, bytes, SHA-256 recorded in the manifest)
    slot: int | None = None  # where a forked worker leaves the features in the pool's Slots (None: send them)


class Slots:
    """Memory shared by the render process and the workers it forks, cut in slots of ``MAX_CHUNK``
    spectrograms: a worker writes a chunk's features into the slot the chunk names, and only their
    places travel back. Pickling them through a pipe instead cost as much CPU as a second worker's
    start (measured: 0.1 s of a 400-clip, 2-worker render's 2.2). Anonymous and mapped before the
    fork, so nothing is named or left behind on any exit."""

    def __init__(self, count: int, shape: tuple[int, int], dtype: str):
        self.shape, self.dtype = (MAX_CHUNK, *shape), np.dtype(dtype)
        self.size = math.prod(self.shape) * self.dtype.itemsize
        self._memory = mmap.mmap(-1, count * self.size, flags=mmap.MAP_SHARED)

    def view(self, slot: int) -> np.ndarray:
        return np.ndarray(self.shape, self.dtype, buffer=self._memory, offset=slot * self.size)

    def close(self) -> None:
        self._memory.close()


_SLOTS: Slots | None = None  # in a forked worker: the pool's shared slots


def render_chunk(chunk: Chunk, recipe: FeatureConfig, dtype: str, local_worker: bool = False):
    """Features of one chunk (runs in a worker): (shard, first row, {row: features}, {row: failure}).
    A chunk with a ``slot`` leaves its features there: then {row: place in the slot} comes back."""
    DecodeError, render_clip = _recipe()
    keep_freed_memory()
    if local_worker:
        exit_with_parent()
    slot = _SLOTS.view(chunk.slot) if chunk.slot is not None else None
    features, failed = {}, {}
    # One BLAS thread, in every kind of worker: a second only spins here, and a multi-threaded
    # matrix product sums in another order, which would make shards depend on the machine.
    with threadpool_limits(limits=1):
        for offset, (sample_id, path, corpus, size, sha256) in enumerate(chunk.clips):
            try:
                clip = render_clip(path, corpus, recipe, expected=(size, sha256))
            except DecodeError as err:
                failed[chunk.first + offset] = err.why
                continue
            if slot is None:
                features[chunk.first + offset] = clip.astype(dtype)
            else:
                slot[offset] = clip  # cast to the slot's dtype as astype casts
                features[chunk.first + offset] = offset
    return chunk.shard, chunk.first, features, failed


def _recipe():
    """The recipe's numerics, imported on first use: the render's main process imports this
    module (for ``Chunk``) and never runs them."""
    from .recipe import DecodeError, render_clip

    return DecodeError, render_clip


def start_forked_worker(recipe: FeatureConfig, slots: Slots) -> None:
    """First thing a worker forked by the local pool (``aggregate.pool``) runs.

    Ctrl-C at a terminal reaches every process of the group: the render process stops the
    pool itself (the chunks being rendered finish, the rest is cancelled), so a worker ignores
    it rather than die with a traceback. The pool forks with SIGINT blocked: none comes before this.
    It watches its parent from the start (a worker waiting for its first chunk would wait forever),
    and imports and warms up the recipe while the render process reads the manifest.
    """
    global _SLOTS
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _SLOTS = slots  # inherited with the fork, not pickled
    exit_with_parent()
    keep_freed_memory()
    _recipe()
    from .recipe import warm_up

    with threadpool_limits(limits=1):
        warm_up(recipe)


_MEMORY_KEPT = False


def keep_freed_memory() -> bool:
    """Make glibc keep freed memory in this worker rather than hand it back to the OS.

    A clip allocates and frees a dozen arrays of 1-4 MB. By default glibc unmaps or trims
    such blocks on free, and the next clip page-faults them all back in: measured here,
    that is about half the time of ``render_clip``. It keeps the worker's peak (a few tens
    of MB) resident. Returns False where it does nothing (not glibc).
    """
    global _MEMORY_KEPT
    if _MEMORY_KEPT:
        return True
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from <malloc.h>
    _MEMORY_KEPT = bool(mallopt(m_mmap_threshold, 32 << 20)) and bool(mallopt(m_trim_threshold, 1 << 30))
    return _MEMORY_KEPT


_WATCHED_PARENT: int | None = None


def exit_with_parent() -> None:
    """End this worker process soon after the process that started it dies (even by kill -9).

    A pool's workers otherwise outlive a killed render and go on computing for nobody.
    A daemon thread polls the parent's pid once a second: when the parent dies, this
    process is re-parented and the pid changes.
    """
    global _WATCHED_PARENT
    if _WATCHED_PARENT is not None:
        return
    _WATCHED_PARENT = parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
