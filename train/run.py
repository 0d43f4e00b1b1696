"""What ``python -m train`` does: train a run, evaluate it, predict with it, fit the baseline.

A run folder holds everything needed to trust and reuse a result::

    config.json          every option, the model and its source, the shards' feature config and hash,
                         the split config, and after training: best epoch, epochs run, seconds
    splits.csv           sample_id, speaker, corpus, split: reuse with --splits
    class_weights.json   the loss's weight per emotion (training split only)
    model.keras          the trained model (its input: the stored log-mel)
    history.csv          per-epoch losses and metrics
    thresholds.json      per-emotion decision thresholds (0.5, or tuned on validation)
    metrics_val.json, metrics_test.json, report.txt (opens with a header saying what ran)
    predictions.csv      sample_id, corpus, speaker, split, truth, a probability per emotion
    curves.png, confusion_test.png, per_corpus_test.png
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from aggregate.emotions import EMOTIONS
from aggregate.errors import InputError
from aggregate.shards import ShardsFolder
from aggregate.splits import (SplitConfig, assign_splits, check_speaker_disjoint, read_splits, require_nonempty,
                              split_table, summarize_splits, write_splits)

from .data import SplitData, load_split, make_dataset
from .metrics import evaluate, format_report, tune_thresholds
from .names import DEFAULT_MODEL, check_model_options
from .run_folder import RunFolder


@dataclass
class TrainOptions:
    shards: Path
    out: Path
    model: str = DEFAULT_MODEL  # a name of train.models.MODELS
    epochs: int | None = None  # None: the model's recipe's
    batch_size: int | None = None
    learning_rate: float | None = None
    limit: int | None = None  # at most this many clips per split: quick runs
    cache: bool = False
    readers: int | None = None  # processes that decompress shards for the training pipeline; None: by device
    class_weights: str = "auto"  # "auto" | "none"
    corpus_balance: str = "none"  # "equal": each corpus weighs the same in the loss | "none"
    splits: Path | None = None  # reuse a splits.csv
    split: SplitConfig | None = None  # None: the manifest's split column
    tune_thresholds: bool = False
    patience: int = 6
    seed: int = 0
    overwrite: bool = False
    model_options: dict = field(default_factory=dict)  # options of the model's build (paper-cnn's)
    verbose: int | None = None  # Keras's; None: a progress bar on a terminal, a line per epoch in logs

    @property
    def speaker_disjoint(self) -> bool:
        return self.split is None or self.split.speaker_disjoint


def _splits_for(shards: ShardsFolder, options: TrainOptions) -> tuple[pd.DataFrame, dict]:
    """The split of every rendered clip: from a file, the manifest's column, or computed here."""
    manifest = shards.manifest()
    rendered = set(shards.places)
    clips = manifest.clips[manifest.clips["sample_id"].isin(rendered)].reset_index(drop=True)
    if options.splits is not None:
        table = read_splits(options.splits)  # a reused file must be speaker-disjoint, whatever --split-strategy says
        clips = clips.drop(columns="split", errors="ignore").merge(table[["sample_id", "split"]], on="sample_id", how="inner")
        source = {"from_file": str(options.splits)}
    elif options.split is None and "split" in clips and clips["split"].notna().all():
        source = {"from_manifest": manifest.meta.get("split", {})}
    else:
        config = options.split or SplitConfig(seed=options.seed)
        clips["split"] = assign_splits(clips, config)
        source = config.to_dict()
    if options.splits is not None or options.speaker_disjoint:
        check_speaker_disjoint(clips, clips["split"])  # a leak here would make every figure a lie
    else:  # --split-strategy random: the leak is the point (see aggregate.splits)
        print("warning: --split-strategy random puts each speaker's clips in several splits: "
              "its figures are inflated, never report them as speaker-independent", file=sys.stderr)
    require_nonempty(clips["split"], needed=("train", "val", "test"))
    return clips, source


def _load_splits(shards: ShardsFolder, options: TrainOptions, clips: pd.DataFrame) -> dict[str, SplitData]:
    """Plan the reading of each split (a seeded subset of each with --limit)."""
    return {name: load_split(shards, clips.loc[clips["split"] == name, "sample_id"],
                             limit=options.limit, seed=options.seed) for name in ("train", "val", "test")}


def _recipe(options: TrainOptions):
    from .models import MODELS

    check_model_options(options.model, options.model_options)
    return MODELS[options.model]


