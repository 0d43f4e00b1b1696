"""A run folder, as one object: its file names, atomic writes, and the checks that keep it honest.

A run folder holds everything needed to trust and reuse a result (docs/training.md). It is
marked by ``.aggregate-run``, which lists every file the run wrote with its SHA-256, so that

* ``--overwrite`` removes only those files, and a folder holding anything else is refused
  (a typo in ``--out`` never costs a user their ``thesis.txt``);
* ``evaluate`` and ``predict`` refuse a run whose model or config changed or is damaged,
  with one line, instead of a traceback deep in Keras.
"""
from __future__ import annotations

import fcntl
import json
import os
import tempfile
from pathlib import Path
from typing import Callable

from aggregate.errors import InputError
from aggregate.files import atomic_write, make_folder, sha256_of
from aggregate.owned import BENCHMARK, RUN, check_not_inside_owned, check_owned, listed_files, write_marker

MARKER, WRITER = RUN.marker, RUN.writer


class RunFolder:
    """One run folder. ``RunFolder.create(out, overwrite)`` to train into; ``RunFolder.open(path)`` to use."""

    # Every file a run may hold, by role; nothing else in the code spells these names.
    CONFIG = "config.json"
    SPLITS = "splits.csv"
    CLASS_WEIGHTS = "class_weights.json"
    MODEL = "model.keras"
    HISTORY = "history.csv"
    THRESHOLDS = "thresholds.json"
    REPORT = "report.txt"
    PREDICTIONS = "predictions.csv"
    CURVES = "curves.png"
    CONFUSION = "confusion_test.png"
    CONFUSION_MATRIX = "confusion_matrix_test.png"
    PER_CORPUS = "per_corpus_test.png"
    METRICS_VAL = "metrics_val.json"
    METRICS_TEST = "metrics_test.json"
    BASELINE_SPLITS = "baseline_splits.csv"
    BASELINE_CONFIG = "baseline_config.json"
    BASELINE_METRICS_VAL = "baseline_metrics_val.json"
    BASELINE_METRICS_TEST = "baseline_metrics_test.json"
    BASELINE_REPORT = "baseline_report.txt"
    CHECKPOINT = "checkpoint.npz"  # the state after the last finished epoch, until the run has finished
    BENCHMARK = "benchmark.json"  # a run's test figures, for the leaderboard (train.commands.benchmark)

    def __init__(self, path: Path, files: dict[str, str | None]):
        self.path = Path(path)
        self.files = files  # name -> SHA-256 of what this run wrote

    @classmethod
    def create(cls, path: Path | str, overwrite: bool = False) -> RunFolder:
        """Start a run folder: new, empty, or (with ``overwrite``) one written by an earlier run.

        Call it after every input is checked: it is the first thing that touches the disk."""
        path = Path(path)
        check_not_inside_owned(path, "--out", allowed=(BENCHMARK.marker,))  # a benchmark's runs live in it
        listed = check_owned(path, MARKER, WRITER, "--out")
        if listed or (path.is_dir() and any(path.iterdir())):
            if not overwrite:
                raise InputError(f"{path} already holds a run; pass --overwrite to replace it, or a new --out folder")
        make_folder(path, "the run folder", "an --out")
        hold_writer_lock(path)
        for name in check_owned(path, MARKER, WRITER, "--out"):  # again, now that no other writer can change it
            (path / name).unlink(missing_ok=True)
        # Every name a run may write is listed before anything is written: a run killed mid-way
        # leaves only files its marker names, so the next --overwrite can clear them.
        run = cls(path, dict.fromkeys(cls.names()))
        run._write_marker()
        return run

    @classmethod
    def join(cls, path: Path | str) -> RunFolder:
        """A run folder to add files to (the baseline beside a trained run): an earlier run's, kept as it
        is, or a new one. A folder holding anything this tool did not write is refused."""
        path = Path(path)
        listed = check_owned(path, MARKER, WRITER, "--out")
        if not listed:
            return cls.create(path)
        hold_writer_lock(path)
        listed = check_owned(path, MARKER, WRITER, "--out")
        return cls(path, {**dict.fromkeys(cls.names()), **listed})

    @classmethod
    def resume(cls, path: Path | str) -> RunFolder:
        """An interrupted run to continue (``--resume``): its marker, a checkpoint, and every file it wrote
        unchanged since."""
        path = Path(path)
        listed = listed_files(path, MARKER, WRITER) if path.is_dir() else None
        if listed is None:
            raise InputError(f"{path} is not a run folder written by `{WRITER}` (no valid {MARKER}): --resume "
                             "continues a run that was interrupted there; leave --resume out to start one")
        if listed.get(cls.CHECKPOINT) is None or not (path / cls.CHECKPOINT).is_file():
            finished = listed.get(cls.METRICS_TEST) is not None and (path / cls.METRICS_TEST).is_file()
            raise InputError(f"{path} holds a finished run: nothing to resume" if finished else
                             f"{path} has no checkpoint: the run stopped before its first epoch ended; "
                             "train it again with --overwrite")
        cls._check_digests(path, listed)
        return cls(path, {**dict.fromkeys(cls.names()), **listed})

    @classmethod
    def names(cls) -> list[str]:
        return [value for key, value in vars(cls).items() if key.isupper() and isinstance(value, str)]

    @classmethod
    def open(cls, path: Path | str, need=(CONFIG, MODEL, THRESHOLDS, SPLITS)) -> RunFolder:
        """A finished run: the files ``need`` present, and every file it wrote that is there checked against
        the SHA-256 recorded when it was written (outputs such as metrics may be deleted: evaluate remakes them)."""
        path = Path(path)
        listed = listed_files(path, MARKER, WRITER) if path.is_dir() else None
        if listed is None:
            raise InputError(f"{path} is not a run folder written by `{WRITER}` (no valid {MARKER}); "
                             "train one with `python -m train --shards SHARDS --out RUN`")
        for name in need:
            if listed.get(name) is None or not (path / name).is_file():
                raise InputError(f"{path} has no finished {name}: the run did not finish; continue it with the same "
                                 "python -m train command and --resume, or train it again")
        cls._check_digests(path, listed)
        return cls(path, listed)

    @staticmethod
    def _check_digests(path: Path, listed: dict[str, str | None]) -> None:
        for name, digest in listed.items():
            if digest is not None and (path / name).is_file() and sha256_of(path / name) != digest:
                raise InputError(f"{path / name} changed since the run wrote it; "
                                 "restore the run folder or train again")

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def write(self, name: str, write: Callable[[str], None]) -> Path:
        """Write one file atomically (``write(tmp_path)``) and record its checksum."""
        target = self.path / name
        atomic_write(target, write)
        return self.adopt(name)

    def write_text(self, name: str, text: str) -> Path:
        return self.write(name, lambda tmp: Path(tmp).write_text(text))

    def write_json(self, name: str, data) -> Path:
        return self.write_text(name, json.dumps(data, indent=1, sort_keys=True))

    def save_model(self, model) -> Path:
        """Save a Keras model whole or not at all (Keras wants a name ending in .keras, even for the temporary)."""
        # A new name each time, created with O_EXCL and O_NOFOLLOW (mkstemp): Keras then writes into
        # a file this process just made, never through a link or over a file already there.
        handle, name = tempfile.mkstemp(dir=self.path, prefix=f".{self.MODEL}.", suffix=".tmp.keras")
        os.close(handle)
        tmp = Path(name)
        try:
            model.save(tmp)
            os.replace(tmp, self.path / self.MODEL)
        finally:
            tmp.unlink(missing_ok=True)
        return self.adopt(self.MODEL)

    def load_model(self):
        """The run's Keras model; a damaged or foreign file is one line."""
        from .tf_env import import_tensorflow

        import_tensorflow()
        import keras

        from . import losses  # noqa: F401  importing registers the losses and layers a saved model names
        from .models import features, layers  # noqa: F401

        try:
            # safe_mode: a model file may come from anyone; Keras then refuses to rebuild Python code
            # (Lambda layers, pickled functions) from it, and knows only registered classes.
            return keras.models.load_model(self.path / self.MODEL, safe_mode=True)
        except Exception as err:  # a damaged or foreign file whose checksum was recorded as is
            raise InputError(f"{self.path / self.MODEL} cannot be loaded ({str(err).splitlines()[0][:120]}); "
                             "train the run again") from None

    def adopt(self, name: str) -> Path:
        """Record a file a library wrote into the folder itself (a Keras checkpoint, a CSV log)."""
        self.files[name] = sha256_of(self.path / name)
        self._write_marker()
        return self.path / name

    def discard(self, name: str) -> None:
        """Remove a file this run wrote and no longer needs (the checkpoint of a finished run)."""
        (self.path / name).unlink(missing_ok=True)
        self.files[name] = None
        self._write_marker()

    def read_json(self, name: str):
        try:
            return json.loads((self.path / name).read_text())
        except (OSError, ValueError) as err:
            raise InputError(f"{self.path / name} is not readable JSON ({err}); restore the run folder "
                             "or train again") from None

    def _write_marker(self) -> None:
        hold_writer_lock(self.path)  # evaluate writes into an opened run: one writer at a time there too
        write_marker(self.path, RUN, self.files, writer_pid=os.getpid())


# One writer per run folder: a flock on the folder itself (no lock file that the marker would have to
# list), held until this process ends. Locks of one process are kept here: a second flock by the same
# process on another descriptor of the folder would refuse the process itself.
_HELD: dict[str, int] = {}


def hold_writer_lock(path: Path, marker: str = MARKER) -> None:
    """Be the one writer of the folder ``path`` (run or benchmark) until this process ends, or refuse
    naming the process that is (the ``writer_pid`` of its ``marker``)."""
    key = os.path.realpath(path)
    if key in _HELD:
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        try:
            holder = json.loads((Path(path) / marker).read_text()).get("writer_pid") or "another process"
        except (OSError, ValueError, AttributeError):
            holder = "another process"
        raise InputError(f"{path} is being written by process {holder} (a train, baseline, evaluate or "
                         "benchmark); wait for it to finish, or choose another --out") from None
    _HELD[key] = fd
