"""Assigning speaker-disjoint train/val/test splits to the manifest's clips.

``assign_splits(clips, config)`` gives every clip ``"train"``, ``"val"`` or
``"test"``. The rules, for every strategy:

- **Whole speakers.** A speaker's clips all get the same split, so no voice is
  heard in training and scored in evaluation. ``check_speaker_disjoint`` proves
  it for any assignment (one computed here, read from a file, or the manifest's).
- **Deterministic.** The same clips and the same ``SplitConfig`` give the same
  assignment whatever the row order: speakers are sorted by name and each
  corpus draws from its own generator, seeded by ``(seed, corpus name)``, so
  adding a corpus does not reshuffle the others. Another seed gives (usually)
  another assignment.
- **Per corpus.** Each corpus is split on its own, so every corpus with enough
  speakers is represented in every split, in about the target shares.

Strategies (``SplitConfig.strategy``):

``"speakers"`` (default)
    Each corpus's clips are split about ``fractions`` (80/10/10 of clips) by
    whole speakers. A seeded search deals the speakers ``RESTARTS`` times, each
    time in a new random order, always to the split furthest below its target
    clip count. A deal's score is how far its clip shares are from the targets
    plus ``LABEL_WEIGHT`` times how far each split's emotion rates are from the
    corpus's (L1 distances). Of the deals within ``SLACK`` of the best score
    the first in the seeded order is taken, then polished: single moves and
    swaps of speakers between splits while they lower the score (swapping two
    similar speakers fixes the label mix without moving the shares). Where the
    best split is clear-cut (IEMOCAP's 10 speakers) several seeds may hold out
    the same speakers; for speaker-level cross-validation use ``"kfold"``.

    Small corpora never fail. With at least as many speakers as splits wanted
    (splits with a fraction > 0), every wanted split gets at least one speaker.
    With fewer (real TESS has 2 speakers), the whole corpus goes to train: one
    TESS speaker in test would be 1,400 clips, half the test split and 18 % of
    all clips instead of 10 %, and would say little about unseen speakers
    anyway. Such a corpus is evaluated with ``"leave-one-corpus-out"``.

``"leave-one-corpus-out"``
    Every clip of ``test_corpus`` is test; each other corpus is split
    train/val by speaker as above, val taking about
    ``fractions[1] / (fractions[0] + fractions[1])`` of its clips.

``"kfold"``
    Each corpus's speakers are shuffled (seeded), then dealt largest first to
    the fold with the fewest clips of that corpus so far (ties: a seeded fold
    order), so each fold holds about ``1 / folds`` of each corpus. Fold
    ``fold`` is test; the deal does not depend on ``fold``, so folds 0..k-1
    test every speaker once. The other folds' speakers are split train/val as
    in ``"leave-one-corpus-out"`` (val about ``fractions[1] / (fractions[0] +
    fractions[1])``, 11 % by default): a whole fold as validation would leave
    a 4-fold run only half the speakers to train on.

``"random"`` (leaks speakers: for showing the leak, never for a figure)
    Each clip is dealt on its own, seeded per corpus, about ``fractions`` of
    each corpus's clips, whoever speaks it. A speaker's voice is then heard in
    training and scored in test, which is how clip-level splits report 97 %
    on two-speaker TESS. It is the one strategy ``check_speaker_disjoint``
    does not hold for; callers skip that check only when ``strategy`` says
    ``"random"`` (see ``SplitConfig.speaker_disjoint``).

A split can end up empty (two speakers in all): ``assign_splits`` does not
fail, ``require_nonempty`` says so when a caller needs the split.
"""
from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from ..corpora import CORPORA
from ..vocabulary import EMOTIONS, SPLITS
from .split_config import TEST, TRAIN, VAL, SplitConfig, SplitError

CORPUS_ORDER: tuple[str, ...] = tuple(CORPORA)  # the registry's order; table corpora follow by name
LABEL_COLUMNS: tuple[str, ...] = tuple(f"label_{e}" for e in EMOTIONS)

