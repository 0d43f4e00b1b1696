"""What ``python -m train`` does: train a run, evaluate it, predict with it, fit the baseline.

A run folder holds everything needed to trust and reuse a result::

    config.json          every option, the shards' feature config and hash, the split config
    splits.csv           sample_id, speaker, corpus, split: reuse with --splits
    class_weights.json   the positive weight per emotion (training split only)
    model.keras          the best model (by validation mAP)
    history.csv          per-epoch losses and metrics
    thresholds.json      per-emotion decision thresholds (0.5, or tuned on validation)
    metrics_val.json, metrics_test.json, report.txt
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
from aggregate.files import atomic_write_json
from aggregate.shards import ShardsFolder
from aggregate.splits import (SplitConfig, assign_splits, check_speaker_disjoint, read_splits, require_nonempty,
                              split_table, summarize_splits, write_splits)

from .data import SplitData, load_split, make_dataset, read_all
from .metrics import evaluate, format_report, tune_thresholds


@dataclass
class TrainOptions:
    shards: Path
    out: Path
    epochs: int = 20
    batch_size: int = 32
    limit: int | None = None  # at most this many clips per split: quick runs
    cache: bool = False
    class_weights: str = "auto"  # "auto" | "none"
    splits: Path | None = None  # reuse a splits.csv
    split: SplitConfig | None = None  # None: the manifest's split column
    tune_thresholds: bool = False
    patience: int = 6
    seed: int = 0
    overwrite: bool = False
    model: dict = field(default_factory=dict)  # ModelConfig fields


def _splits_for(shards: ShardsFolder, options: TrainOptions) -> tuple[pd.DataFrame, dict]:
    """The split of every rendered clip: from a file, the manifest's column, or computed here."""
    manifest = shards.manifest()
    rendered = set(shards.places)
    clips = manifest.clips[manifest.clips["sample_id"].isin(rendered)].reset_index(drop=True)
    if options.splits is not None:
        table = read_splits(options.splits)
        clips = clips.drop(columns="split", errors="ignore").merge(table[["sample_id", "split"]], on="sample_id", how="inner")
        source = {"from_file": str(options.splits)}
    elif options.split is None and "split" in clips and clips["split"].notna().all():
        source = {"from_manifest": manifest.meta.get("split", {})}
    else:
        config = options.split or SplitConfig(seed=options.seed)
        clips["split"] = assign_splits(clips, config)
        source = config.to_dict()
    check_speaker_disjoint(clips, clips["split"])  # a leak here would make every figure a lie
    require_nonempty(clips["split"], needed=("train", "val", "test"))
    return clips, source


def _load_splits(shards: ShardsFolder, options: TrainOptions, clips: pd.DataFrame) -> dict[str, SplitData]:
    """Plan the reading of each split (a seeded subset of each with --limit)."""
    return {name: load_split(shards, clips.loc[clips["split"] == name, "sample_id"],
                             limit=options.limit, seed=options.seed) for name in ("train", "val", "test")}


def train_run(options: TrainOptions) -> dict:
    """Train, keep the best epoch by validation mAP, evaluate on validation and test, write the run folder."""
    import keras

    from .model import ModelConfig, build_model, class_weights, compile_model
    from .report import plot_history

    out = Path(options.out)
    if (out / "model.keras").exists():
        if not options.overwrite:
            raise InputError(f"{out} already holds a trained run; pass a new --out folder or --overwrite")
        shutil.rmtree(out)
    shards = ShardsFolder.open(options.shards, progress=True)  # every shard's checksum, once, before use
    clips, split_source = _splits_for(shards, options)
    out.mkdir(parents=True, exist_ok=True)
    write_splits(split_table(clips, clips["split"]), out / "splits.csv")
    print(summarize_splits(clips, clips["split"]))

    data = _load_splits(shards, options, clips)
    weights = class_weights(data["train"].labels) if options.class_weights == "auto" else np.ones(len(EMOTIONS))
    atomic_write_json(out / "class_weights.json", dict(zip(EMOTIONS, map(float, weights))))
    print("positive-class weights (training split): "
          + ", ".join(f"{e} {w:.2f}" for e, w in zip(EMOTIONS, weights)))

    model_config = ModelConfig(input_shape=(*data["train"].shape, 1), seed=options.seed, **options.model)
    config = {
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items() if k != "split"},
        "split": split_source, "model": asdict(model_config),
        "shards": str(Path(options.shards).resolve()), "feature_config_hash": shards.recipe_hash,
        "feature_config": shards.index["feature_config"], "emotions": list(EMOTIONS),
        "clips": {name: len(split) for name, split in data.items()},
    }
    atomic_write_json(out / "config.json", config)

    keras.utils.set_random_seed(options.seed)
    model = build_model(model_config)
    compile_model(model, model_config, weights if options.class_weights == "auto" else None)
    train_ds = make_dataset(data["train"], options.batch_size, shuffle=True, seed=options.seed, cache=options.cache)
    val_ds = make_dataset(data["val"], options.batch_size, shuffle=False, cache=options.cache)
    callbacks = [
        # Monitor mAP, not loss: on small data the all-absent predictor wins the loss early on.
        keras.callbacks.ModelCheckpoint(out / "model.keras", monitor="val_mAP", mode="max", save_best_only=True),
        keras.callbacks.EarlyStopping(monitor="val_mAP", mode="max", patience=options.patience,
                                      restore_best_weights=True),
        keras.callbacks.CSVLogger(out / "history.csv"),
    ]
    start = time.perf_counter()
    history = model.fit(train_ds, validation_data=val_ds, epochs=options.epochs, callbacks=callbacks,
                        verbose=1 if sys.stdout.isatty() else 2)  # one line per epoch in logs
    plot_history(history.history, out / "curves.png")
    results = _evaluate_and_write(model, data["val"], data["test"], out, options.tune_thresholds)
    results["seconds"] = round(time.perf_counter() - start, 1)
    return results


