"""Who runs the recipe over a render's chunks: joblib, on local workers or on a Dask cluster.

One code path hands out the chunks: joblib's ``Parallel``. With ``--jobs 1`` it runs them in
this process; with more, in loky worker processes (fresh interpreters, so safe beside threads,
TensorFlow and macOS's libraries); ``--backend dask`` sends them to a Dask cluster through
joblib's dask backend. Results come back in the order they finish; ``run.py`` puts them in
row order, so the bytes of a shard depend on none of this.
"""
from __future__ import annotations

import os
import signal
import threading
import warnings
from contextlib import ExitStack, contextmanager
from functools import partial
from typing import Iterator

from joblib import Parallel, delayed, parallel_config

from ..errors import InputError
from ..recipe import FeatureConfig
from .worker import Chunk, render_chunk, start_local_worker, warm_up

IN_FLIGHT_PER_WORKER = 2  # chunks sent ahead per worker: none waits for the next, and results never pile up


@contextmanager
def worker_pool(jobs: int, backend: str = "loky", scheduler: str | None = None,
                recipe: FeatureConfig = FeatureConfig(), dtype: str = "float16", **views) -> Iterator:
    """The pool of one render (``recipe``, features stored as ``dtype``, ``views``: the other arguments of
    ``render_chunk``): gives ``results(chunks)``, an iterator over each chunk's result (``render_chunk``'s)
    in the order they finish. Local workers start at the call. Leaving the block stops the pool."""
    call = delayed(partial(render_chunk, recipe=recipe, dtype=dtype, **views))
    with ExitStack() as stack:
        # A stopped render (Ctrl-C, a failure) cancels the chunks not yet rendered on purpose: joblib's
        # warning that it did would be a second line after the one that says what happened.
        stack.enter_context(warnings.catch_warnings())
        warnings.filterwarnings("ignore", message=r".*tasks which were still being processed", category=UserWarning)
        if backend == "dask":
            stack.enter_context(_dask_client(scheduler))
            stack.enter_context(parallel_config(backend="dask", n_jobs=-1))
        else:
            stack.enter_context(parallel_config(backend="loky", n_jobs=jobs, initializer=start_local_worker,
                                                initargs=(os.getpid(),)))
        local = backend == "loky" and jobs > 1
        # batch_size=1: the chunks are sized already (render.chunk_size); joblib must not group them.
        parallel = stack.enter_context(Parallel(batch_size=1, pre_dispatch=f"{IN_FLIGHT_PER_WORKER}*n_jobs",
                                                return_as="generator_unordered"))
        with _ctrl_c_blocked():  # the workers start here, and loky's resource tracker
            # Local workers start with their first tasks: these, so that they import the recipe while
            # the caller reads the manifest, before it starts threads of its own (pyarrow's).
            warming = parallel(delayed(warm_up)() for _ in range(jobs)) if local else iter(())

        streams = [warming]  # closed when the pool stops, under the filter above, even if never read
        stack.callback(lambda: [stream.close() for stream in streams if hasattr(stream, "close")])

        def results(chunks: list[Chunk]) -> Iterator[tuple]:
            for _ in warming:  # joblib runs one call at a time
                pass
            streams.append(parallel(call(chunk) for chunk in chunks))
            return streams[-1]

        yield results


@contextmanager
def _ctrl_c_blocked() -> Iterator[None]:
    """Ctrl-C at a terminal reaches every process of the group: the render process stops the pool
    itself (joblib ends the workers), so a worker must not die of it first, printing a traceback or
    a "Fatal Python error" while it is still starting. Loky starts a process with no signal blocked
    but keeps what is ignored: SIGINT is ignored while the workers start, and they go on ignoring it
    (``worker.start_local_worker``). Meanwhile it is also blocked in this thread and in the threads
    joblib starts (they keep the block): a blocked signal is held, not dropped, so a Ctrl-C that
    comes meanwhile reaches this thread once the handler is back and the block lifted. Only the main
    thread may change a handler: elsewhere (no terminal's Ctrl-C to share) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


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
