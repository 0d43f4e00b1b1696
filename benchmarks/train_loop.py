"""What the training loop of ``python -m train`` costs beside a bare ``model.fit`` of the same network.

    python benchmarks/train_loop.py SHARDS_DIR [--epochs 4] [--repeats 2] [--profile]

Both train the default model's network (``--model``, default: the default) on the same
training split (fold 0 of 4 by speaker), batch 32, for ``--epochs`` epochs, each in a
fresh process; the runs take turns (train, bare, train, bare, ...) so that a slow spell
of a shared machine slows both alike. Samples per second over the epochs after the first
(the first builds the graph and fills caches):

* **train**: ``python -m train --epochs N`` itself, as a user runs it (its input pipeline
  from the shards, mixup, metrics, validation every epoch, callbacks); the seconds of each
  epoch come from the run's ``history.csv``;
* **bare**: ``model.fit(x, y)`` on float32 arrays in memory, the same network, loss and
  optimiser, no metrics, no mixup, no validation.

``--profile`` adds runs of the loop with one piece at a time put back onto the bare fit
(the pieces ``train.fit`` adds), to show where a difference goes. Figures are printed, not
asserted; the target (issue 16) is train >= 90 % of bare.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROFILE = {  # what each profile run adds to the bare fit
    "bare+tfdata": "the arrays fed through tf.data (from_tensor_slices) instead of Keras's array adapter",
    "bare+metrics": "PR-AUC and binary accuracy every batch",
    "bare+mixup": "mixup, in tf.data over the arrays (tf.data as bare+tfdata)",
    "bare+determinism": "TensorFlow's op determinism",
    "bare+validation": "validation every epoch",
    "bare+pipeline": "tf.data from the shards instead of arrays",
}


def worker(args) -> None:
    """One run in this process: print one JSON line {"epoch_seconds": [...], "samples": n}."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from train.tf_env import import_tensorflow

    tf = import_tensorflow()  # without its start-up lines
    import keras
    import numpy as np

    from aggregate.manifest.split_config import SplitConfig
    from train.data import make_dataset, read_all
    from train.fit import compile_for, loss_weights, seed_everything, with_mixup
    from train.models import MODELS
    from train.inputs import TrainOptions, load_splits, open_inputs

    options = TrainOptions(shards=args.shards, out=Path("unused"), model=args.model, split=_split())
    shards, clips, _ = open_inputs(options)
    data = load_splits(shards, options, clips)
    recipe = MODELS[args.model]
    pieces = set(args.worker.split("+")[1:])
    if "determinism" in pieces:
        seed_everything(0)
    else:
        keras.utils.set_random_seed(0)
    train = data["train"]
    x, y = read_all(train)
    x = x[..., None]
    inputs = tf.data.Dataset.from_tensor_slices(x).batch(64)
    model = recipe.build(x.shape[1:], 0, inputs)
    batch = args.batch_size or recipe.batch_size
    steps = args.epochs * int(np.ceil(len(x) / batch))
    compile_for(model, recipe, loss_weights(recipe, y, True), steps, recipe.learning_rate)
    if "metrics" not in pieces:  # compile again without them (same optimiser and loss)
        model.compile(optimizer=model.optimizer, loss=model.loss)
    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    if "pipeline" in pieces:
        fit_x = make_dataset(train, batch, shuffle=True, seed=0)
        fit_kwargs = {}
    elif "mixup" in pieces or "tfdata" in pieces:
        dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0).batch(batch)
        if "mixup" in pieces:
            dataset = with_mixup(dataset, recipe.mixup or 0.4, 0)
        fit_x, fit_kwargs = dataset.prefetch(tf.data.AUTOTUNE), {}
    else:
        fit_x, fit_kwargs = x, {"y": y, "batch_size": batch, "shuffle": True}
    if "validation" in pieces:
        fit_kwargs["validation_data"] = make_dataset(data["val"], 64, shuffle=False)
    model.fit(fit_x, epochs=args.epochs, callbacks=[Timer()], verbose=0, **fit_kwargs)
    print(json.dumps({"epoch_seconds": times, "samples": len(x)}))


def _split():
    from aggregate.manifest.split_config import SplitConfig

    return SplitConfig(strategy="kfold", folds=4, fold=0, seed=0)


def run_train(shards: Path, model: str, epochs: int, batch_size: int | None) -> tuple[list[float], int]:
    """``python -m train`` as a user runs it; the seconds of each epoch from its history.csv."""
    with tempfile.TemporaryDirectory(prefix="train_loop_") as tmp:
        out = Path(tmp) / "run"
        command = [sys.executable, "-m", "train", "--shards", str(shards), "--out", str(out), "--model", model,
                   "--epochs", str(epochs), "--split-strategy", "kfold", "--folds", "4", "--fold", "0"]
        if batch_size:
            command += ["--batch-size", str(batch_size)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=_env())
        from train.run_folder import RunFolder

        with open(out / RunFolder.HISTORY, newline="") as handle:
            seconds = [float(row["seconds"]) for row in csv.DictReader(handle)]
        clips = json.loads((out / RunFolder.CONFIG).read_text())["clips"]["train"]
    return seconds, clips


def run_worker(shards: Path, variant: str, model: str, epochs: int, batch_size: int | None):
    command = [sys.executable, __file__, str(shards), "--worker", variant, "--model", model, "--epochs", str(epochs)]
    if batch_size:
        command += ["--batch-size", str(batch_size)]
    result = subprocess.run(command, check=True, capture_output=True, text=True, env=_env())
    record = json.loads(result.stdout.strip().splitlines()[-1])
    return record["epoch_seconds"], record["samples"]


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                TF_CPP_MIN_LOG_LEVEL="3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shards", type=Path)
    parser.add_argument("--model", default="fusion")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run; the first is not timed (default: 4)")
    parser.add_argument("--batch-size", type=int, help="(default: the model's)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each variant, taking turns (default: 2)")
    parser.add_argument("--profile", action="store_true", help="also the bare fit with each piece of the loop added")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch is not timed")
    variants = ["train", "bare"] + (list(PROFILE) if args.profile else [])
    rates: dict[str, list[float]] = {v: [] for v in variants}
    print(f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; {args.model}, {args.epochs} epochs a run "
          f"(the first untimed), {args.repeats} run(s) each, taking turns", flush=True)
    for repeat in range(args.repeats):
        for variant in variants:
            if variant == "train":
                seconds, n = run_train(args.shards, args.model, args.epochs, args.batch_size)
            else:
                seconds, n = run_worker(args.shards, variant, args.model, args.epochs, args.batch_size)
            rate = n * len(seconds[1:]) / sum(seconds[1:])
            rates[variant].append(rate)
            print(f"  run {repeat + 1} {variant:<18} {rate:7.1f} samples/s  ({n} clips; epochs "
                  + ", ".join(f"{s:.1f}" for s in seconds) + f" s; load {os.getloadavg()[0]:.1f})", flush=True)
    bare = statistics.median(rates["bare"])
    print(f"\n{'variant':<18} {'samples/s':>10} {'of bare':>8}  what it adds")
    for variant in variants:
        median = statistics.median(rates[variant])
        what = "python -m train, every default" if variant == "train" else PROFILE.get(variant, "model.fit on arrays")
        print(f"{variant:<18} {median:10.1f} {median / bare:8.0%}  {what}")


if __name__ == "__main__":
    main()