def _scores(model, split: SplitData, batch_size: int = 64) -> np.ndarray:
    return model.predict(make_dataset(split, batch_size, shuffle=False), verbose=0)


def _evaluate_and_write(model, val: SplitData, test: SplitData, out: Path, tune: bool) -> dict:
    from .report import plot_confusions, plot_per_corpus

    val_scores, test_scores = _scores(model, val), _scores(model, test)
    thresholds = tune_thresholds(val.labels, val_scores) if tune else np.full(len(EMOTIONS), 0.5)
    atomic_write_json(out / "thresholds.json", dict(zip(EMOTIONS, map(float, thresholds))))
    results = {}
    for name, split, scores in [("val", val, val_scores), ("test", test, test_scores)]:
        metrics = evaluate(split.labels, scores, thresholds, split.corpora)
        atomic_write_json(out / f"metrics_{name}.json", metrics)
        results[name] = metrics
    plot_confusions(test.labels, test_scores >= thresholds, out / "confusion_test.png", "test split")
    plot_per_corpus(results["test"], out / "per_corpus_test.png", "test split, per corpus")
    text = f"validation\n{format_report(results['val'])}\n\ntest\n{format_report(results['test'])}\n"
    (out / "report.txt").write_text(text)
    print(text)
    print(f"run folder: {out} (report.txt, metrics_*.json, *.png, model.keras)")
    return results


def _load_run(run: Path, shards: Path | None):
    run = Path(run)
    config_file = run / "config.json"
    if not config_file.is_file() or not (run / "model.keras").is_file():
        raise InputError(f"{run} is not a run folder (no config.json or model.keras); train one with python -m train")
    config = json.loads(config_file.read_text())
    folder = ShardsFolder.open(shards or config["shards"], progress=True)
    if folder.recipe_hash != config["feature_config_hash"]:
        raise InputError(f"the shards in {folder} were rendered with another feature config than run {run} "
                         "was trained on; pass --shards with the folder the run used")
    return run, config, folder


def _load_model(run: Path):
    import keras

    from .model import WeightedBCE  # noqa: F401  the saved model names this loss; importing registers it

    return keras.models.load_model(run / "model.keras")


def evaluate_run(run: Path, shards: Path | None = None) -> dict:
    """Recompute a run's metrics from its model, splits and shards."""
    run, config, folder = _load_run(run, shards)
    table = read_splits(run / "splits.csv")
    limit = config["options"].get("limit")
    seed = config["options"].get("seed", 0)
    val, test = (load_split(folder, table.loc[table["split"] == s, "sample_id"], limit=limit, seed=seed)
                 for s in ("val", "test"))
    model = _load_model(run)
    return _evaluate_and_write(model, val, test, run, config["options"].get("tune_thresholds", False))


def predict_files(run: Path, files: list[Path], corpus: str | None = None) -> list[dict]:
    """Probabilities per emotion for audio files, rendered with the exact feature config of the run."""
    from aggregate.recipe import DecodeError, FeatureConfig, render_clip

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


def band_statistics(features: np.ndarray) -> np.ndarray:
    """Per clip, each mel band's mean and standard deviation over time: (N, 2 x n_mels)."""
    return np.concatenate([features.mean(axis=2), features.std(axis=2)], axis=1)


def baseline_run(options: TrainOptions) -> dict:
    """The floor a network must beat: logistic regression on per-band statistics, same shards and split."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    out = Path(options.out)
    shards = ShardsFolder.open(options.shards, progress=True)
    clips, split_source = _splits_for(shards, options)
    out.mkdir(parents=True, exist_ok=True)
    write_splits(split_table(clips, clips["split"]), out / "splits.csv")
    data = _load_splits(shards, options, clips)
    stats = {name: band_statistics(read_all(split)[0]) for name, split in data.items()}
    scores = {name: np.zeros((len(split), len(EMOTIONS))) for name, split in data.items()}
    for e in range(len(EMOTIONS)):
        y = data["train"].labels[:, e]
        if y.min() == y.max():  # one class only in training: predict its rate
            for name in scores:
                scores[name][:, e] = float(y.mean())
            continue
        fit = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced", C=0.1))
        fit.fit(stats["train"], y)
        for name in scores:
            scores[name][:, e] = fit.predict_proba(stats[name])[:, 1]
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
