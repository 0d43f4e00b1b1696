"""``python -m train [train]``: train a model on shards into a run folder, then evaluate it.

A run folder holds everything needed to trust and reuse a result (``train.run_folder``,
docs/training.md): config.json (every option, the model, its source and its resolved
options, the shards' feature config and hash, the split; after training: best epoch,
epochs run, seconds), splits.csv, class_weights.json, model.keras, history.csv, and what
``train.commands.evaluate`` writes (thresholds, metrics, predictions, report, plots).
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path

from aggregate.emotions import EMOTIONS
from aggregate.errors import InputError
from aggregate.shards import ShardsFolder
from aggregate.splits import split_table, summarize_splits, write_splits

from ..inputs import TrainOptions, load_splits, open_inputs, recipe_for
from ..run_folder import RunFolder
from ..tf_env import import_tensorflow
from .evaluate import evaluate_and_write


def train_run(options: TrainOptions) -> dict:
    """Train a model, evaluate it on validation and test, write the run folder."""
    recipe = recipe_for(options)
    shards, clips, split_source = open_inputs(options)
    run = RunFolder.create(options.out, options.overwrite)  # inputs are checked: only now is --out touched
    import_tensorflow()  # TensorFlow loads here, after every check, without its start-up noise
    from ..fit import loss_weights, planned_epochs, train_model
    from ..report import plot_history

    table = split_table(clips, clips["split"])
    run.write(RunFolder.SPLITS, lambda tmp: write_splits(table, tmp, speaker_disjoint=options.speaker_disjoint))
    print(summarize_splits(clips, clips["split"]))

    data = load_splits(shards, options, clips)
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
                  "options": recipe.resolved_options(options.model_options)},
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
    results = evaluate_and_write(model, data["val"], data["test"], run, options.tune_thresholds, config, clips)
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
