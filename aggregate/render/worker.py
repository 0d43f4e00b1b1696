"""The worker side of the render pool: what runs in each worker process, and nothing more.

Kept apart from ``aggregate.render`` so that a worker imports only numpy and the recipe,
not pandas, pyarrow or h5py.
"""
from __future__ import annotations

import atexit
import ctypes
import gc
import os
import signal
import threading
import time
from dataclasses import dataclass

from threadpoolctl import threadpool_limits

from ..recipe import FeatureConfig

MAX_CHUNK = 64  # clips per task at most: a few MB of features travel back per task
MIN_CHUNK = 4  # clips per task at least: a task costs a few milliseconds besides its clips


@dataclass
class Chunk:
    """One task: consecutive clips of one shard. Plain data, so it travels to any process."""

    shard: int
    first: int  # its first row within the shard
    clips: list[tuple]  # (sample_id, absolute audio path, corpus, bytes, SHA-256 recorded in the manifest)
    views: tuple[str, ...] = ("log_mel",)  # the views to compute for these clips
    whole: bool = True  # a clip failing any view fails (a first render); False: each view on its own (one added)
    max_duration: float | None = None  # the manifest's longest clip, seconds: what a view keeps at most


def start_local_worker(render_process: int) -> None:
    """First thing a worker of this machine's pool runs (loky's initializer): it ignores Ctrl-C (the
    render process stops the pool itself; a worker interrupted would only print a traceback), ends
    with the render process, keeps the memory it frees, and ends quickly when the pool stops."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent(render_process)
    keep_freed_memory()
    # The render process waits for its workers to end. A worker's last garbage collection at exit
    # walks every object numpy, scipy and joblib keep (0.1 s a worker, measured) to free memory the
    # OS frees anyway: frozen, they are left out of it; atexit handlers and finalizers run as always.
    atexit.register(gc.freeze)


def warm_up() -> None:
    """A worker's first task: import the recipe's numerics (scipy, soxr, soundfile: about half a
    second) while the render process reads the manifest."""
    from ..recipe import decode, logmel  # noqa: F401
    from ..views import log_mel  # noqa: F401


def render_chunk(chunk: Chunk, recipe: FeatureConfig, dtype: str, views: dict | None = None,
                 stored: dict | None = None):
    """The views of one chunk (runs in a worker): (shard, first row, {view: {row: value}}, {view: {row: failure}}).

    ``views``: name -> View (default: log_mel of ``recipe``, stored as ``dtype``); ``stored``: name -> what
    it stores. Every view of a clip shares one read of its bytes (``DecodedClip``)."""
    # Here, not at the top: the render process imports this module for ``Chunk`` and never runs
    # the recipe, whose scipy imports cost it 0.2-0.3 s.
    from ..recipe import DecodeError
    from ..views import DecodedClip, Stored
    from ..views.log_mel import LogMel

    keep_freed_memory()  # in every kind of worker: a Dask worker's too
    views = views or {"log_mel": LogMel(recipe)}
    stored = stored or {"log_mel": Stored(recipe.shape, dtype, recipe.scale_min, recipe.scale_max)}
    values = {name: {} for name in chunk.views}
    failed = {name: {} for name in chunk.views}
    # One BLAS thread, in every kind of worker: a second only spins here, and a multi-threaded
    # matrix product sums in another order, which would make shards depend on the machine.
    with threadpool_limits(limits=1):
        for offset, (sample_id, path, corpus, size, sha256) in enumerate(chunk.clips):
            row = chunk.first + offset
            clip = DecodedClip(path, corpus, recipe, (size, sha256), chunk.max_duration)
            for name in chunk.views:
                try:
                    values[name][row] = computed(views[name], clip, stored[name])
                except DecodeError as err:
                    failed[name][row] = err.why
                    if chunk.whole:  # the clip is a failure of every view: no value of it is kept
                        for other in chunk.views:
                            values[other].pop(row, None)
                            failed[other][row] = err.why
                        break
    return chunk.shard, chunk.first, values, failed


def computed(view, clip, stored):
    """One view of one clip, cast to its stored dtype and checked against what it promises: a view's broken
    promise (a NaN, a wrong shape) is that clip's failure, with the reason, never a shard readers refuse."""
    import numpy as np

    from ..errors import DecodeError

    value = np.asarray(view.compute(clip)).astype(stored.dtype, copy=False)
    try:
        stored.check(value, f"view {view.name}")
    except ValueError as err:
        raise DecodeError(clip.path, str(err)) from None
    return value


_MEMORY_KEPT = False


def keep_freed_memory() -> bool:
    """Make glibc keep freed memory in this worker rather than hand it back to the OS.

    A clip allocates and frees a dozen arrays of 1-4 MB. By default glibc unmaps or trims
    such blocks on free, and the next clip page-faults them all back in: measured here,
    that is about half the time of ``render_clip``. It keeps the worker's peak (a few tens
    of MB) resident. ``mallopt`` is glibc's public interface for it. Returns False where it
    does nothing (not glibc).
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


def exit_with_parent(parent: int) -> None:
    """End this worker process soon after ``parent``, the process that started it, dies (even by
    kill -9), or now if it is gone already (it died while this worker was starting).

    A pool's workers otherwise outlive a killed render (seen: half an hour; loky keeps idle workers
    for reuse), and busy ones go on computing for nobody. A daemon thread polls the parent's pid
    once a second: when the parent dies, this process is re-parented and the pid changes.
    """
    global _WATCHED_PARENT
    if _WATCHED_PARENT is not None:
        return
    _WATCHED_PARENT = parent

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGKILL)  # nothing of this worker's is worth finishing: its results have no reader

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
