"""Who runs the recipe over a render's chunks: this process, local worker processes, or a Dask cluster.

With ``--jobs 1`` this process renders every chunk itself. With more, local workers are
*forked* from this process where that is safe: a forked worker starts in a millisecond with
everything this process has imported, where a spawned one (joblib's loky) starts a fresh
interpreter and imports numpy, scipy and the recipe again (about 0.7 s, a fifth of a
400-clip render). Fork is not safe, and the pool spawns its workers with loky instead,

- where a Python thread runs besides this one, or TensorFlow, PyTorch or JAX is imported
  (they run thread pools of their own): a lock held by another thread at the fork stays
  held forever in the child, which can hang it;
- outside Linux: macOS's system libraries are not fork-safe (Python spawns there by default).

So the pool forks its workers first, before the caller starts any thread (a progress bar's
monitor). ``--backend dask`` sends the chunks to a Dask cluster through joblib.
"""
from __future__ import annotations

import itertools
import multiprocessing
import signal
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from typing import Iterator

from .errors import InputError
from .recipe import FeatureConfig
from .worker import Chunk, Slots, render_chunk, start_forked_worker

THREADED_FRAMEWORKS = ("tensorflow", "torch", "jax")
IN_FLIGHT_PER_WORKER = 2  # chunks sent ahead per worker: none waits for the next, and results never pile up


@contextmanager
def worker_pool(jobs: int, backend: str = "loky", scheduler: str | None = None,
                recipe: FeatureConfig = FeatureConfig(), dtype: str = "float16") -> Iterator:
    """Start the workers of one render (``recipe``, features stored as ``dtype``) now, and give
    ``results(chunks)``: an iterator over each chunk's result (``render_chunk``'s), in the order
    they finish. Local workers get their first chunks at the call, so they render while the
    caller prepares to take the results. Leaving the block stops the pool: the chunks being
    rendered finish, the others are cancelled."""
    call = partial(render_chunk, recipe=recipe, dtype=dtype)
    if jobs == 1 and backend == "loky":
        yield partial(map, call)
    elif backend == "loky" and fork_is_safe():
        with _ForkedPool(jobs, recipe, dtype) as pool:
            yield partial(pool.results, call)
    elif backend == "loky":
        yield partial(_joblib_results, call, jobs=jobs, backend=backend)
    else:
        with _dask_client(scheduler):
            yield partial(_joblib_results, call, jobs=-1, backend=backend)


def fork_is_safe() -> bool:
    """Whether this process can fork its workers (see the module docstring)."""
    return (sys.platform.startswith("linux") and threading.active_count() == 1
            and not any(name in sys.modules for name in THREADED_FRAMEWORKS))


def _joblib_results(call, chunks: list[Chunk], jobs: int, backend: str):
    from joblib import Parallel, delayed, parallel_config

    with parallel_config(backend=backend, n_jobs=jobs):
        yield from Parallel(return_as="generator_unordered")(
            delayed(call)(chunk, local_worker=backend == "loky") for chunk in chunks)


class _ForkedPool:
    """Fork-started workers, all at once, with a few chunks in flight per worker, each with a slot
    of the shared ``Slots`` to leave its features in."""

    def __init__(self, jobs: int, recipe: FeatureConfig, dtype: str):
        self._window = IN_FLIGHT_PER_WORKER * jobs
        self._slots = Slots(self._window, recipe.shape, dtype)  # before the fork: the workers share it
        self._free = list(range(self._window))
        self._executor = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                                             initializer=start_forked_worker, initargs=(recipe, self._slots))
        # The first task forks every worker: an empty one, so that they start now. SIGINT stays
        # blocked meanwhile: a Ctrl-C reaches this process after the fork, and no worker before it ignores it.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self._executor.submit(int)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def __enter__(self) -> _ForkedPool:
        return self

    def __exit__(self, *exc) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._slots.close()

    def results(self, call, chunks: list[Chunk]) -> Iterator[tuple]:
        todo, running = iter(chunks), {}
        self._top_up(call, todo, running)
        return self._collect(call, todo, running)

    def _top_up(self, call, todo: Iterator[Chunk], running: dict) -> None:
        for chunk in itertools.islice(todo, len(self._free)):
            slot = self._free.pop()
            running[self._executor.submit(call, replace(chunk, slot=slot))] = slot

    def _collect(self, call, todo: Iterator[Chunk], running: dict) -> Iterator[tuple]:
        while True:
            self._top_up(call, todo, running)  # before this process works on the results: no worker waits for it
            if not running:
                return
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                shard, first, features, failed = future.result()
                slot = running.pop(future)
                # Copy the features out, at once: the slot goes to the next chunk.
                block = self._slots.view(slot)[:max(features.values(), default=-1) + 1].copy()
                self._free.append(slot)
                yield shard, first, {row: block[place] for row, place in features.items()}, failed


def _dask_client(scheduler: str | None):
    if not scheduler:
        raise InputError("--backend dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
    try:
        from dask.distributed import Client
    except ImportError:
        raise InputError("--backend dask needs dask.distributed: pip install 'dask[distributed]'") from None
    try:
        return Client(scheduler, timeout=30)
    except (OSError, TimeoutError) as err:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({err})") from None
