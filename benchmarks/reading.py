"""How fast the shards read with the framework-neutral reader: random samples and streamed batches.

    python benchmarks/reading.py SHARDS_DIR [--seconds 3] [--workers 1 2]

Prints samples per second for
- random single-sample reads (``ShardDataset.__getitem__``) in one process, as a plain loop
  reads them, and in two processes at once (each its own dataset), as two DataLoader workers
  read them before torch collates and sends the samples;
- random single-sample reads in 1 and 2 worker processes, as ``torch.utils.data.DataLoader``
  (``num_workers``, ``batch_size=64``, shuffled) delivers them; skipped where torch is absent;
- streamed batches (``ShardDataset.batches``, shuffled) read in this process or in reader processes.

Each figure is the median rate of passes repeated for about ``--seconds`` (at least five),
after one untimed pass that starts the workers and warms the page cache. Targets (issue "The shards for everyone"):
at least 5,000 samples/s on 2 cores, both random and streamed.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aggregate.dataset import ShardDataset  # noqa: E402


def timed(one_pass, seconds: float) -> str:
    """The median rate of repeated passes (``one_pass()`` returns the samples it read), and their range.

    One untimed pass first; then passes until about ``seconds`` have gone by, at least five. The median
    keeps one pass disturbed by another process on a shared machine from deciding the figure.
    """
    one_pass()
    rates, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds or len(rates) < 5:
        begin = time.perf_counter()
        n = one_pass()
        rates.append(n / (time.perf_counter() - begin))
    return f"{statistics.median(rates):8,.0f} samples/s  (passes: {min(rates):,.0f} to {max(rates):,.0f})"


def _reads_for(shards: Path, seconds: float, seed: int) -> tuple[int, float]:
    ds = ShardDataset(shards, split=None, check=False)  # the parent checked the checksums
    picks = np.random.default_rng(seed).permutation(len(ds))
    for i in picks:  # warm-up pass
        ds[int(i)]
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for i in picks:
            ds[int(i)]
        n += len(picks)
    return n, time.perf_counter() - start


def random_reads_in_processes(shards: Path, processes: int, seconds: float) -> str:
    """Samples/s of ``processes`` processes reading at random at once, each with its own dataset."""
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(_reads_for, [shards] * processes, [seconds] * processes, range(processes)))
    rates = [n / elapsed for n, elapsed in results]
    return f"{sum(rates):8,.0f} samples/s  (per process: {', '.join(f'{r:,.0f}' for r in rates)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shards", type=Path)
    parser.add_argument("--seconds", type=float, default=3.0, help="time each figure over about this long")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="reader processes to try")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    ds = ShardDataset(args.shards, split=None)
    storage = ds.folder.storage
    print(f"{len(ds)} samples in {len(ds.folder.shard_names)} shards ({storage.dtype}, {storage.compression}), "
          f"{os.cpu_count()} cores")
    rng = np.random.default_rng(0)

    def random_reads() -> int:
        for i in rng.permutation(len(ds)):
            ds[int(i)]
        return len(ds)

    print(f"random single-sample reads, one process:        {timed(random_reads, args.seconds)}")
    print(f"random single-sample reads, two processes:       {random_reads_in_processes(args.shards, 2, args.seconds)}")
    try:
        import torch
    except ImportError:
        print("random reads through a torch DataLoader: skipped (torch is not installed)")
    else:
        for workers in args.workers:
            loader = torch.utils.data.DataLoader(ds, batch_size=args.batch_size, shuffle=True, num_workers=workers,
                                                 persistent_workers=True)
            rate = timed(lambda: sum(len(batch["sample_id"]) for batch in loader), args.seconds)
            print(f"random reads, DataLoader num_workers={workers}:         {rate}")
    for workers in args.workers:
        rate = timed(lambda: sum(len(b["index"]) for b in ds.batches(args.batch_size, shuffle=True, workers=workers)),
                     args.seconds)
        print(f"streamed batches of {args.batch_size}, {workers} reader process(es):  {rate}")
    ds.close()


if __name__ == "__main__":
    main()
