"""``python -m train``: train the paper's CNN on shards; evaluate, predict, baseline."""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter hides what matters
# Keras says this of every tf.data input, which is shuffled by the pipeline itself
warnings.filterwarnings("ignore", message="`shuffle=True` was passed")

from aggregate.errors import run_command  # noqa: E402

COMMANDS = ("train", "evaluate", "predict", "baseline")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS + ("-h", "--help"):
        argv = ["train", *argv]  # training is the default action
    args = _parser().parse_args(argv)
    return run_command(args.handler, args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m train",
        description="Train the paper's CNN on rendered shards (the default command), and evaluate, "
                    "predict or fit the baseline. See docs/training.md.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser("train", help="train a model into a run folder (default)",
                                description="Train on SHARDS and write a run folder: model, config, splits, "
                                            "class weights, history, metrics and plots.")
    _data_options(train)
    model = train.add_argument_group("model and optimisation (seed 001, Tables I and II)")
    model.add_argument("--epochs", type=int, default=20, help="at most this many epochs (default: 20)")
    model.add_argument("--batch-size", type=int, default=32, help="(default: 32)")
    model.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's learning rate (default: 0.001)")
    model.add_argument("--bn-momentum", type=float, default=0.9,
                       help="batch-norm momentum (default: 0.9; Keras's 0.99 lags on small data)")
    model.add_argument("--dropout", type=float, default=None, help="dropout of the dense layers (default: 0.3; 0 with --small)")
    model.add_argument("--small", action="store_true", help="a much smaller network, for a quick run on a laptop")
    model.add_argument("--spec-augment", action="store_true", help="SpecAugment-style time/frequency masking")
    model.add_argument("--patience", type=int, default=6,
                       help="stop after this many epochs without a better validation mAP (default: 6)")
    model.add_argument("--class-weights", choices=["auto", "none"], default="auto",
                       help="weight each emotion's positive term by negatives/positives of the training "
                            "split (auto, default) or not (none)")
    model.add_argument("--tune-thresholds", action="store_true",
                       help="pick each emotion's decision threshold on validation (default: 0.5)")
    model.add_argument("--cache", action="store_true", help="keep the decoded splits in memory after epoch 1")
    train.add_argument("--overwrite", action="store_true", help="replace an existing run folder at --out")
    train.set_defaults(handler=_run_train)

    baseline = commands.add_parser("baseline", help="logistic regression on per-band statistics: the floor",
                                   description="Fit a logistic regression per emotion on each clip's per-band "
                                               "mean and standard deviation, on the same shards and split.")
    _data_options(baseline)
    baseline.add_argument("--tune-thresholds", action="store_true", help="tune thresholds on validation")
    baseline.set_defaults(handler=_run_baseline)

    evaluate = commands.add_parser("evaluate", help="recompute a run's metrics")
    evaluate.add_argument("run", type=Path, help="a run folder")
    evaluate.add_argument("--shards", type=Path, help="the shards folder, if not where the run found it")
    evaluate.set_defaults(handler=_run_evaluate)

    predict = commands.add_parser("predict", help="probabilities per emotion for audio files",
                                  description="Render each file with the exact feature config of the run's "
                                              "shards and print the probability of each emotion.")
    predict.add_argument("run", type=Path, help="a run folder")
    predict.add_argument("files", type=Path, nargs="+", help="audio files (any format libsndfile reads)")
    predict.add_argument("--corpus", help="apply this corpus's preprocessing (e.g. crema-d: noise reduction)")
    predict.add_argument("--json", action="store_true", help="print JSON")
    predict.set_defaults(handler=_run_predict)
    return parser


def _data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shards", type=Path, required=True, help="a folder written by python -m aggregate render")
    parser.add_argument("--out", type=Path, required=True, help="the run folder to write")
    parser.add_argument("--limit", type=int, help="at most this many clips per split (quick runs)")
    parser.add_argument("--seed", type=int, default=0, help="seed of splits, initialisation and shuffling")
    group = parser.add_argument_group("splits (default: the manifest's split column; see docs/training.md)")
    group.add_argument("--splits", type=Path, help="reuse a splits.csv of an earlier run")
    group.add_argument("--split-strategy", choices=["speakers", "leave-one-corpus-out", "kfold"],
                       help="compute the split here instead of using the manifest's")
    group.add_argument("--test-corpus", help="with leave-one-corpus-out: the corpus held out for test")
    group.add_argument("--folds", type=int, default=5, help="with kfold: how many folds (default: 5)")
    group.add_argument("--fold", type=int, default=0, help="with kfold: which fold is test (default: 0)")


def _options(args: argparse.Namespace):
    from aggregate.splits import SplitConfig

    from .run import TrainOptions

    split = None
    if args.split_strategy:
        split = SplitConfig(strategy=args.split_strategy, seed=args.seed, test_corpus=args.test_corpus,
                            folds=args.folds, fold=args.fold)
    model = {}
    for name, key in [("learning_rate", "learning_rate"), ("bn_momentum", "batch_norm_momentum"),
                      ("dropout", "dropout"), ("small", "small"), ("spec_augment", "spec_augment")]:
        value = getattr(args, name, None)
        if value is not None:
            model[key] = value
    return TrainOptions(
        shards=args.shards, out=args.out, epochs=getattr(args, "epochs", 20),
        batch_size=getattr(args, "batch_size", 32), limit=args.limit, cache=getattr(args, "cache", False),
        class_weights=getattr(args, "class_weights", "auto"), splits=args.splits, split=split,
        tune_thresholds=args.tune_thresholds, patience=getattr(args, "patience", 6), seed=args.seed, model=model,
        overwrite=getattr(args, "overwrite", False))


def _run_train(args: argparse.Namespace) -> int:
    from .run import train_run

    train_run(_options(args))
    return 0


def _run_baseline(args: argparse.Namespace) -> int:
    from .run import baseline_run

    baseline_run(_options(args))
    return 0


def _run_evaluate(args: argparse.Namespace) -> int:
    from .run import evaluate_run

    evaluate_run(args.run, args.shards)
    return 0


def _run_predict(args: argparse.Namespace) -> int:
    from .run import predict_files

    results = predict_files(args.run, args.files, args.corpus)
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    for result in results:
        probabilities = "  ".join(f"{e} {p:.2f}" for e, p in result["probabilities"].items())
        print(f"{result['file']}: {probabilities}  -> {'|'.join(result['present']) or 'none'}")
    return 0
