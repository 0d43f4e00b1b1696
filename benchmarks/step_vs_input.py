"""Which limits training: the model's step or the input pipeline? Both alone, side by side.

    python benchmarks/step_vs_input.py SHARDS_DIR [--model fusion] [--readers 1 2] [--steps 60]

On whatever device ``python -m train`` would train on (a GPU if TensorFlow sees one;
the line ``device:`` says which), prints samples per second of

* **the training step alone**: ``model.fit`` on one batch already in memory, repeated
  (``--steps`` steps after an untimed epoch that builds the graph): what the device can
  do when input costs nothing;
* **the input pipeline alone**: ``python -m train``'s tf.data over the shards (shuffled,
  batched, mixup where the model has it), iterated without a model, for each number of
  reader processes (``--readers``).

Training runs at about the smaller of the two; if the pipeline's figure is below the
step's, add readers (``python -m train --readers N``). Figures are printed, not asserted.
"""
from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="`shuffle=True` was passed")  # Keras says it of every tf.data input


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shards", type=Path)
    parser.add_argument("--model", default="fusion")
    parser.add_argument("--batch-size", type=int, help="(default: the model's)")
    parser.add_argument("--readers", type=int, nargs="+", help="reader processes to try (default: 1 and the "
                                                               "device's default)")
    parser.add_argument("--steps", type=int, default=60, help="timed training steps (default: 60)")
    args = parser.parse_args()

    from train.tf_env import import_tensorflow

    tf = import_tensorflow()  # without its start-up lines
    import keras
    import numpy as np

    from aggregate.shards.reading import ShardsFolder
    from train.data import load_split, make_dataset
    from train.device import default_readers, describe, gpus
    from train.fit import compile_for, with_mixup
    from train.models import MODELS

    recipe = MODELS[args.model]
    batch = args.batch_size or recipe.batch_size
    folder = ShardsFolder.open(args.shards)
    split = load_split(folder, folder.places)
    on_gpu = bool(gpus())
    readers = args.readers or sorted({1, default_readers(on_gpu)})
    print(f"device: {describe()}; {len(split)} clips ({folder.storage.dtype}, {folder.storage.compression}); "
          f"batch {batch}; load {os.getloadavg()[0]:.1f}")

    # the step alone: one batch in device memory, repeated
    keras.utils.set_random_seed(0)
    stats = make_dataset(split, 64, shuffle=False).take(2).map(lambda x, y: tf.cast(x, tf.float32))
    model = recipe.build(tuple(split.shape) + (1,), 0, stats)
    compile_for(model, recipe, np.ones(7), 10 * args.steps, recipe.learning_rate)
    x, y = next(iter(make_dataset(split, batch, shuffle=True)))
    one = tf.data.Dataset.from_tensors((x, y)).cache().repeat()
    model.fit(one, steps_per_epoch=max(5, args.steps // 4), epochs=1, verbose=0)  # builds the graph
    start = time.perf_counter()
    model.fit(one, steps_per_epoch=args.steps, epochs=1, verbose=0)
    step_rate = args.steps * batch / (time.perf_counter() - start)

    # the pipeline alone, as python -m train builds it
    rates = {}
    for n in readers:
        dataset = make_dataset(split, batch, shuffle=True, seed=0, readers=n)
        if recipe.mixup:
            dtype = tf.as_dtype(folder.storage.dtype) if on_gpu else tf.float32
            dataset = with_mixup(dataset, recipe.mixup, 0, dtype).prefetch(tf.data.AUTOTUNE)
        epochs = max(1, round(3000 / len(split)))  # about 3,000 clips a pass: the steady stream
        dataset = dataset.repeat(epochs)
        for _ in dataset.take(4):  # starts the readers
            pass
        start = time.perf_counter()
        count = sum(int(xb.shape[0]) for xb, _ in dataset)
        rates[n] = count / (time.perf_counter() - start)
    split.close()

    print(f"{'training step alone':<34} {step_rate:10,.0f} samples/s")
    for n, rate in rates.items():
        print(f"{f'input pipeline alone, {n} reader(s)':<34} {rate:10,.0f} samples/s")
    best = max(rates.values())
    print("limit: " + ("the step (the pipeline keeps up)" if best >= step_rate else
                       "the input pipeline: add --readers, or shards with --compression none"))


if __name__ == "__main__":
    main()
