"""``python -m train [train]``: train a model on shards into a run folder, then evaluate it.

A run folder holds everything needed to trust and reuse a result (``train.run_folder``,
docs/training.md): config.json (every option, the model, its source and its resolved
options, the shards' feature config and hash, the split; after training: best epoch,
epochs run, seconds), splits.csv, class_weights.json, model.keras, history.csv, and what
``train.commands.evaluate`` writes (thresholds, metrics, predictions, report, plots).

While it trains, checkpoint.npz holds the state after the last finished epoch
(``train.checkpoint``); ``--resume`` continues from it, after checking that the command
trains the same thing (options, split, feature config), and a finished run removes it.
"""
from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from aggregate.vocabulary import EMOTIONS
from aggregate.errors import InputError
from aggregate.files import sha256_of
from aggregate.shards.reading import ShardsFolder
from aggregate.manifest.split_files import split_table, write_splits
from aggregate.manifest.split_summary import summarize_splits

from .. import checkpoint as checkpoints
from ..balance import pleasant_surprise_note
from ..data import batches_per_epoch
from ..inputs import TrainOptions, load_splits, open_inputs, recipe_for
from ..run_folder import RunFolder
from ..tf_env import import_tensorflow
from .evaluate import evaluate_and_write


# How a run was started, not what it trains: a resumed run may differ in these (the folders may have
# moved; the shards' feature config and the splits are compared instead).
NOT_COMPARED = ("overwrite", "resume", "verbose", "readers", "out", "shards")


def train_run(options: TrainOptions) -> dict:
    """Train a model, evaluate it on validation and test, write the run folder; with ``options.resume``,
    continue the run interrupted in ``options.out`` from its last finished epoch."""
    recipe = recipe_for(options)
    if options.resume and options.overwrite:
        raise InputError("--resume continues the run in --out and --overwrite replaces it: pass one of them")
    shards, clips, split_source = open_inputs(options)
    if options.resume:
        run = RunFolder.resume(options.out)
        resume = checkpoints.load(run / RunFolder.CHECKPOINT)
    else:
        run = RunFolder.create(options.out, options.overwrite)  # inputs are checked: only now is --out touched
        resume = None
    import_tensorflow()  # TensorFlow loads here, after every check, without its start-up noise
    from ..balance import balance_weights, effective_clips
    from ..fit import loss_weights, planned_epochs, train_model
    from ..progress import epoch_progress
    from ..report import plot_history

    table = split_table(clips, clips["split"])
    write = lambda tmp: write_splits(table, tmp, speaker_disjoint=options.speaker_disjoint)  # noqa: E731
    if resume is None:
        run.write(RunFolder.SPLITS, write)
    else:
        _check_same_splits(run, write)
    print(summarize_splits(clips, clips["split"], strategy=options.split.strategy if options.split else "speakers"))
    note = pleasant_surprise_note(clips[clips["split"] == "train"])
    if note:
        print(note)

    data = load_splits(shards, options, clips)
    balance = balance_weights(data["train"], options.corpus_balance)
    weights = loss_weights(recipe, data["train"].labels, options.class_weights == "auto", balance)
    run.write_json(RunFolder.CLASS_WEIGHTS, dict(zip(EMOTIONS, map(float, weights))))
    print(f"{'positive-class' if recipe.output == 'sigmoid' else 'emotion'} weights (training split): "
          + ", ".join(f"{e} {w:.2f}" for e, w in zip(EMOTIONS, weights)))
    batch_size = options.batch_size or recipe.batch_size
    epochs = options.epochs or planned_epochs(recipe, len(data["train"]), batch_size, balance)
    steps = epochs * batches_per_epoch(data["train"], batch_size)
    worth = "" if balance is None else f", worth {effective_clips(len(balance), balance):,.0f} under corpus balance"
    print(f"training length: {epochs} epochs, {steps:,} steps of {batch_size} "
          + ("(--epochs)" if options.epochs else f"(the model's budget for {len(data['train']):,} training clips"
                                                 f"{worth}; docs/training.md)"), flush=True)
    learning_rate = options.learning_rate or recipe.learning_rate
    config = {
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()
                    if k not in ("split", "resume")},
        "split": split_source,
        "model": {"name": options.model, "source": recipe.source, "output": recipe.output, "schedule": recipe.schedule,
                  "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate, "mixup": recipe.mixup,
                  "options": recipe.resolved_options(options.model_options)},
        "shards": str(shards.path.resolve()), "feature_config_hash": shards.recipe_hash,
        "feature_config": shards.index["feature_config"], "emotions": list(EMOTIONS),
        "views": {name: {k: shards.views[name][k] for k in ("config", "config_hash")}
                  for name in recipe.views if name != "log_mel"},  # the model's other inputs, as rendered
        "clips": {name: len(split) for name, split in data.items()},
    }
    if resume is not None:
        _check_same_config(run, run.read_json(RunFolder.CONFIG), config)
        checkpoints.trim_history(run / RunFolder.HISTORY, resume)
        print(f"resuming {run.path} after epoch {resume.epoch} of {epochs}", flush=True)
    run.write_json(RunFolder.CONFIG, config)

    tty = sys.stdout.isatty()
    verbose = options.verbose if options.verbose is not None else (1 if tty else 0)  # Keras's bar on a terminal
    progress = [] if options.verbose == 0 else [epoch_progress(
        epochs, batches_per_epoch(data["train"], batch_size), len(data["train"]), within_epoch=not tty,
        may_stop_early=recipe.schedule == "constant")]
    start = time.perf_counter()
    try:
        model, history, best = train_model(
            recipe, data, run.path, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
            weights=weights, patience=options.patience, seed=options.seed, cache=options.cache,
            readers=options.readers, model_options=options.model_options,
            corpus_balance=options.corpus_balance, balance_by=options.balance_by, verbose=verbose, resume=resume,
            callbacks=progress,
            save_state=lambda state: _save_checkpoint(run, state))
    except InputError:
        raise
    except KeyboardInterrupt:
        print(f"{run.path} keeps its last finished epoch: the same command with --resume continues it",
              file=sys.stderr)
        raise
    except Exception as err:  # a shard that vanished or broke mid-run surfaces here, deep in tf.data
        raise _reading_error(shards, err) from None
    seconds = round(time.perf_counter() - start + (resume.seconds if resume is not None else 0.0), 1)
    run.adopt(RunFolder.HISTORY)
    run.save_model(model)
    run.write(RunFolder.CURVES, lambda tmp: plot_history(history, Path(tmp)))
    config["trained"] = {"best_epoch": best, "epochs_run": len(history["loss"]), "seconds": seconds}
    if resume is not None:
        config["trained"]["resumed_after_epoch"] = resume.epoch
    run.write_json(RunFolder.CONFIG, config)
    results = evaluate_and_write(model, data["val"], data["test"], run, options.tune_thresholds, config, clips)
    run.discard(RunFolder.CHECKPOINT)  # the run is whole: nothing left to resume
    results["seconds"] = seconds
    return results


