"""How fast the tf.data pipeline feeds training: alone, and next to a training step.

    python benchmarks/input_pipeline.py SHARDS_DIR [--batch-size 32] [--small]

Prints samples per second for: one streaming pass over all rendered clips
(shuffled, batched, prefetched), a second pass from the in-memory cache
(--cache), and an epoch of training with the pipeline feeding the model.
Figures are printed, not asserted.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from aggregate.shards import read_index  # noqa: E402
from train.data import load_split, make_dataset  # noqa: E402


def rate(dataset, n: int) -> float:
    start = time.perf_counter()
    for _ in dataset:
        pass
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shards", type=Path)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--small", action="store_true", help="time the small model instead of the paper's")
    args = parser.parse_args()
    split = load_split(args.shards, read_index(args.shards)["samples"])
    n = len(split)
    print(f"{n} clips in {len(split.blocks)} blocks")
    print(f"pipeline alone, streaming:        {rate(make_dataset(split, args.batch_size, True), n):8,.0f} samples/s")
    cached = make_dataset(split, args.batch_size, True, cache=True)
    rate(cached, n)  # fills the cache
    print(f"pipeline alone, from the cache:   {rate(cached, n):8,.0f} samples/s")

    import numpy as np

    from train.fit import compile_for
    from train.models import MODELS
    from train.models.paper_cnn import ModelConfig, build_model

    model = build_model(ModelConfig(input_shape=(*split.shape, 1), small=args.small))
    compile_for(model, MODELS["paper-cnn"], np.ones(7), steps=1, learning_rate=1e-3)
    dataset = make_dataset(split, args.batch_size, True)
    model.fit(dataset.take(2), epochs=1, verbose=0)  # builds and compiles the step function
    start = time.perf_counter()
    model.fit(dataset, epochs=1, verbose=0)
    print(f"training ({'small' if args.small else 'paper'} model) fed by the pipeline: "
          f"{n / (time.perf_counter() - start):8,.0f} samples/s")


if __name__ == "__main__":
    main()
