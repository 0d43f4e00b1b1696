"""``python -m train``: train a model on shards (the default command); evaluate, predict, baseline, benchmark.

Inputs a user can get wrong are checked here before TensorFlow is imported, so a typo
costs one ``error:`` line, not TensorFlow's start-up (which ``train.tf_env`` keeps quiet).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from aggregate.errors import run_command
from aggregate.vocabulary import INDEX_FILE, SPLIT_STRATEGIES

COMMANDS = ("train", "evaluate", "predict", "baseline", "benchmark")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS + ("-h", "--help"):
        argv = ["train", *argv]  # training is the default action
    args = _parser().parse_args(argv)
    return run_command(args.handler, args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m train",
        description="Train a model on rendered shards (the default command), and evaluate, predict, fit "
                    "the baseline or run the leaderboard. See docs/training.md and docs/benchmarks.md.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser("train", help="train a model into a run folder (default)",
                                description="Train on SHARDS and write a run folder: model, config, splits, "
                                            "class weights, history, metrics and plots.",
                                epilog=_models_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    _data_options(train)
    _model_options(train)
    model = train.add_argument_group("the loss and the run")
    model.add_argument("--patience", type=int, default=6,
                       help="with a constant learning rate (paper-cnn): stop after this many epochs without a "
                            "better validation PR-AUC (default: 6)")
    model.add_argument("--class-weights", choices=["auto", "none"], default="auto",
                       help="weigh each emotion in the loss by its rarity in the training split (auto, default) "
                            "or not (none); see docs/training.md")
    model.add_argument("--corpus-balance", choices=["speakers", "equal", "none"], default="speakers",
                       help="give each speaker an equal share of training (speakers, default: a corpus of one "
                            "speaker counts as one voice), each corpus (equal) or each clip (none); see "
                            "docs/benchmarks.md, cross-corpus")
    model.add_argument("--balance-by", choices=["sampling", "loss"], default="sampling",
                       help="how the network gets those shares: each epoch's batches drawn by them (sampling, "
                            "default) or every clip read once an epoch and its loss weighed (loss)")
    model.add_argument("--tune-thresholds", action="store_true",
                       help="pick each emotion's decision threshold on validation (default: 0.5)")
    model.add_argument("--cache", action="store_true", help="keep the decoded splits in memory after epoch 1")
    model.add_argument("--readers", type=int,
                       help="processes that decompress the shards, about 3,000 clips/s each (default: 1 when "
                            "training on the CPU, plenty there; on a GPU one per core but one, up to 4)")
    train.add_argument("--overwrite", action="store_true", help="replace an existing run folder at --out")
    train.add_argument("--resume", action="store_true",
                       help="continue the run interrupted in --out from its last finished epoch (the same command "
                            "line, plus --resume); it ends with the figures an uninterrupted run would have")
    train.add_argument("--json", action="store_true",
                       help="print one JSON object on stdout (run folder, validation and test figures, seconds); "
                            "the text for people goes to stderr")
    train.set_defaults(handler=_run_train)

    baseline = commands.add_parser("baseline", help="logistic regression on per-band statistics: the floor",
                                   description="Fit a logistic regression per emotion on each clip's per-band "
                                               "mean and standard deviation, on the same shards and split.")
    _data_options(baseline)
    baseline.add_argument("--tune-thresholds", action="store_true", help="tune thresholds on validation")
    baseline.set_defaults(handler=_run_baseline)

    evaluate = commands.add_parser("evaluate", help="recompute a run's metrics",
                                   description="Recompute a run's validation and test figures from its model and "
                                               "splits. On the run's own shards they are written back into the run; "
                                               "on other shards (or with --out) into a new folder --out.")
    evaluate.add_argument("run", type=Path, help="a run folder")
    evaluate.add_argument("--shards", type=Path, help="the shards folder, if not where the run found it")
    evaluate.add_argument("--out", type=Path, help="a new folder for the figures (needed with other shards)")
    evaluate.set_defaults(handler=_run_evaluate)

    predict = commands.add_parser("predict", help="probabilities per emotion for audio files",
                                  description="Render each file with the exact feature config of the run's "
                                              "shards and print the probability of each emotion.")
    predict.add_argument("run", type=Path, help="a run folder")
    predict.add_argument("files", type=Path, nargs="+", help="audio files (any format libsndfile reads)")
    predict.add_argument("--corpus", help="apply this corpus's preprocessing (e.g. crema-d: noise reduction)")
    predict.add_argument("--json", action="store_true", help="print JSON")
    predict.set_defaults(handler=_run_predict)

    benchmark = commands.add_parser("benchmark", help="the leaderboard: every model, the baseline and the trivial "
                                                      "predictor over speaker folds",
                                    description="Train every model (or --models) on each of --folds speaker folds, "
                                                "then once on a clip-level random split that leaks speakers, and "
                                                "print mean and spread of UA, WA, macro F1 and mAP. Runs already "
                                                "in --out are reused, so an interrupted benchmark resumes.")
    benchmark.add_argument("--shards", type=Path, required=True, help="a folder written by python -m aggregate render")
    benchmark.add_argument("--out", type=Path, required=True, help="the folder for the run folders and the table")
    benchmark.add_argument("--folds", type=int, default=4, help="speaker folds (default: 4)")
    benchmark.add_argument("--models", help="comma-separated model names (default: all)")
    benchmark.add_argument("--seed-epochs", type=int, default=20,
                           help="epochs of the seeds' models (not the default's), to fit CPU time (default: 20)")
    benchmark.add_argument("--seed", type=int, default=0, help="seed of folds, initialisation and shuffling")
    benchmark.add_argument("--corpus-balance", choices=["speakers", "equal", "none"], default="speakers",
                           help="with --cross-corpus: the training option of that name for every run")
    benchmark.add_argument("--balance-by", choices=["sampling", "loss"], default="sampling",
                           help="with --cross-corpus: the training option of that name for every run")
    benchmark.add_argument("--only-folds", help="with --cross-corpus: run only these speaker folds (e.g. 0,1), "
                                                "a partial matrix; a later run without it reuses them")
    benchmark.add_argument("--seeds", help="with --cross-corpus: train every cell once per seed of this list (e.g. "
                                           "0,1,2; the folds stay --seed's) and print the paired difference that "
                                           "adding corpora makes, with its standard error (default: --seed alone)")
    benchmark.add_argument("--cross-corpus", action="store_true",
                           help="instead: train the default model on each corpus alone and on all together, test "
                                "on each corpus's unseen speakers (folds, or leave-one-corpus-out for a corpus of "
                                "fewer than 4 speakers); print the UA matrix, write it with a heatmap into --out")
    benchmark.set_defaults(handler=_run_benchmark)
    return parser


def _model_options(parser: argparse.ArgumentParser) -> None:
    from .models import DEFAULT_MODEL, MODELS

    model = parser.add_argument_group("model and optimisation (defaults: the model's own; see docs/training.md)")
    model.add_argument("--model", choices=list(MODELS), default=DEFAULT_MODEL, help=f"(default: {DEFAULT_MODEL})")
    model.add_argument("--model-option", action="append", metavar="KEY=VALUE", dest="model_option",
                       help="an option of the model (repeat for several), e.g. --model paper-cnn --model-option "
                            "small=true; each model's options are listed below")
    model.add_argument("--epochs", type=int, help="epochs (default: the model's: 60 for fusion, 20 for paper-cnn)")
    model.add_argument("--batch-size", type=int, help="(default: the model's, mostly 32)")
    model.add_argument("--learning-rate", type=float, help="peak learning rate (default: the model's)")


def _models_epilog() -> str:
    """Each model and its options with their defaults, from the registry (no Keras needed)."""
    from .models import DEFAULT_MODEL, MODELS

    lines = ["models (--model NAME) and their options (--model-option KEY=VALUE; the default shown):"]
    for name, recipe in MODELS.items():
        options = recipe.describe_options()
        default = " (the default)" if name == DEFAULT_MODEL else ""
        lines.append(f"  {name}{default}: {recipe.source}" + ("" if options else "; no options"))
        lines += [f"      {key:<28} {text}" for key, text in options]
    return "\n".join(lines)


def _data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shards", type=Path, required=True, help="a folder written by python -m aggregate render")
    parser.add_argument("--out", type=Path, required=True, help="the run folder to write")
    parser.add_argument("--limit", type=int, help="at most this many clips per split (quick runs)")
    parser.add_argument("--seed", type=int, default=0, help="seed of splits, initialisation and shuffling")
    group = parser.add_argument_group("splits (default: the manifest's split column; see docs/training.md)")
    group.add_argument("--splits", type=Path, help="reuse a splits.csv of an earlier run")
    from aggregate.manifest.split_config import SplitConfig

    defaults = SplitConfig()
    group.add_argument("--split-strategy", choices=SPLIT_STRATEGIES,
                       help="compute the split here instead of using the manifest's (random: clip by clip, "
                            "LEAKS SPEAKERS; only to show how much that inflates figures)")
    group.add_argument("--test-corpus", help="with leave-one-corpus-out: the corpus held out for test")
    group.add_argument("--folds", type=int, default=defaults.folds,
                       help=f"with kfold: how many folds (default: {defaults.folds})")
    group.add_argument("--fold", type=int, default=defaults.fold,
                       help=f"with kfold: which fold is test (default: {defaults.fold}); validation is a ~10%% share of the "
                            "other folds' speakers")


def _check_inputs(args: argparse.Namespace) -> None:
    """What a user can get wrong, checked before TensorFlow loads: one ``error:`` line each."""
    from aggregate.errors import InputError

    for name in ("epochs", "batch_size", "folds", "seed_epochs", "readers"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if getattr(args, "learning_rate", None) is not None and not args.learning_rate > 0:
        raise InputError(f"--learning-rate must be above 0, got {args.learning_rate}")
    shards = getattr(args, "shards", None)
    if shards is not None:
        index = shards / INDEX_FILE
        if not shards.is_dir() or not index.is_file():
            raise InputError(f"{shards} is not a shards folder (no {INDEX_FILE}); write one with "
                             "python -m aggregate render")
        try:
            index.open("rb").close()
        except OSError as error:
            raise InputError(f"{index} cannot be read ({error.strerror}); check its permissions") from None


def _require_tensorflow() -> None:
    """TensorFlow is an extra (cpu or gpu, pyproject.toml): one line saying how to get it."""
    import importlib.util

    from aggregate.errors import InputError

    if importlib.util.find_spec("tensorflow") is None:
        raise InputError("TensorFlow is not installed; install the project with it: pip install -e '.[cpu]' "
                         "(or '.[gpu]' for an NVIDIA GPU on Linux; docs/training.md)")


def _options(args: argparse.Namespace):
    from aggregate.manifest.split_config import SplitConfig

    from .inputs import TrainOptions
    from .models import parse_pairs

    split = None
    if args.split_strategy:
        split = SplitConfig(strategy=args.split_strategy, seed=args.seed, test_corpus=args.test_corpus,
                            folds=args.folds, fold=args.fold)
    model_options = parse_pairs(getattr(args, "model_option", None))
    return TrainOptions(
        shards=args.shards, out=args.out, model=getattr(args, "model", "fusion"), epochs=getattr(args, "epochs", None),
        batch_size=getattr(args, "batch_size", None), learning_rate=getattr(args, "learning_rate", None),
        limit=args.limit, cache=getattr(args, "cache", False), readers=getattr(args, "readers", None),
        class_weights=getattr(args, "class_weights", "auto"),
        corpus_balance=getattr(args, "corpus_balance", "speakers"), balance_by=getattr(args, "balance_by", "sampling"),
        splits=args.splits, split=split,
        tune_thresholds=args.tune_thresholds, patience=getattr(args, "patience", 6), seed=args.seed,
        model_options=model_options, overwrite=getattr(args, "overwrite", False), resume=getattr(args, "resume", False))


def _run_train(args: argparse.Namespace) -> int:
    _check_inputs(args)
    _require_tensorflow()
    from .commands.train import train_run
    from .inputs import recipe_for

    options = _options(args)
    recipe_for(options)  # the model's options, checked before TensorFlow loads
    if not args.json:
        train_run(options)
        return 0
    with contextlib.redirect_stdout(sys.stderr):  # Keras's progress and the report, for people
        results = train_run(options)
    print(json.dumps({"run": str(args.out), **results}))
    return 0


def _run_baseline(args: argparse.Namespace) -> int:
    _check_inputs(args)
    from .commands.baseline import baseline_run

    baseline_run(_options(args))
    return 0


def _run_evaluate(args: argparse.Namespace) -> int:
    _check_inputs(args)
    _require_tensorflow()
    from .commands.evaluate import evaluate_run

    evaluate_run(args.run, args.shards, args.out)
    return 0


def _run_benchmark(args: argparse.Namespace) -> int:
    from aggregate.errors import InputError

    _check_inputs(args)
    if not args.cross_corpus and (args.seeds or args.only_folds):
        raise InputError("--seeds and --only-folds belong to --cross-corpus: add it, or leave them out")
    only = _fold_list(args.only_folds, args.folds) if args.only_folds else None
    seeds = _seed_list(args.seeds) if args.seeds else None
    _require_tensorflow()
    from .commands.benchmark import run_benchmark

    if args.cross_corpus:
        from .commands.cross_corpus import run_cross_corpus

        run_cross_corpus(args.shards, args.out, folds=args.folds, seed=args.seed, corpus_balance=args.corpus_balance,
                         balance_by=args.balance_by, only_folds=only, seeds=seeds)
        return 0
    models = args.models.split(",") if args.models else None
    run_benchmark(args.shards, args.out, folds=args.folds, models=models, seed_epochs=args.seed_epochs, seed=args.seed)
    return 0


def _fold_list(text: str, folds: int) -> list[int]:
    return _number_list(text, "--only-folds", lambda f: 0 <= f < folds, f"different fold numbers from 0 to {folds - 1}")


def _seed_list(text: str) -> list[int]:
    return _number_list(text, "--seeds", lambda s: s >= 0, "different whole numbers of 0 or more")


def _number_list(text: str, option: str, valid, what: str) -> list[int]:
    """``text`` as comma-separated whole numbers, each ``valid`` and none twice; else a one-line refusal."""
    from aggregate.errors import InputError

    try:
        chosen = [int(n) for n in text.split(",")]
    except ValueError:
        chosen = []
    if not chosen or not all(map(valid, chosen)) or len(set(chosen)) != len(chosen):
        raise InputError(f"{option} takes {what} separated by commas, got {text!r}")
    return chosen


def _run_predict(args: argparse.Namespace) -> int:
    _require_tensorflow()
    from .commands.predict import predict_files, prediction_line

    results = predict_files(args.run, args.files, args.corpus)
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    for result in results:
        print(prediction_line(result))
    return 0
