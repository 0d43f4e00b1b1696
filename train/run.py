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

import json
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from aggregate.emotions import EMOTIONS
from aggregate.errors import InputError
from aggregate.files import atomic_write, atomic_write_json
from aggregate.manifest import read_manifest
from aggregate.shards import MANIFEST_FILE, read_index
from aggregate.splits import (SplitConfig, assign_splits, check_speaker_disjoint, read_splits, require_nonempty,
                              split_table, summarize_splits, write_splits)

from .data import SplitData, load_split, make_dataset
from .metrics import evaluate, format_report, tune_thresholds
from .names import DEFAULT_MODEL


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
    class_weights: str = "auto"  # "auto" | "none"
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


def _splits_for(shards: Path, options: TrainOptions) -> tuple[pd.DataFrame, dict]:
    """The split of every rendered clip: from a file, the manifest's column, or computed here."""
    manifest = read_manifest(shards / MANIFEST_FILE)
    rendered = set(read_index(shards)["samples"])
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


def _load_splits(options: TrainOptions, clips: pd.DataFrame) -> dict[str, SplitData]:
    """Plan the reading of each split (a seeded subset of each with --limit)."""
    return {name: load_split(options.shards, clips.loc[clips["split"] == name, "sample_id"],
                             limit=options.limit, seed=options.seed) for name in ("train", "val", "test")}


def _recipe(options: TrainOptions):
    from .models import MODELS

    if options.model not in MODELS:
        raise InputError(f"unknown model {options.model!r}; use one of {', '.join(MODELS)}")
    recipe = MODELS[options.model]
    unknown = sorted(set(options.model_options) - set(recipe.options))
    if unknown:
        raise InputError(f"--small, --dropout, --bn-momentum, --spec-augment and --pooling are options of "
                         f"--model paper-cnn only, not of --model {options.model} (got {', '.join(unknown)})")
    return recipe


def train_run(options: TrainOptions) -> dict:
    """Train a model, evaluate it on validation and test, write the run folder."""
    from .fit import loss_weights, train_model
    from .report import plot_history

    recipe = _recipe(options)
    out = Path(options.out)
    if (out / "model.keras").exists():
        if not options.overwrite:
            raise InputError(f"{out} already holds a trained run; pass a new --out folder or --overwrite")
        shutil.rmtree(out)
    index = read_index(options.shards)
    clips, split_source = _splits_for(Path(options.shards), options)
    out.mkdir(parents=True, exist_ok=True)
    write_splits(split_table(clips, clips["split"]), out / "splits.csv", speaker_disjoint=options.speaker_disjoint)
    print(summarize_splits(clips, clips["split"]))

    data = _load_splits(options, clips)
    weights = loss_weights(recipe, data["train"].labels, options.class_weights == "auto")
    atomic_write_json(out / "class_weights.json", dict(zip(EMOTIONS, map(float, weights))))
    print(f"{'positive-class' if recipe.output == 'sigmoid' else 'emotion'} weights (training split): "
          + ", ".join(f"{e} {w:.2f}" for e, w in zip(EMOTIONS, weights)))
    epochs, batch_size = options.epochs or recipe.epochs, options.batch_size or recipe.batch_size
    learning_rate = options.learning_rate or recipe.learning_rate
    config = {
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items() if k != "split"},
        "split": split_source,
        "model": {"name": options.model, "source": recipe.source, "output": recipe.output, "schedule": recipe.schedule,
                  "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate, "mixup": recipe.mixup,
                  "options": options.model_options},
        "shards": str(Path(options.shards).resolve()), "feature_config_hash": index["feature_config_hash"],
        "feature_config": index["feature_config"], "emotions": list(EMOTIONS),
        "clips": {name: len(split) for name, split in data.items()},
    }
    atomic_write_json(out / "config.json", config)

    start = time.perf_counter()
    model, history, best = train_model(
        recipe, data, out, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, weights=weights,
        patience=options.patience, seed=options.seed, cache=options.cache, model_options=options.model_options,
        verbose=options.verbose if options.verbose is not None else (1 if sys.stdout.isatty() else 2))
    seconds = round(time.perf_counter() - start, 1)
    model.save(out / "model.keras")
    plot_history(history, out / "curves.png")
    config["trained"] = {"best_epoch": best, "epochs_run": len(history["loss"]), "seconds": seconds}
    atomic_write_json(out / "config.json", config)
    results = _evaluate_and_write(model, data["val"], data["test"], out, options.tune_thresholds, config, clips)
    results["seconds"] = seconds
    return results


def _scores(model, split: SplitData, batch_size: int = 64) -> np.ndarray:
    return model.predict(make_dataset(split, batch_size, shuffle=False), verbose=0)