def open_inputs(options: TrainOptions) -> tuple[ShardsFolder, pd.DataFrame, dict]:
    """The shards (every checksum checked once, before use) and each clip's split: all checked before
    anything is written."""
    shards = ShardsFolder.open(options.shards, progress=True)
    clips, split_source = _splits_for(shards, options)
    return shards, clips, split_source


def train_run(options: TrainOptions) -> dict:
    """Train a model, evaluate it on validation and test, write the run folder."""
    check_model_options(options.model, options.model_options)
    shards, clips, split_source = open_inputs(options)
    run = RunFolder.create(options.out, options.overwrite)  # inputs are checked: only now is --out touched
    from .fit import loss_weights, planned_epochs, train_model  # TensorFlow loads here, after every check
    from .report import plot_history

    recipe = _recipe(options)
    table = split_table(clips, clips["split"])
    run.write(RunFolder.SPLITS, lambda tmp: write_splits(table, tmp, speaker_disjoint=options.speaker_disjoint))
    print(summarize_splits(clips, clips["split"]))

    data = _load_splits(shards, options, clips)
    weights = loss_weights(recipe, data["train"].labels, options.class_weights == "auto")
    run.write_json(RunFolder.CLASS_WEIGHTS, dict(zip(EMOTIONS, map(float, weights))))
    print(f"{'positive-class' if recipe.output == 'sigmoid' else 'emotion'} weights (training split): "
          + ", ".join(f"{e} {w:.2f}" for e, w in zip(EMOTIONS, weights)))
    batch_size = options.batch_size or recipe.batch_size
    epochs = options.epochs or planned_epochs(recipe, len(data["train"]), batch_size)
    learning_rate = options.learning_rate or recipe.learning_rate
    config = {
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items() if k != "split"},
        "split": split_source,
        "model": {"name": options.model, "source": recipe.source, "output": recipe.output, "schedule": recipe.schedule,
                  "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate, "mixup": recipe.mixup,
                  "options": options.model_options},
        "shards": str(shards.path.resolve()), "feature_config_hash": shards.recipe_hash,
        "feature_config": shards.index["feature_config"], "emotions": list(EMOTIONS),
        "clips": {name: len(split) for name, split in data.items()},
    }
    run.write_json(RunFolder.CONFIG, config)

    start = time.perf_counter()
    try:
        model, history, best = train_model(
            recipe, data, run.path, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
            weights=weights, patience=options.patience, seed=options.seed, cache=options.cache,
            readers=options.readers, model_options=options.model_options,
            corpus_balance=options.corpus_balance == "equal",
            verbose=options.verbose if options.verbose is not None else (1 if sys.stdout.isatty() else 2))
    except InputError:
        raise
    except Exception as err:  # a shard that vanished or broke mid-run surfaces here, deep in tf.data
        raise _reading_error(shards, err) from None
    seconds = round(time.perf_counter() - start, 1)
    run.adopt(RunFolder.HISTORY)
    run.save_model(model)
    run.write(RunFolder.CURVES, lambda tmp: plot_history(history, Path(tmp)))
    config["trained"] = {"best_epoch": best, "epochs_run": len(history["loss"]), "seconds": seconds}
    run.write_json(RunFolder.CONFIG, config)
    results = _evaluate_and_write(model, data["val"], data["test"], run, options.tune_thresholds, config, clips)
    results["seconds"] = seconds
    return results


def _reading_error(shards: ShardsFolder, err: Exception) -> Exception:
    """One line for a shard that stopped being readable during training; anything else is a bug: re-raise."""
    text = str(err)
    broken = [name for name in shards.shard_names if name in text]
    if broken or isinstance(err, OSError) or "HDF5" in text or "h5py" in text:
        where = shards.path / broken[0] if broken else shards.path
        return InputError(f"{where} could not be read during training ({text.splitlines()[0][:160] if text else err!r}); "
                          f"run `python -m aggregate verify {shards.path}` and re-render or fetch the shards")
    return err


def _scores(model, split: SplitData, batch_size: int = 64) -> np.ndarray:
    return model.predict(make_dataset(split, batch_size, shuffle=False), verbose=0)


