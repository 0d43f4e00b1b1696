"""``python -m train benchmark``: the leaderboard. Every model, the baseline and the trivial predictor
on the same speaker folds, then one clip-level random split that leaks speakers.

Each (model, split) run is a run folder ``OUT/<model>/<split>``; one that already holds
its test metrics is reused and one interrupted continues from its last finished epoch
(``--resume``), so an interrupted benchmark resumes where it stopped. The
seeds' models train ``seed_epochs`` epochs (CPU time); the default model its own. The
table (printed, and written to ``OUT/leaderboard.md``) gives the test split's mean and
spread (population standard deviation over folds) of single-label UA and WA, macro F1
and mAP. The trivial predictor scores every clip with the training split's emotion
rates: UA 1/7, WA the majority share, mAP the prevalence, macro F1 0.

``OUT`` must be new, empty, or a benchmark folder this command wrote (its marker
``.aggregate-benchmark``): the command never writes into, or replaces a leaderboard in,
a folder it did not make.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from aggregate.errors import InputError
from aggregate.files import atomic_write, sha256_of
from aggregate.manifest.split_config import SplitConfig
from aggregate.owned import BENCHMARK, check_owned, listed_files, write_marker
from aggregate.vocabulary import INDEX_FILE

from ..inputs import TrainOptions, load_splits, open_inputs
from ..metrics import evaluate
from ..models import DEFAULT_MODEL, MODELS
from ..run_folder import MARKER as RUN_MARKER
from ..run_folder import WRITER as RUN_WRITER
from ..run_folder import RunFolder, hold_writer_lock
from .baseline import baseline_run
from .train import train_run

FIGURES = (("UA", lambda m: m["single_label"]["unweighted_accuracy"]),
           ("WA", lambda m: m["single_label"]["weighted_accuracy"]),
           ("macro F1", lambda m: m["macro_f1"]), ("mAP", lambda m: m["mAP"]))
LEAKY_MODELS = (DEFAULT_MODEL, "conv1d")  # the default, and seed 002's network behind its 97 % on TESS
MARKER, WRITER, TABLE = BENCHMARK.marker, BENCHMARK.writer, "leaderboard.md"


def run_benchmark(shards: Path, out: Path, folds: int = 4, models: list[str] | None = None,
                  seed_epochs: int = 20, seed: int = 0) -> str:
    unknown = [m for m in models or () if m not in MODELS]
    if unknown:
        raise InputError(f"unknown model {unknown[0]!r}; use some of {', '.join(MODELS)}")
    if not models:  # every model these shards can feed: one reading a view they lack is named and left out
        from aggregate.shards.reading import ShardsFolder

        have = set(ShardsFolder.open(shards, check=False).views) | {"log_mel"}
        models = []
        for name, recipe in MODELS.items():
            lacking = [v for v in recipe.views if v not in have]
            if lacking:
                print(f"{name}: left out, the shards lack the view {lacking[0]} (render --views {lacking[0]} adds it)")
            else:
                models.append(name)
    models = list(models)
    out = Path(out)
    claim_folder(out)
    splits = {f"fold{f}": SplitConfig(strategy="kfold", folds=folds, fold=f, seed=seed) for f in range(folds)}
    leaky = SplitConfig(strategy="random", seed=seed)
    results: dict[tuple[str, str], dict] = {}
    plan = [(name, split) for split in splits for name in ["trivial", "baseline", *models]]
    plan += [(name, "random") for name in ["trivial", "baseline", *[m for m in LEAKY_MODELS if m in models]]]
    for name, split in plan:
        config = leaky if split == "random" else splits[split]
        model = name if name in MODELS else DEFAULT_MODEL  # trivial, baseline: the model is not used
        options = TrainOptions(shards=shards, out=out / name / split, model=model, split=config, seed=seed, verbose=0,
                               epochs=None if name == DEFAULT_MODEL else seed_epochs)
        start = time.perf_counter()
        results[name, split] = _run(name, options)
        print(f"{name:<18} {split:<7} UA {FIGURES[0][1](results[name, split]['test']):.3f}  "
              f"{results[name, split].get('seconds') or time.perf_counter() - start:7.1f} s", flush=True)
    table = leaderboard(results, list(splits), ["trivial", "baseline", *models])
    write_output(out, TABLE, lambda tmp: Path(tmp).write_text(table + "\n"))
    print(table)
    return table


def claim_folder(out: Path) -> None:
    """Make ``out`` this command's folder, or refuse it: new, empty, or holding the marker, the
    leaderboard, tables and figures it wrote (each still matching its checksum) and folders of runs,
    nothing else. Holds the folder for this process: a second benchmark into it is refused."""
    check_owned(out, MARKER, WRITER, "--out", subfolders=True)
    out.mkdir(parents=True, exist_ok=True)
    hold_writer_lock(out, MARKER)  # one benchmark per folder
    _write_marker(out, check_owned(out, MARKER, WRITER, "--out", subfolders=True))


def write_output(out: Path, name: str, write) -> None:
    """Write one of the folder's own files (``write(tmp)``, atomically) and record its checksum in the
    marker, so that a later benchmark replaces it only while it is still what this one wrote."""
    atomic_write(out / name, write)
    _write_marker(out, {**(listed_files(out, MARKER, WRITER) or {}), name: sha256_of(out / name)})


def _write_marker(out: Path, files: dict[str, str | None]) -> None:
    write_marker(out, BENCHMARK, files, writer_pid=os.getpid())


def _run(name: str, options: TrainOptions) -> dict:
    """One run's test (and timing) figures, reusing a finished run folder only when everything that
    made its result is the same (``_key``), resuming an interrupted one, and otherwise computing it again."""
    key = _key(name, options)
    folder = Path(options.out)
    reused = _reusable(folder, key)
    if reused is not None:
        return reused
    with contextlib.redirect_stdout(io.StringIO()):  # each run's own report stays in its folder
        if name == "trivial":
            result = _trivial(options)
        elif name == "baseline":
            result = baseline_run(options)
        else:
            # from its last finished epoch (--resume refuses a checkpoint made with other options); one
            # stopped before that, or stale, starts again (--overwrite removes only files matching its marker)
            resume = (folder / RunFolder.CHECKPOINT).is_file()
            result = train_run(replace(options, resume=resume, overwrite=not resume and folder.exists()))
    record = {"test": result["test"], "seconds": result.get("seconds"), "key": key}
    RunFolder.join(options.out).write_json(RunFolder.BENCHMARK, record)
    return record


def _key(name: str, options: TrainOptions) -> dict:
    """What made a result: the shards (their index's SHA-256 covers every shard's and the manifest's),
    the split, the model and every option (seed, epochs, ...), but not where the run folder is."""
    index = Path(options.shards) / INDEX_FILE
    made_of = {k: v for k, v in asdict(options).items() if k not in ("shards", "out", "verbose", "overwrite", "resume")}
    return {"name": name, "shards_index_sha256": sha256_of(index) if index.is_file() else None,
            "options": json.loads(json.dumps(made_of, sort_keys=True, default=str))}


def _reusable(out: Path, key: dict) -> dict | None:
    """The earlier result in ``out`` if it was made by ``key`` and its file is the one the run wrote (its
    SHA-256 in the run folder's marker); None to compute it again; one line for an edited or garbled file."""
    done = out / RunFolder.BENCHMARK
    if not done.exists() and not done.is_symlink():
        return None
    digest = (listed_files(out, RUN_MARKER, RUN_WRITER) or {}).get(RunFolder.BENCHMARK)
    if done.is_symlink() or not done.is_file() or digest is None or sha256_of(done) != digest:
        raise InputError(f"{done} is not the file the benchmark wrote (it differs from the checksum in "
                         f"{out / RUN_MARKER}): it was edited or copied in; move it away, or choose another --out")
    try:
        record = json.loads(done.read_text(encoding="utf-8"))
        for _, figure in FIGURES:
            float(figure(record["test"]))
    except (ValueError, TypeError, KeyError, UnicodeDecodeError) as err:
        raise InputError(f"{done} is not a benchmark result ({type(err).__name__}: {err}); "
                         "move it away, or choose another --out") from None
    return record if record.get("key") == key else None


def _trivial(options: TrainOptions) -> dict:
    shards, clips, _ = open_inputs(options)
    data = load_splits(shards, options, clips)
    prior = data["train"].labels.mean(0)
    test = data["test"]
    return {"test": evaluate(test.labels, np.tile(prior, (len(test), 1)), 0.5, test.corpora)}


def leaderboard(results: dict, folds: list[str], names: list[str]) -> str:
    """A Markdown table: per model, mean ± spread over the speaker folds, then the random split's figures."""
    head = "| model | " + " | ".join(f"{f} (speaker folds)" for f, _ in FIGURES) + \
           " | s per fold | " + " | ".join(f"{f} (random split)" for f, _ in FIGURES[:2]) + " |"
    lines = [head, "|" + "---|" * (1 + len(FIGURES) + 1 + 2)]
    for name in names:
        runs = [results[name, f] for f in folds if (name, f) in results]
        if not runs:
            continue
        cells = []
        for _, figure in FIGURES:
            values = np.array([figure(r["test"]) or 0.0 for r in runs])
            cells.append(f"{values.mean():.3f} ± {values.std():.3f}")
        seconds = [r["seconds"] for r in runs if r.get("seconds")]
        cells.append(f"{np.mean(seconds):.0f}" if seconds else "-")
        leak = results.get((name, "random"))
        cells += [f"{figure(leak['test']):.3f}" if leak else "-" for _, figure in FIGURES[:2]]
        label = name if len(runs) == len(folds) else f"{name} ({len(runs)} of {len(folds)} folds)"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
