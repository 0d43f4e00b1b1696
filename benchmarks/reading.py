"""How fast the shards read with the framework-neutral reader: random samples and streamed batches.

    python benchmarks/reading.py SHARDS_DIR [--reads 5000] [--workers 1 2]

Prints random single-sample reads per second (``ShardDataset.__getitem__``, as a PyTorch
DataLoader calls it) and streamed samples per second (``ShardDataset.batches``) in one
process and in worker processes. Targets (issue "The shards for everyone"): at least
5,000 of each on 2 cores. The second pass of each is timed: the first warms the page cache.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aggregate.dataset import ShardDataset  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shards", type=Path)
    parser.add_argument("--reads", type=int, default=5000, help="random reads to time (default 5000)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="reader processes to try")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    ds = ShardDataset(args.shards, split=None)
    storage = ds.folder.storage
    print(f"{len(ds)} samples in {len(ds.folder.shard_names)} shards ({storage.dtype}, {storage.compression}), "
          f"{os.cpu_count()} cores")
    picks = np.random.default_rng(0).integers(0, len(ds), args.reads)
    for _ in range(2):
        start = time.perf_counter()
        for i in picks:
            ds[int(i)]
        rate = len(picks) / (time.perf_counter() - start)
    print(f"random single-sample reads, one process: {rate:8,.0f} samples/s")
    for workers in args.workers:
        for _ in range(2):
            start, n = time.perf_counter(), 0
            for batch in ds.batches(args.batch_size, shuffle=True, seed=0, workers=workers):
                n += len(batch["index"])
            rate = n / (time.perf_counter() - start)
        print(f"streamed batches of {args.batch_size}, {workers} reader process(es): {rate:8,.0f} samples/s")
    ds.close()


if __name__ == "__main__":
    main()