def _evaluate_and_write(model, val: SplitData, test: SplitData, run: RunFolder, tune: bool, config: dict,
                        clips: pd.DataFrame) -> dict:
    from .report import plot_confusions, plot_per_corpus

    val_scores, test_scores = _scores(model, val), _scores(model, test)
    thresholds = tune_thresholds(val.labels, val_scores) if tune else np.full(len(EMOTIONS), 0.5)
    run.write_json(RunFolder.THRESHOLDS, dict(zip(EMOTIONS, map(float, thresholds))))
    results = {}
    for name, split, scores in [("val", val, val_scores), ("test", test, test_scores)]:
        metrics = evaluate(split.labels, scores, thresholds, split.corpora)
        run.write_json(RunFolder.METRICS_VAL if name == "val" else RunFolder.METRICS_TEST, metrics)
        results[name] = metrics
    speakers = clips.set_index("sample_id")["speaker"]
    table = predictions_table({"val": (val, val_scores), "test": (test, test_scores)}, speakers)
    run.write(RunFolder.PREDICTIONS, lambda tmp: table.to_csv(tmp, index=False))
    run.write(RunFolder.CONFUSION, lambda tmp: plot_confusions(test.labels, test_scores >= thresholds, Path(tmp),
                                                               "test split"))
    run.write(RunFolder.PER_CORPUS, lambda tmp: plot_per_corpus(results["test"], Path(tmp), "test split, per corpus"))
    text = (f"{run_header(config)}\n\nvalidation\n{format_report(results['val'])}\n\n"
            f"test\n{format_report(results['test'])}\n")
    run.write_text(RunFolder.REPORT, text)
    print(text)
    print(f"run folder: {run.path} (report.txt, metrics_*.json, predictions.csv, *.png, model.keras)")
    return results


def run_header(config: dict) -> str:
    """What ran, in five lines: model, shards, split, best epoch and epochs run, duration."""
    model, trained, split = config["model"], config.get("trained", {}), config["split"]
    if "strategy" in split:
        how = split["strategy"] + (f" fold {split['fold']} of {split['folds']}" if split["strategy"] == "kfold" else "")
        how += f", seed {split['seed']}" + (" (LEAKS SPEAKERS)" if split["strategy"] == "random" else "")
    elif "from_file" in split:
        how = f"from {split['from_file']}"
    else:
        how = "the manifest's split column"
    clips = ", ".join(f"{name} {n}" for name, n in config["clips"].items())
    return "\n".join([
        f"model:    {model['name']} [{model['source']}]; {model['output']} output, {model['schedule']} schedule",
        f"shards:   {config['shards']} (feature config {config['feature_config_hash'][:12]})",
        f"split:    {how}; clips: {clips}",
        f"epochs:   best {trained.get('best_epoch', '?')} of {trained.get('epochs_run', '?')} run "
        f"(at most {model['epochs']})",
        f"duration: {trained.get('seconds', '?')} s of training"])


def predictions_table(splits: dict[str, tuple[SplitData, np.ndarray]], speakers: pd.Series) -> pd.DataFrame:
    """One row per clip: sample_id, corpus, speaker, split, truth (emotions joined by '|'),
    then a probability per emotion."""
    frames = []
    for name, (split, scores) in splits.items():
        frame = pd.DataFrame({"sample_id": split.sample_ids, "corpus": split.corpora,
                              "speaker": speakers.reindex(split.sample_ids).to_numpy(), "split": name,
                              "truth": ["|".join(e for e, v in zip(EMOTIONS, row) if v) for row in split.labels]})
        frame[list(EMOTIONS)] = np.round(scores, 6)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _load_run(run: Path, shards: Path | None) -> tuple[RunFolder, dict, ShardsFolder]:
    """A finished run (every file checked against its checksum) and the shards to evaluate it on."""
    folder = RunFolder.open(run)
    config = folder.read_json(RunFolder.CONFIG)
    try:
        shards_folder = ShardsFolder.open(shards or config["shards"], progress=True)
    except (KeyError, TypeError):
        raise InputError(f"{folder / RunFolder.CONFIG} does not name its shards; pass --shards") from None
    if shards_folder.recipe_hash != config.get("feature_config_hash"):
        raise InputError(f"the shards in {shards_folder.path} were rendered with another feature config than run "
                         f"{folder.path} was trained on; pass --shards with shards of the run's recipe")
    return folder, config, shards_folder


def _load_model(run: RunFolder):
    import keras

    from . import losses, models  # noqa: F401  importing registers the losses and layers a saved model names

    try:
        return keras.models.load_model(run / RunFolder.MODEL)
    except Exception as err:  # a damaged or foreign file whose checksum was recorded as is
        raise InputError(f"{run / RunFolder.MODEL} cannot be loaded ({str(err).splitlines()[0][:120]}); "
                         "train the run again") from None