RESTARTS = 128  # deals tried per corpus: enough to balance labels, cheap (vectorised over deals)
LABEL_WEIGHT = 0.5  # clip shares matter more than label balance; both are L1 distances
SLACK = 0.01  # deals this close to the best score are as good: the seed picks among them
MAX_SWAP_SPEAKERS = 400  # above this, polishing tries moves only (swap arrays: speakers^2 x 3 x 7)


def assign_splits(clips: pd.DataFrame, config: SplitConfig = SplitConfig()) -> pd.Series:
    """The split of every clip (a string Series named ``split``, aligned with ``clips.index``).

    Uses the columns ``sample_id``, ``corpus``, ``speaker`` and the ``label_<emotion>``
    columns present. See the module docstring for the rules of each strategy.
    """
    speakers = _speaker_table(clips)
    if config.strategy == "random":
        return _assign_random(clips, config)
    if config.strategy == "kfold":
        chosen = _assign_kfold(speakers, config)
    elif config.strategy == "leave-one-corpus-out":
        chosen = _assign_leave_one_out(speakers, config)
    else:
        chosen = _assign_by_speaker(speakers, np.array(config.fractions), config.seed)
    names = pd.Series(np.array(SPLITS, dtype=object)[chosen], index=speakers.index)
    return clips["speaker"].map(names).astype("string").rename("split")


def _speaker_table(clips: pd.DataFrame) -> pd.DataFrame:
    """One row per speaker, sorted by name: corpus, clip count and clips per emotion."""
    missing = [c for c in ("sample_id", "corpus", "speaker") if c not in clips.columns]
    if missing:
        raise SplitError(f"the clips lack the column(s) {', '.join(missing)}; pass the manifest's clips table")
    for column in ("sample_id", "corpus", "speaker"):
        if clips[column].isna().any():
            raise SplitError(f"{int(clips[column].isna().sum())} clip(s) have no {column}; "
                             "every clip needs one to be split by speaker")
    if clips["sample_id"].duplicated().any():
        raise SplitError(f"sample_id {clips.loc[clips['sample_id'].duplicated(), 'sample_id'].iloc[0]!r} "
                         "appears twice; rebuild the manifest")
    labels = [c for c in LABEL_COLUMNS if c in clips.columns]
    frame = clips[["speaker", "corpus"]].astype(str)
    frame[labels] = clips[labels].fillna(0).astype(float).to_numpy()
    frame["clips"] = 1.0
    table = frame.groupby("speaker", sort=True).agg(
        corpus=("corpus", "first"), n_corpora=("corpus", "nunique"),
        **{c: (c, "sum") for c in ["clips", *labels]})
    shared = table.index[table["n_corpora"] > 1]
    if len(shared):
        raise SplitError(f"speaker {shared[0]!r} appears in more than one corpus; speakers must be unique "
                         "across corpora (the manifest prefixes them with the corpus, e.g. 'tess:OAF')")
    return table.drop(columns="n_corpora")


def corpora_in_order(corpora) -> list[str]:
    """The corpora present, in the manifest's order, then any others by name."""
    present = set(corpora)
    return [c for c in CORPUS_ORDER if c in present] + sorted(present - set(CORPUS_ORDER))


def _rng(seed: int, corpus: str) -> np.random.Generator:
    # crc32, not hash(): Python salts str hashes per process.
    return np.random.default_rng([int(seed), zlib.crc32(corpus.encode())])


def _assign_by_speaker(speakers: pd.DataFrame, fractions: np.ndarray, seed: int) -> np.ndarray:
    """Split index per speaker, each corpus split about ``fractions`` of its clips."""
    chosen = np.zeros(len(speakers), dtype=int)
    labels = speakers[[c for c in LABEL_COLUMNS if c in speakers.columns]].to_numpy(float)
    sizes = speakers["clips"].to_numpy(float)
    wanted = [k for k in range(3) if fractions[k] > 0]
    for corpus in corpora_in_order(speakers["corpus"]):
        rows = np.flatnonzero(speakers["corpus"].to_numpy() == corpus)
        rng = _rng(seed, corpus)
        if len(rows) < len(wanted):
            chosen[rows] = TRAIN  # too few speakers to hold any out; see the module docstring
        else:
            chosen[rows] = _search(sizes[rows], labels[rows], fractions, rng)
    return chosen


