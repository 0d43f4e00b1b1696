"""What ``--resume`` continues from: the whole state of training after its last finished epoch.

An interrupted run resumed from its checkpoint ends with the same figures as a run never
interrupted (tests/test_resume.py), because everything that shapes the rest of training is in it:

* every variable of the model (``model.variables``): weights, batch-norm statistics, the
  training split's normalisation, and the state of each random layer's seed generator
  (time shift, SpecAugment, dropout), which ``model.save`` leaves out;
* every variable of the optimizer: its moments and its step count, which drives the schedule;
* the history so far and early stopping's state (wait, best value and epoch, best weights);
* the order of the data needs no state: each epoch's shuffles and mixup draws derive from the
  run's seed and the epoch number alone (``train.data.make_dataset(epochs=...)``).

The file is a NumPy ``.npz`` read without pickles (``allow_pickle=False``): arrays, and one JSON
string for the rest. A file that is damaged or does not fit the model is refused in one line.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aggregate.errors import InputError

FORMAT = 1


@dataclass
class Checkpoint:
    epoch: int  # epochs finished
    done: bool  # training has ended (its last epoch, or early stopping): the variables are the final ones
    model: list[np.ndarray]
    optimizer: list[np.ndarray]
    history: dict[str, list[float]]
    seconds: float  # of training so far, every session together
    stopper: dict = field(default_factory=dict)  # early stopping: wait, best, best_epoch
    best_weights: list[np.ndarray] | None = None  # early stopping's, when it keeps the best epoch's
    path: Path | None = None  # where it was read from, for messages


def capture(model, epoch: int, done: bool, history: dict, seconds: float, stopper=None) -> Checkpoint:
    """The state of ``model`` (compiled, its optimizer built) after ``epoch`` finished epochs."""
    state = {}
    if stopper is not None:
        state = {"wait": int(stopper.wait), "best": None if stopper.best is None else float(stopper.best),
                 "best_epoch": int(stopper.best_epoch)}
    best = None if stopper is None or stopper.best_weights is None else [np.asarray(w) for w in stopper.best_weights]
    return Checkpoint(epoch, done, [np.asarray(v) for v in model.variables],
                      [np.asarray(v) for v in model.optimizer.variables],
                      {k: [float(x) for x in v] for k, v in history.items()}, float(seconds), state, best)


def save(checkpoint: Checkpoint, path) -> None:
    """Write ``checkpoint`` to ``path`` (a file name, or an open binary file)."""
    meta = {"format": FORMAT, "epoch": checkpoint.epoch, "done": checkpoint.done, "history": checkpoint.history,
            "seconds": checkpoint.seconds, "stopper": checkpoint.stopper, "model": len(checkpoint.model),
            "optimizer": len(checkpoint.optimizer),
            "best_weights": None if checkpoint.best_weights is None else len(checkpoint.best_weights)}
    arrays = {f"model_{i}": a for i, a in enumerate(checkpoint.model)}
    arrays |= {f"optimizer_{i}": a for i, a in enumerate(checkpoint.optimizer)}
    arrays |= {f"best_{i}": a for i, a in enumerate(checkpoint.best_weights or [])}
    with open(path, "wb") as file:
        np.savez(file, meta=np.array(json.dumps(meta)), **arrays)


def load(path: Path) -> Checkpoint:
    """The checkpoint at ``path``; a damaged file is one line."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("format") != FORMAT:
                raise ValueError(f"format {meta.get('format')!r}, not {FORMAT}")
            best = meta["best_weights"]
            return Checkpoint(int(meta["epoch"]), bool(meta["done"]),
                              [data[f"model_{i}"] for i in range(meta["model"])],
                              [data[f"optimizer_{i}"] for i in range(meta["optimizer"])],
                              {k: list(map(float, v)) for k, v in meta["history"].items()}, float(meta["seconds"]),
                              dict(meta["stopper"]), None if best is None else [data[f"best_{i}"] for i in range(best)],
                              Path(path))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise InputError(f"{path} is damaged ({str(err)[:120]}); train the run again with --overwrite") from None


def restore(model, checkpoint: Checkpoint) -> None:
    """Put the checkpoint's variables into ``model`` (built and compiled as the interrupted run's was)."""
    model.optimizer.build(model.trainable_variables)
    for kind, variables, values in (("model", model.variables, checkpoint.model),
                                    ("optimizer", model.optimizer.variables, checkpoint.optimizer)):
        shapes = [tuple(v.shape) for v in variables]
        if shapes != [a.shape for a in values]:
            raise InputError(f"{checkpoint.path} does not fit the run's {kind} ({len(values)} arrays for "
                             f"{len(shapes)}, or of other shapes); "
                             "train the run again with --overwrite")
        for variable, value in zip(variables, values):
            variable.assign(value)


def resumable_early_stopping(checkpoint: Checkpoint | None, **kwargs):
    """Keras's EarlyStopping, starting from the checkpoint's wait, best value and best weights."""
    import keras

    class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            if checkpoint is not None and checkpoint.stopper:
                self.wait, self.best = checkpoint.stopper["wait"], checkpoint.stopper["best"]
                self.best_epoch, self.best_weights = checkpoint.stopper["best_epoch"], checkpoint.best_weights

    return ResumableEarlyStopping(**kwargs)


def epoch_callback(save_state, first_epoch: int, epochs: int, history: dict, seconds: float, stopper=None):
    """A Keras callback that hands ``save_state`` a ``Checkpoint`` after every epoch and at the end.

    ``history`` and ``seconds``: what earlier sessions of the run did (empty and 0 for a new run)."""
    import time

    import keras

    class Checkpointing(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.history = {k: list(v) for k, v in history.items()}
            self.start, self.epoch = time.perf_counter(), first_epoch

        def on_epoch_end(self, epoch, logs=None):
            for key, value in (logs or {}).items():
                self.history.setdefault(key, []).append(float(value))
            self.epoch = epoch + 1
            # after early stopping's on_epoch_end (it comes first in the list): ``stop_training`` is final
            self._save(done=self.epoch >= epochs or self.model.stop_training)

        def on_train_end(self, logs=None):
            # early stopping has put the best epoch's weights back: the state to evaluate from
            self._save(done=True)

        def _save(self, done: bool):
            elapsed = seconds + time.perf_counter() - self.start
            save_state(capture(self.model, self.epoch, done, self.history, elapsed, stopper))

    return Checkpointing()


def trim_history(path: Path, checkpoint: Checkpoint) -> None:
    """Keep the header and the checkpoint's epochs of a CSV history (Keras's CSVLogger) that may have
    gone one epoch further before the interruption; the resumed session appends to it."""
    from aggregate.files import atomic_write

    lines = path.read_text().splitlines(keepends=True) if path.is_file() else []
    if len(lines) < checkpoint.epoch + 1:  # fewer rows than epochs: rewrite them from the checkpoint
        keys = sorted(checkpoint.history)
        lines = [",".join(["epoch", *keys]) + "\n"]
        lines += [",".join([str(e), *(str(checkpoint.history[k][e]) for k in keys)]) + "\n"
                  for e in range(checkpoint.epoch)]
    atomic_write(path, lambda tmp: Path(tmp).write_text("".join(lines[:checkpoint.epoch + 1])))