def _save_checkpoint(run: RunFolder, state) -> None:
    """The checkpoint and its checksum in the marker, whole: a Ctrl-C meanwhile is held until both are
    written (one between them would leave a checkpoint that --resume refuses as changed)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():  # only the main thread handles signals
        run.write(RunFolder.CHECKPOINT, lambda tmp: checkpoints.save(state, tmp))
        return
    held = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: held.append(number))
    try:
        run.write(RunFolder.CHECKPOINT, lambda tmp: checkpoints.save(state, tmp))
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:
        raise KeyboardInterrupt


def _check_same_splits(run: RunFolder, write) -> None:
    """A resumed run trains on the splits it started with, or not at all."""
    with tempfile.TemporaryDirectory() as folder:
        fresh = Path(folder) / RunFolder.SPLITS
        write(fresh)
        if sha256_of(fresh) != run.files.get(RunFolder.SPLITS):
            raise InputError(f"{run / RunFolder.SPLITS} is not the split these shards and options give now; resume "
                             "with the shards and options the run started with, or train it again with --overwrite")


def _check_same_config(run: RunFolder, before: dict, now: dict) -> None:
    """One line naming the first setting that differs from the interrupted session's."""
    def flat(config: dict, prefix: str = "") -> dict:
        out = {}
        for key, value in config.items():
            if isinstance(value, dict):
                out |= flat(value, f"{prefix}{key}.")
            elif not (prefix == "options." and key in NOT_COMPARED) and key not in ("shards", "trained"):
                out[prefix + key] = value
        return out

    old, new = flat(before), flat(now)
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            raise InputError(f"{run.path} was started with other settings ({key}: {old.get(key)!r} then, "
                             f"{new.get(key)!r} now); resume with the command that started it, or train it again "
                             "with --overwrite")


def _reading_error(shards: ShardsFolder, err: Exception) -> Exception:
    """One line for a shard that stopped being readable during training; anything else is a bug: re-raise."""
    text = str(err)
    broken = [name for name in shards.shard_names if name in text]
    if broken or isinstance(err, OSError) or "HDF5" in text or "h5py" in text:
        where = shards.path / broken[0] if broken else shards.path
        return InputError(f"{where} could not be read during training ({text.splitlines()[0][:160] if text else err!r}); "
                          f"run `python -m aggregate verify {shards.path}` and re-render or fetch the shards")
    return err