def evaluate_run(run: Path, shards: Path | None = None, out: Path | None = None) -> dict:
    """Recompute a run's metrics from its model, splits and shards.

    On the run's own shards the figures go back into the run; on other shards (or with ``out``)
    they go into ``out``, a new folder, and the run stays as it was."""
    folder, config, shards_folder = _load_run(run, shards)
    other = Path(shards_folder.path).resolve() != Path(config["shards"]).resolve()
    if other and out is None:
        raise InputError(f"evaluating {folder.path} on other shards ({shards_folder.path}) writes its figures "
                         "elsewhere: pass --out DIR; the run's own metrics stay as they are")
    table = read_splits(folder / RunFolder.SPLITS, speaker_disjoint=config["split"].get("strategy") != "random")
    wanted = table.loc[table["split"].isin(["val", "test"]), "sample_id"]
    missing = sorted(set(wanted) - set(shards_folder.places))
    if missing:
        raise InputError(f"{shards_folder.path} lacks {len(missing)} of the run's {len(wanted)} validation and test "
                         f"clips (e.g. {missing[0]}); evaluate on shards rendered from the run's manifest")
    limit = config["options"].get("limit")
    seed = config["options"].get("seed", 0)
    val, test = (load_split(shards_folder, table.loc[table["split"] == s, "sample_id"], limit=limit, seed=seed)
                 for s in ("val", "test"))
    model = _load_model(folder)
    target = RunFolder.create(out) if out is not None else folder
    if out is not None:
        config = dict(config, shards=str(shards_folder.path.resolve()), evaluated_from=str(folder.path.resolve()))
        target.write_json(RunFolder.CONFIG, config)
    return _evaluate_and_write(model, val, test, target, config["options"].get("tune_thresholds", False), config,
                               table)


def predict_files(run: Path, files: list[Path], corpus: str | None = None) -> list[dict]:
    """Probabilities per emotion for audio files, rendered with the exact feature config of the run."""
    from aggregate.recipe import DecodeError, FeatureConfig, render_clip

    folder = RunFolder.open(run)
    config = folder.read_json(RunFolder.CONFIG)
    try:
        features = FeatureConfig.from_dict(config["feature_config"])
        thresholds = folder.read_json(RunFolder.THRESHOLDS)
        cutoffs = [float(thresholds[e]) for e in EMOTIONS]
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"{folder.path} is damaged ({err}); train the run again") from None
    model = _load_model(folder)
    results = []
    for path in files:
        try:
            x = render_clip(path, corpus or "", features)
        except DecodeError as err:
            raise InputError(str(err)) from None
        scores = model.predict(x[None, ..., None], verbose=0)[0]
        results.append({"file": str(path), "probabilities": dict(zip(EMOTIONS, map(float, scores))),
                        "present": [e for e, s, t in zip(EMOTIONS, scores, cutoffs) if s >= t]})
    return results


def baseline_run(options: TrainOptions) -> dict:
    """The floor a network must beat (``train.baseline``), on the same shards and split."""
    from .baseline import baseline_scores

    shards, clips, split_source = open_inputs(options)
    run = RunFolder.join(options.out)  # beside a trained run in the same folder, or on its own
    table = split_table(clips, clips["split"])
    run.write(RunFolder.BASELINE_SPLITS, lambda tmp: write_splits(table, tmp, speaker_disjoint=options.speaker_disjoint))
    data = _load_splits(shards, options, clips)
    scores = baseline_scores(data)
    thresholds = tune_thresholds(data["val"].labels, scores["val"]) if options.tune_thresholds \
        else np.full(len(EMOTIONS), 0.5)
    results = {}
    for name in ("val", "test"):
        results[name] = evaluate(data[name].labels, scores[name], thresholds, data[name].corpora)
        run.write_json(RunFolder.BASELINE_METRICS_VAL if name == "val" else RunFolder.BASELINE_METRICS_TEST,
                       results[name])
    run.write_json(RunFolder.BASELINE_CONFIG, {"split": split_source, "shards": str(shards.path.resolve()),
                                               "model": "logistic regression on per-band mean and std"})
    text = f"baseline, validation\n{format_report(results['val'])}\n\nbaseline, test\n{format_report(results['test'])}\n"
    run.write_text(RunFolder.BASELINE_REPORT, text)
    print(text)
    return results
