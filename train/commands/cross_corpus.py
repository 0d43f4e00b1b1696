"""``python -m train benchmark --cross-corpus``: what training on more corpora buys on a corpus's unseen speakers.

For every corpus T of the shards (the columns) and every training set (the rows: each
corpus alone, then all together), the default model is trained and tested on T's
speakers that training never heard:

* a corpus with at least ``MIN_SPEAKERS`` speakers is tested by speaker folds
  (``kfold`` over its own speakers, the folds of ``python -m train benchmark``): "T alone"
  trains on T's other speakers, "all" on those plus every clip of the other corpora;
  a row of other corpora only trains once on all their clips and is tested on all of T's
  speakers but the one that validates (no spread: one model);
* a corpus with fewer (TESS: one or two speakers) is tested whole, leave-one-corpus-out:
  "T alone" cannot be measured (no unseen speaker: ``-``) and "all" means all the others.

Validation (reported, never used to pick an epoch by the default's schedule) is speakers
of a corpus with folds. Each cell is a run folder ``OUT/cross-corpus/<rows>-to-<T>/<fold>``
(reused when finished, as the leaderboard's are), its split a file in ``OUT/plans/``;
``train baseline`` runs beside each. The matrix (single-label UA, mean ± spread over
folds) is printed, written to ``OUT/cross_corpus.md`` and drawn in ``OUT/cross_corpus.png``.

``seeds``: train every cell once per seed (the folds stay those of ``seed``): a fold's UA moves by a
few hundredths with the seed alone, as much as what adding a corpus does. The matrix is then the mean
± spread over folds and seeds, and below it, for each corpus with folds, what adding the other
corpora did on its unseen speakers: the mean of the paired differences ("all" minus the corpus
alone, same fold and seed) with its standard error.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from aggregate.errors import InputError
from aggregate.shards.reading import ShardsFolder
from aggregate.manifest.split_config import SplitConfig
from aggregate.manifest.split_assign import assign_splits
from aggregate.manifest.split_files import write_splits

from ..balance import balance_groups
from ..inputs import TrainOptions
from ..models import DEFAULT_MODEL
from .benchmark import FIGURES, _run, claim_folder, write_output

MIN_SPEAKERS = 4  # a corpus with fewer is tested whole (leave-one-corpus-out): folds would leave 0-1 speakers out
MATRIX, FIGURE, PLANS = "cross_corpus.md", "cross_corpus.png", "plans"
ALL = "all"


@dataclass(frozen=True)
class Cell:
    row: str  # a corpus name, or "all"
    column: str  # the corpus tested
    fold: str  # "fold0".., or "whole"
    table: pd.DataFrame  # sample_id, speaker, corpus, split (only the clips this cell uses)

    @property
    def key(self) -> str:
        """Identical splits train identical models: one run for both (e.g. 'all' = 'ravdess' with two corpora)."""
        text = self.table.sort_values("sample_id").to_csv(index=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan(clips: pd.DataFrame, folds: int, seed: int) -> list[Cell]:
    """Every (training set, tested corpus, fold) cell of the matrix, with its split."""
    corpora = sorted(clips["corpus"].unique())
    if len(corpora) < 2:
        raise InputError(f"the shards hold one corpus ({corpora[0]}); a cross-corpus benchmark needs two or more")
    speakers = clips.groupby("corpus")["speaker"].nunique()
    foldable = [c for c in corpora if speakers[c] >= MIN_SPEAKERS]
    if not foldable:
        raise InputError(f"no corpus has {MIN_SPEAKERS} speakers or more: nothing could validate or be tested by "
                         "speaker; add a corpus with more speakers")
    of = {c: clips[clips["corpus"] == c] for c in corpora}

    def fold_split(corpus: str, fold: int) -> pd.Series:
        part = of[corpus]
        return pd.Series(assign_splits(part, SplitConfig(strategy="kfold", folds=folds, fold=fold, seed=seed)),
                         index=part.index)

    def table(parts: list[tuple[pd.DataFrame, pd.Series | str]]) -> pd.DataFrame:
        frames = []
        for part, split in parts:
            frame = part[["sample_id", "speaker", "corpus"]].copy()
            frame["split"] = split
            frames.append(frame)
        return pd.concat(frames, ignore_index=True).astype("string")

    cells = []
    for column in corpora:
        others = [c for c in corpora if c != column]
        if column in foldable:
            for f in range(folds):
                own = fold_split(column, f)
                mine = (of[column], own)
                cells.append(Cell(column, column, f"fold{f}", table([mine])))
                cells.append(Cell(ALL, column, f"fold{f}", table([mine] + [(of[o], "train") for o in others])))
            held = fold_split(column, 0).replace({"train": "test"})  # all but the validating speakers
            for other in others:
                cells.append(Cell(other, column, "whole", table([(of[column], held), (of[other], "train")])))
        else:
            validating = next(c for c in foldable if c != column)
            val = fold_split(validating, 0).replace({"test": "train"})
            for row, trained in [(o, [o]) for o in others] + [(ALL, others)]:
                parts = [(of[column], "test")] + [(of[t], val if t == validating else "train") for t in trained]
                if validating not in trained:  # only its validating speakers
                    parts.append((of[validating][val == "val"], "val"))
                cells.append(Cell(row, column, "whole", table(parts)))
    return cells


def run_cross_corpus(shards: Path, out: Path, folds: int = 4, seed: int = 0, model: str = DEFAULT_MODEL,
                     corpus_balance: str = "speakers", balance_by: str = "sampling",
                     only_folds: list[int] | None = None, seeds: list[int] | None = None) -> str:
    """Train and test every cell of ``plan`` (``only_folds``: of the speaker folds, only these: a partial
    matrix, completed later by a run without it, which reuses the finished cells), once per training seed of
    ``seeds`` (default: ``seed`` alone; the folds are always ``seed``'s)."""
    seeds = seeds or [seed]
    out = Path(out)
    claim_folder(out)
    folder = ShardsFolder.open(shards, progress=True)
    manifest = folder.manifest()
    clips = manifest.clips[manifest.clips["sample_id"].isin(set(folder.places))].reset_index(drop=True)
    cells = plan(clips, folds, seed)
    if only_folds is not None:
        cells = [c for c in cells if c.fold == "whole" or int(c.fold[4:]) in only_folds]
    cells.sort(key=lambda c: c.fold != "whole")  # one run each first: the whole matrix early, then its spread
    (out / PLANS).mkdir(exist_ok=True)
    runs = []  # (cell, its split file, its run folder's name)
    for cell in cells:
        path = out / PLANS / f"{cell.key}.csv"
        if not path.is_file():
            write_splits(cell.table.reset_index(drop=True), path)
        trained = cell.table[cell.table["split"] == "train"]
        balanced = balance_groups(trained["corpus"], trained["speaker"], corpus_balance) is not None
        runs.append((cell, path, cell.key + (f"-{corpus_balance}-by-{balance_by}" if balanced else "")))
    results: dict[tuple[str, str, str, str, int], float] = {}
    for train_seed in seeds:  # every cell of one seed before the next: a stopped benchmark has whole matrices
        for cell, path, name_of_cell in runs:
            # the folds' seed keeps its old names: a benchmark run before --seeds is reused
            run_name = name_of_cell + (f"-seed{train_seed}" if train_seed != seed else "")
            for name in ("baseline", model):  # a balance that weighs every clip the same is the same run as none
                options = TrainOptions(shards=shards, out=out / "cross-corpus" / name / run_name, model=model,
                                       splits=path, seed=train_seed, verbose=0, corpus_balance=corpus_balance,
                                       balance_by=balance_by)
                record = _run(name, options)
                ua = FIGURES[0][1](record["test"])
                results[name, cell.row, cell.column, cell.fold, train_seed] = ua
                print(f"{name:<10} {cell.row:>10} -> {cell.column:<10} {cell.fold:<6} seed {train_seed:<3} "
                      f"UA {ua:.3f}  {record.get('seconds') or 0:7.1f} s", flush=True)
    rows = [c for c in sorted(clips["corpus"].unique())] + [ALL]
    columns = sorted(clips["corpus"].unique())
    text = (f"single-label UA on each corpus's unseen speakers; rows: what trained ({model}, corpus balance "
            f"{corpus_balance}, by {balance_by}; seeds {', '.join(map(str, seeds))}); the trivial predictor "
            f"scores 0.143\n\n"
            f"{model}\n{matrix(results, model, rows, columns)}\n\n"
            f"train baseline\n{matrix(results, 'baseline', rows, columns)}")
    added = [added_corpora(results, name, column) for name in (model, "baseline") for column in columns]
    if any(added):
        text += "\n\nadding the other corpora to training (all minus the corpus alone, same fold and seed):\n" + \
            "\n".join(line for line in added if line)
    write_output(out, MATRIX, lambda tmp: Path(tmp).write_text(text + "\n"))
    write_output(out, FIGURE, lambda tmp: heatmap(results, model, rows, columns, Path(tmp)))
    print(text)
    return text


def _values(results: dict, name: str, row: str, column: str) -> dict[tuple[str, int], float]:
    """(fold, seed) -> UA of one cell of the matrix."""
    return {(fold, seed): v for (n, r, c, fold, seed), v in sorted(results.items()) if (n, r, c) == (name, row, column)}


def matrix(results: dict, name: str, rows: list[str], columns: list[str]) -> str:
    """A Markdown table: mean ± spread (population standard deviation over folds and seeds), or one figure, or -."""
    lines = ["| trained on | " + " | ".join(f"tested on {c}" for c in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for row in rows:
        cells = []
        for column in columns:
            found = _values(results, name, row, column)
            values = list(found.values())
            folds, seeds = len({f for f, _ in found}), len({s for _, s in found})
            whole = all(f == "whole" for f, _ in found)
            runs = (f"{seeds} seeds" if whole else f"{folds} fold{'s' if folds > 1 else ''}"
                    + (f" x {seeds} seeds" if seeds > 1 else ""))
            cells.append("-" if not values else f"{np.mean(values):.3f}" if len(values) == 1
                         else f"{np.mean(values):.3f} ± {np.std(values):.3f} ({runs})")
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def added_corpora(results: dict, name: str, column: str) -> str:
    """What adding the other corpora did on ``column``'s unseen speakers: the mean of the paired differences
    (row "all" minus row ``column``, same fold and seed), its standard error, how many lower and higher; ""
    where no pair exists (a corpus tested whole, or nothing run yet)."""
    alone, pooled = _values(results, name, column, column), _values(results, name, ALL, column)
    pairs = sorted(set(alone) & set(pooled))
    if not pairs:
        return ""
    diff = np.array([pooled[p] - alone[p] for p in pairs])
    error = f", standard error {np.std(diff, ddof=1) / np.sqrt(len(diff)):.3f}" if len(diff) > 1 else ""
    return (f"{name} on {column}: {diff.mean():+.3f}{error} over {len(diff)} paired runs "
            f"({int((diff < 0).sum())} lower, {int((diff > 0).sum())} higher, {int((diff == 0).sum())} equal)")


def heatmap(results: dict, name: str, rows: list[str], columns: list[str], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.full((len(rows), len(columns)), np.nan)
    for i, row in enumerate(rows):
        for j, column in enumerate(columns):
            values = list(_values(results, name, row, column).values())
            if values:
                grid[i, j] = np.mean(values)
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(columns), 1.2 + 0.7 * len(rows)))
    image = ax.imshow(np.ma.masked_invalid(grid), cmap="viridis", vmin=1 / 7, vmax=1.0)
    for i in range(len(rows)):
        for j in range(len(columns)):
            ax.text(j, i, "-" if np.isnan(grid[i, j]) else f"{grid[i, j]:.3f}", ha="center", va="center",
                    color="white" if np.isnan(grid[i, j]) or grid[i, j] < 0.6 else "black")
    ax.set_xticks(range(len(columns)), [f"test: {c}" for c in columns])
    ax.set_yticks(range(len(rows)), [f"train: {r}" for r in rows])
    ax.set_title(f"{name}: UA on unseen speakers")
    fig.colorbar(image, ax=ax, label="UA (chance 0.143)")
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
    return path
