"""How fast the tf.data pipeline of ``python -m train`` streams the shards.

    python benchmarks/input_pipeline.py SHARDS_DIR [--batch-size 32] [--readers 1 2]

Prints samples per second for a shuffled, batched, prefetched pass over all rendered
clips with each number of reader processes (``python -m train --readers``; the median
of five passes after an untimed one that starts the readers and warms the page cache),
and passes from the in-memory cache (--cache). A pass streams the split several times
back to back (``--epochs``; by default about 3,000 clips), so that a small split measures
the steady stream rather than the pipeline filling and draining. Target (issue "The shards for everyone"): at least 5,000 samples/s
streaming lzf shards on 2 cores. Figures are printed, not asserted.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from aggregate.shards.reading import ShardsFolder  # noqa: E402
from train.data import load_split, make_dataset  # noqa: E402


def rate(dataset, n: int) -> float:
    start = time.perf_counter()
    for _ in dataset:
        pass
    return n / (time.perf_counter() - start)


def median_rate(dataset, n: int, passes: int = 5) -> str:
    """The median of several passes: one pass disturbed by another process does not decide the figure."""
    rates = [rate(dataset, n) for _ in range(passes)]
    return f"{statistics.median(rates):8,.0f} samples/s  (passes: {min(rates):,.0f} to {max(rates):,.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shards", type=Path)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--readers", type=int, nargs="+", default=[1, 2], help="reader processes to try")
    parser.add_argument("--epochs", type=int, default=0,
                        help="epochs streamed back to back per timed pass (default: enough for 3,000 clips)")
    args = parser.parse_args()
    folder = ShardsFolder.open(args.shards)
    split = load_split(folder, folder.places)
    n = len(split)
    # An epoch of a few blocks is mostly the pipeline filling and draining: a pass streams enough
    # epochs back to back for about 3,000 clips, as one epoch of a split that size would.
    epochs = args.epochs or max(1, round(3000 / n))
    print(f"{n} clips in {len(split.blocks())} blocks ({folder.storage.dtype}, {folder.storage.compression}), "
          f"{os.cpu_count()} cores; {epochs} epoch(s) per timed pass")
    for readers in args.readers:
        dataset = make_dataset(split, args.batch_size, True, readers=readers).repeat(epochs)
        rate(dataset, n * epochs)
        print(f"streaming, {readers} reader process(es): {median_rate(dataset, n * epochs)}")
    cached = make_dataset(split, args.batch_size, True, cache=True)
    rate(cached, n)  # fills the cache
    print(f"from the cache:                  {median_rate(cached, n)}")
    split.close()


if __name__ == "__main__":
    main()
