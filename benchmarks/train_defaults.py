"""The evidence behind the default model: settings side by side over speaker folds, mean and spread.

Trains each setting of ``SETTINGS`` on every fold of a ``kfold`` split by speaker
(validation from the training folds' speakers) and prints the test split's
single-label UA per fold, its mean and spread, and seconds per fold, next to the
baseline and the trivial predictor (from ``python -m train benchmark``, whose run
folders are reused when ``--out`` is the benchmark's). Figures are printed, not asserted.

    python benchmarks/train_defaults.py SHARDS_DIR --out DIR [--folds 4] [--only fusion,fusion-unweighted]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from aggregate.splits import SplitConfig
from train.commands.benchmark import FIGURES, _run, claim_folder
from train.inputs import TrainOptions

SETTINGS = {  # TrainOptions fields beside shards, out, split and seed
    "trivial": {},
    "baseline": {},
    "fusion": {},
    "fusion-unweighted": {"class_weights": "none"},
    "fusion-30-epochs": {"epochs": 30},
    "paper-cnn": {"model": "paper-cnn"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shards", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="run folders go (and are reused) here")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--only", help="comma-separated setting names")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(SETTINGS)
    claim_folder(args.out)  # the benchmark's folder rules: new, empty, or one a benchmark wrote
    folds = "".join(f"{'fold ' + str(f):>8}" for f in range(args.folds))
    print(f"{'setting':20}{folds}{'mean':>8}{'spread':>8}{'s/fold':>8}")
    for name in names:
        options = dict(SETTINGS[name])
        uas, seconds = [], []
        for fold in range(args.folds):
            split = SplitConfig(strategy="kfold", folds=args.folds, fold=fold)
            run = _run(name, TrainOptions(shards=args.shards, out=args.out / name / f"fold{fold}", split=split,
                                          verbose=0, **options))
            uas.append(FIGURES[0][1](run["test"]))
            seconds.append(run.get("seconds") or 0.0)
        print(f"{name:20}" + "".join(f"{u:8.3f}" for u in uas) + f"{np.mean(uas):8.3f}{np.std(uas):8.3f}"
              f"{np.mean(seconds):8.0f}", flush=True)


if __name__ == "__main__":
    main()
