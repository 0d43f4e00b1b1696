"""``python -m train evaluate``: recompute a run's figures; and how every run's figures are made and written.

``evaluate_and_write`` (also the end of ``train``): scores on validation and test, the
thresholds (0.5, or tuned on validation), metrics_val.json and metrics_test.json,
predictions.csv, report.txt (opening with ``run_header``; each split's figures, with its
single-label 7x7 confusion matrix), confusion_test.png (a 2x2 matrix per emotion),
confusion_matrix_test.png (the 7x7 one of the test split) and per_corpus_test.png.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from aggregate.vocabulary import EMOTIONS, HELD_OUT_SPLITS
from aggregate.errors import InputError
from aggregate.shards.reading import ShardsFolder
from aggregate.manifest.split_files import read_splits

from ..data import SplitData, load_split, make_dataset, view_arrays
from ..metrics import evaluate, format_report, tune_thresholds
from ..run_folder import RunFolder


def model_scores(model, split: SplitData, batch_size: int = 64) -> np.ndarray:
    """The model's probabilities on the split; a model with an input per view (``log_mel``, ``compare``,
    ...) gets each view under its name."""
    extra = [t.name for t in model.inputs if t.name != "log_mel"] if len(model.inputs) > 1 else []
    views = view_arrays(split, extra) if extra else None
    return model.predict(make_dataset(split, batch_size, shuffle=False, views=views), verbose=0)


def evaluate_and_write(model, val: SplitData, test: SplitData, run: RunFolder, tune: bool, config: dict,
                        clips: pd.DataFrame) -> dict:
    from ..report import plot_confusion_matrix, plot_confusions, plot_per_corpus

    val_scores, test_scores = model_scores(model, val), model_scores(model, test)
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
    single = results["test"]["single_label"]
    run.write(RunFolder.CONFUSION_MATRIX, lambda tmp: plot_confusion_matrix(
        single["confusion"], Path(tmp), f"test split, {single['n']} single-label clips"))
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
    for view, entry in (config.get("views") or {}).items():  # the other views the model reads: the same configs
        have = shards_folder.views.get(view)
        if have is None or have.get("config_hash") != entry.get("config_hash"):
            raise InputError(f"the shards in {shards_folder.path} {'lack the view ' + view if have is None else 'hold another ' + view + ' view'} "
                             f"than run {folder.path} was trained on; pass --shards with that view as the run had it")
    return folder, config, shards_folder


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
    wanted = table.loc[table["split"].isin(HELD_OUT_SPLITS), "sample_id"]
    missing = sorted(set(wanted) - set(shards_folder.places))
    if missing:
        raise InputError(f"{shards_folder.path} lacks {len(missing)} of the run's {len(wanted)} validation and test "
                         f"clips (e.g. {missing[0]}); evaluate on shards rendered from the run's manifest")
    limit = config["options"].get("limit")
    seed = config["options"].get("seed", 0)
    views = ("log_mel", *(config.get("views") or {}))
    val, test = (load_split(shards_folder, table.loc[table["split"] == s, "sample_id"], limit=limit, seed=seed,
                            views=views) for s in HELD_OUT_SPLITS)
    model = folder.load_model()
    target = RunFolder.create(out) if out is not None else folder
    if out is not None:
        config = dict(config, shards=str(shards_folder.path.resolve()), evaluated_from=str(folder.path.resolve()))
        target.write_json(RunFolder.CONFIG, config)
    return evaluate_and_write(model, val, test, target, config["options"].get("tune_thresholds", False), config,
                               table)