def _search(sizes: np.ndarray, labels: np.ndarray, fractions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The kept split of one corpus's speakers (split index per speaker); see the module docstring."""
    deals = _deal(sizes, fractions, rng)
    onehot = deals[:, :, None] == np.arange(3)  # (deals, speakers, splits)
    scores = _objective(np.einsum("rnk,n->rk", onehot, sizes), np.einsum("rnk,ne->rke", onehot, labels),
                        sizes, labels, fractions)
    good = np.flatnonzero(scores <= scores.min() + SLACK)
    # Deals are in seeded random order: the first good one is a seeded pick among near-best ones.
    return _polish(deals[good[0]], sizes, labels, fractions)


def _deal(sizes: np.ndarray, fractions: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``RESTARTS`` deals, shape (RESTARTS, speakers): each in its own random order, the first
    speakers one to each wanted split, then each to the split furthest below its target."""
    n, wanted = len(sizes), np.flatnonzero(fractions > 0)
    orders = np.argsort(rng.random((RESTARTS, n)), axis=1)
    # A random half clip on the targets breaks exact ties (equal-size speakers) differently per deal.
    targets = fractions * sizes.sum() + rng.random((RESTARTS, 3)) * 0.5
    targets[:, fractions <= 0] = -np.inf  # never deal to a split that is not wanted
    counts = np.zeros((RESTARTS, 3))
    deals = np.empty((RESTARTS, n), dtype=int)
    every = np.arange(RESTARTS)
    for step in range(n):
        speaker = orders[:, step]
        if step < len(wanted):
            split = np.full(RESTARTS, wanted[step])
        else:
            split = np.argmax(targets - counts, axis=1)
        deals[every, speaker] = split
        counts[every, split] += sizes[speaker]
    return deals


def _objective(counts: np.ndarray, sums: np.ndarray, sizes: np.ndarray, labels: np.ndarray,
               fractions: np.ndarray) -> np.ndarray:
    """Score of splits with clip ``counts`` (..., 3) and clips per emotion ``sums`` (..., 3, E); lower
    is better: the L1 distance of clip shares to ``fractions``, plus LABEL_WEIGHT times the mean (over
    non-empty wanted splits) L1 distance of each split's emotion rates to the corpus's."""
    share_error = np.abs(counts / sizes.sum() - fractions).sum(axis=-1)
    if labels.shape[1] == 0:
        return share_error
    rates = sums / np.maximum(counts, 1)[..., None]
    distance = np.abs(rates - labels.sum(axis=0) / sizes.sum()).sum(axis=-1)
    used = (counts > 0) & (fractions > 0)
    label_error = (distance * used).sum(axis=-1) / np.maximum(used.sum(axis=-1), 1)
    return share_error + LABEL_WEIGHT * label_error


def _polish(deal: np.ndarray, sizes: np.ndarray, labels: np.ndarray, fractions: np.ndarray,
            max_steps: int = 200) -> np.ndarray:
    """Hill-climb from ``deal``: make the best single move of a speaker to another split, or swap
    of two speakers between splits, while that lowers the score. Swaps of similar speakers fix the
    label mix without moving the clip shares, which dealing alone cannot aim for."""
    deal, eye = deal.copy(), np.eye(3)
    allowed = fractions > 0
    swaps = len(sizes) <= MAX_SWAP_SPEAKERS  # the swap arrays grow with speakers squared
    for _ in range(max_steps):
        onehot = eye[deal]  # (speakers, splits)
        counts, sums = onehot.T @ sizes, onehot.T @ labels
        current = _objective(counts, sums, sizes, labels, fractions)
        # Moves: speaker i to split k; none into an unwanted split or out of a split's last speaker.
        change = eye[None, :, :] - onehot[:, None, :]  # (i, k, splits)
        moved = _objective(counts + change * sizes[:, None, None],
                           sums + change[..., None] * labels[:, None, None, :], sizes, labels, fractions)
        last = onehot.sum(axis=0)[deal] <= 1
        moved[:, ~allowed] = np.inf
        moved[last, :] = np.inf
        best_move = np.unravel_index(np.argmin(moved), moved.shape)
        best = moved[best_move]
        if swaps:  # swap i and j: i takes j's split, j takes i's
            change = onehot[None, :, :] - onehot[:, None, :]  # (i, j, splits)
            swapped = _objective(counts + (sizes[:, None] - sizes[None, :])[..., None] * change,
                                 sums + change[..., None] * (labels[:, None, :] - labels[None, :, :])[:, :, None, :],
                                 sizes, labels, fractions)
            best_swap = np.unravel_index(np.argmin(swapped), swapped.shape)
            if swapped[best_swap] < best:
                best = swapped[best_swap]
        if not best < current - 1e-12:
            return deal
        if swaps and best == swapped[best_swap] and best < moved[best_move]:
            i, j = best_swap
            deal[i], deal[j] = deal[j], deal[i]
        else:
            i, k = best_move
            deal[i] = k
    return deal


def _assign_leave_one_out(speakers: pd.DataFrame, config: SplitConfig) -> np.ndarray:
    """``test_corpus`` all test; the others train/val by speaker."""
    corpora = corpora_in_order(speakers["corpus"])
    if config.test_corpus not in corpora:
        raise SplitError(f"test corpus {config.test_corpus!r} has no clips here; the clips hold "
                         f"{', '.join(corpora) or 'nothing'}: pass one of them as --test-corpus")
    return _train_val_beside(speakers, (speakers["corpus"] == config.test_corpus).to_numpy(), config)


def _train_val_beside(speakers: pd.DataFrame, test: np.ndarray, config: SplitConfig) -> np.ndarray:
    """``test`` speakers test; the others train/val by speaker, in the share of ``fractions``' first two."""
    train, val, _ = config.fractions
    chosen = np.full(len(speakers), TEST)
    chosen[~test] = _assign_by_speaker(speakers[~test], np.array([train, val, 0.0]) / (train + val), config.seed)
    return chosen


def _assign_kfold(speakers: pd.DataFrame, config: SplitConfig) -> np.ndarray:
    """Deal each corpus's speakers into folds, then name the folds' splits."""
    folds = np.zeros(len(speakers), dtype=int)
    for corpus in corpora_in_order(speakers["corpus"]):
        rows = np.flatnonzero(speakers["corpus"].to_numpy() == corpus)
        folds[rows] = _deal_folds(speakers["clips"].to_numpy()[rows], config.folds, _rng(config.seed, corpus))
    return _train_val_beside(speakers, folds == config.fold, config)


def _assign_random(clips: pd.DataFrame, config: SplitConfig) -> pd.Series:
    """Clip by clip, about ``fractions`` of each corpus, seeded per corpus: speakers leak (see the module doc)."""
    _speaker_table(clips)  # the same checks of the columns as every strategy
    chosen = np.zeros(len(clips), dtype=int)
    corpus = clips["corpus"].astype(str).to_numpy()
    order = np.argsort(clips["sample_id"].astype(str).to_numpy(), kind="stable")  # row order does not matter
    for name in corpora_in_order(corpus):
        rows = order[corpus[order] == name]
        shuffled = rows[_rng(config.seed, name).permutation(len(rows))]
        edges = np.round(np.cumsum(config.fractions)[:2] * len(rows)).astype(int)
        chosen[shuffled[edges[0]:edges[1]]], chosen[shuffled[edges[1]:]] = VAL, TEST
    return pd.Series(np.array(SPLITS, dtype=object)[chosen], index=clips.index, dtype="string", name="split")


def _deal_folds(sizes: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold per speaker: largest speakers first (random among equal sizes), each to the fold
    with the fewest clips; ties go by a seeded fold order, so small corpora spread over folds."""
    shuffled = rng.permutation(len(sizes))
    order = shuffled[np.argsort(-sizes[shuffled], kind="stable")]
    tie_break = rng.permutation(folds) / (2.0 * folds)  # < 1/2: decides only between equal counts
    counts = np.zeros(folds)
    fold_of = np.empty(len(sizes), dtype=int)
    for speaker in order:
        fold = int(np.argmin(counts + tie_break))
        fold_of[speaker] = fold
        counts[fold] += sizes[speaker]
    return fold_of