def _evaluate_and_write(model, val: SplitData, test: SplitData, out: Path, tune: bool, config: dict,
                        clips: pd.DataFrame) -> dict:
    from .report import plot_confusions, plot_per_corpus

    val_scores, test_scores = _scores(model, val), _scores(model, test)
    thresholds = tune_thresholds(val.labels, val_scores) if tune else np.full(len(EMOTIONS), 0.5)
    atomic_write_json(out / "thresholds.json", dict(zip(EMOTIONS, map(float, thresholds))))
    results = {}
    for name, split, scores in [("val", val, val_scores), ("test", test, test_scores)]:
        metrics = evaluate(split.labels, scores, thresholds, split.corpora)
        atomic_write_json(out / f"metrics_{name}.json", metrics)
        results[name] = metrics
    speakers = clips.set_index("sample_id")["speaker"]
    write_predictions(out / "predictions.csv", {"val": (val, val_scores), "test": (test, test_scores)}, speakers)
    plot_confusions(test.labels, test_scores >= thresholds, out / "confusion_test.png", "test split")
    plot_per_corpus(results["test"], out / "per_corpus_test.png", "test split, per corpus")
    text = (f"{run_header(config)}\n\nvalidation\n{format_report(results['val'])}\n\n"
            f"test\n{format_report(results['test'])}\n")
    (out / "report.txt").write_text(text)
    print(text)
    print(f"run folder: {out} (report.txt, metrics_*.json, predictions.csv, *.png, model.keras)")
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


def write_predictions(path: Path, splits: dict[str, tuple[SplitData, np.ndarray]], speakers: pd.Series) -> None:
    """One row per clip: sample_id, corpus, speaker, split, truth (emotions joined by '|'),
    then a probability per emotion."""
    frames = []
    for name, (split, scores) in splits.items():
        frame = pd.DataFrame({"sample_id": split.sample_ids, "corpus": split.corpora,
                              "speaker": speakers.reindex(split.sample_ids).to_numpy(), "split": name,
                              "truth": ["|".join(e for e, v in zip(EMOTIONS, row) if v) for row in split.labels]})
        frame[list(EMOTIONS)] = np.round(scores, 6)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    atomic_write(path, lambda tmp: table.to_csv(tmp, index=False))


def _load_run(run: Path, shards: Path | None):
    run = Path(run)
    config_file = run / "config.json"
    if not config_file.is_file() or not (run / "model.keras").is_file():
        raise InputError(f"{run} is not a run folder (no config.json or model.keras); train one with python -m train")
    config = json.loads(config_file.read_text())
    folder = Path(shards or config["shards"])
    index = read_index(folder)
    if index["feature_config_hash"] != config["feature_config_hash"]:
        raise InputError(f"the shards in {folder} were rendered with another feature config than run {run} "
                         "was trained on; pass --shards with the folder the run used")
    return run, config, folder


def _load_model(run: Path):
    import keras

    from . import losses, models  # noqa: F401  importing registers the losses and layers a saved model names

    return keras.models.load_model(run / "model.keras")


def evaluate_run(run: Path, shards: Path | None = None) -> dict:
    """Recompute a run's metrics from its model, splits and shards."""
    run, config, folder = _load_run(run, shards)
    table = read_splits(run / "splits.csv", speaker_disjoint=config["split"].get("strategy") != "random")
    limit = config["options"].get("limit")
    seed = config["options"].get("seed", 0)
    val, test = (load_split(folder, table.loc[table["split"] == s, "sample_id"], limit=limit, seed=seed)
                 for s in ("val", "test"))
    model = _load_model(run)
    return _evaluate_and_write(model, val, test, run, config["options"].get("tune_thresholds", False), config, table)


def predict_files(run: Path, files: list[Path], corpus: str | None = None) -> list[dict]:
    """Probabilities per emotion for audio files, rendered with the exact feature config of the run."""
    from aggregate.audio import DecodeError
    from aggregate.features import FeatureConfig
    from aggregate.render import render_clip

    run = Path(run)
    if not (run / "config.json").is_file() or not (run / "model.keras").is_file():
        raise InputError(f"{run} is not a run folder (no config.json or model.keras)")
    config = json.loads((run / "config.json").read_text())
    features = FeatureConfig.from_dict(config["feature_config"])
    thresholds = json.loads((run / "thresholds.json").read_text())
    model = _load_model(run)
    results = []
    for path in files:
        try:
            x = render_clip(path, corpus or "", features)
        except DecodeError as err:
            raise InputError(str(err)) from None
        scores = model.predict(x[None, ..., None], verbose=0)[0]
        results.append({"file": str(path), "probabilities": dict(zip(EMOTIONS, map(float, scores))),
                        "present": [e for e, s in zip(EMOTIONS, scores) if s >= thresholds[e]]})
    return results


def baseline_run(options: TrainOptions) -> dict:
    """The floor a network must beat (``train.baseline``), on the same shards and split."""
    from .baseline import baseline_scores

    out = Path(options.out)
    clips, split_source = _splits_for(Path(options.shards), options)
    out.mkdir(parents=True, exist_ok=True)
    write_splits(split_table(clips, clips["split"]), out / "splits.csv", speaker_disjoint=options.speaker_disjoint)
    data = _load_splits(options, clips)
    scores = baseline_scores(data)
    thresholds = tune_thresholds(data["val"].labels, scores["val"]) if options.tune_thresholds \
        else np.full(len(EMOTIONS), 0.5)
    results = {}
    for name in ("val", "test"):
        results[name] = evaluate(data[name].labels, scores[name], thresholds, data[name].corpora)
        atomic_write_json(out / f"baseline_metrics_{name}.json", results[name])
    atomic_write_json(out / "baseline_config.json", {"split": split_source, "shards": str(options.shards),
                                                     "model": "logistic regression on per-band mean and std"})
    text = f"baseline, validation\n{format_report(results['val'])}\n\nbaseline, test\n{format_report(results['test'])}\n"
    (out / "baseline_report.txt").write_text(text)
    print(text)
    return results
