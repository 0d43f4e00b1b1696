"""Who runs the recipe over a render's chunks: joblib, on local workers or on a Dask cluster.

One code path hands out the chunks: joblib's ``Parallel``. With ``--jobs 1`` it runs them in
this process; with more, in loky worker processes (fresh interpreters, so safe beside threads,
TensorFlow and macOS's libraries); ``--backend dask`` sends them to a Dask cluster through
joblib's dask backend. Results come back in the order they finish; ``aggregate.render`` puts
them in row order, so the bytes of a shard depend on none of this.
"""
from __future__ import annotations

from contextlib import contextmanager, nullcontext
from functools import partial
from typing import Iterator

from ..errors import InputError
from ..recipe import FeatureConfig
from .worker import render_chunk

IN_FLIGHT_PER_WORKER = 2  # chunks sent ahead per worker: none waits for the next, and results never pile up


@contextmanager
def worker_pool(jobs: int, backend: str = "loky", scheduler: str | None = None,
                recipe: FeatureConfig = FeatureConfig(), dtype: str = "float16") -> Iterator:
    """Start the workers of one render (``recipe``, features stored as ``dtype``) now, and give
    ``results(chunks)``: an iterator over each chunk's result (``render_chunk``'s), in the order
    they finish. The workers start at the call, so they import the recipe while the caller reads
    the manifest. Leaving the block stops the pool."""
    from joblib import Parallel, delayed, parallel_config

    call = delayed(partial(render_chunk, recipe=recipe, dtype=dtype, local_worker=backend == "loky" and jobs > 1))
    with (_dask_client(scheduler) if backend == "dask" else nullcontext(),
          parallel_config(backend=backend, n_jobs=jobs if backend == "loky" else -1),
          # batch_size=1: the chunks are sized already (render.chunk_size); joblib must not group them.
          Parallel(batch_size=1, pre_dispatch=f"{IN_FLIGHT_PER_WORKER}*n_jobs",
                   return_as="generator_unordered") as parallel):
        yield lambda chunks: parallel(call(chunk) for chunk in chunks)


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
