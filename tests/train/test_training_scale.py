"""Training at scale: the step budget, the cross-corpus plan and its matrix, the device line, epoch seconds."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from aggregate.errors import InputError
from aggregate.manifest.split_checks import leaking_speakers


def test_the_budget_keeps_the_reference_epochs_and_grows_steps_slower_than_the_data():
    from train.fit import planned_epochs
    from train.models import MODELS

    recipe = MODELS["fusion"]
    reference = recipe.reference_clips
    for n in (10, reference // 2, reference):
        assert planned_epochs(recipe, n, 32) == recipe.epochs  # where the default was chosen: unchanged
    steps = {n: planned_epochs(recipe, n, 32) * math.ceil(n / 32) for n in (reference, 4 * reference, 36 * reference)}
    epochs = {n: planned_epochs(recipe, n, 32) for n in steps}
    assert steps[reference] < steps[4 * reference] < steps[36 * reference]  # more data: more steps ...
    assert epochs[reference] > epochs[4 * reference] > epochs[36 * reference] >= 1  # ... but fewer passes
    assert abs(steps[4 * reference] / steps[reference] - 2) < 0.1  # square root: 4x the clips, 2x the steps
    assert planned_epochs(MODELS["paper-cnn"], 100_000, 32) == MODELS["paper-cnn"].epochs  # no budget: its own


def test_the_budget_follows_what_a_balanced_split_is_worth():
    from train.balance import effective_clips, equal_shares
    from train.fit import planned_epochs
    from train.models import MODELS

    recipe = MODELS["fusion"]
    # one speaker of 1,400 clips beside 8 of 52, each speaker weighing the same
    speakers = np.array(["tess"] * 1400 + [f"ravdess/{a}" for a in range(8) for _ in range(52)])
    weights = equal_shares(speakers)
    assert effective_clips(len(speakers), weights) == pytest.approx(524.07, abs=0.01)
    assert effective_clips(len(speakers)) == len(speakers)
    assert effective_clips(10, np.ones(10)) == pytest.approx(10)  # equal weights: every clip counts
    unweighted = planned_epochs(recipe, len(speakers), 32)
    balanced = planned_epochs(recipe, len(speakers), 32, weights)
    assert balanced < unweighted
    # the balanced split gets the steps of a split of 524 clips: what 524 unweighted clips would get
    worth = planned_epochs(recipe, 524, 32) * math.ceil(524 / 32)
    assert abs(balanced * math.ceil(len(speakers) / 32) - worth) <= math.ceil(len(speakers) / 32) / 2
    # worth fewer clips than the reference: the recipe's epochs of that many clips, never more passes
    few = equal_shares(np.array(["tess"] * 1400 + ["ravdess/01"] * 52))
    assert effective_clips(1452, few) < recipe.reference_clips
    steps = planned_epochs(recipe, 1452, 32, few) * math.ceil(1452 / 32)
    assert abs(steps - recipe.epochs * math.ceil(effective_clips(1452, few) / 32)) <= math.ceil(1452 / 32) / 2


def _clips() -> pd.DataFrame:
    """Corpus a: 8 speakers; b: 1 speaker (too few for folds); c: 6 speakers; 6 clips per speaker."""
    rows = []
    for corpus, speakers in [("a", 8), ("b", 1), ("c", 6)]:
        for s in range(speakers):
            for k in range(6):
                labels = np.eye(7, dtype=int)[k % 7]
                rows.append({"sample_id": f"{corpus}:{s}:{k}", "speaker": f"{corpus}:{s}", "corpus": corpus,
                             **{f"label_{e}": v for e, v in zip(range(7), labels)}})
    return pd.DataFrame(rows)


def test_the_cross_corpus_plan_tests_only_unseen_speakers():
    from train.commands.cross_corpus import ALL, plan

    clips = _clips()
    cells = plan(clips, folds=4, seed=0)
    for cell in cells:
        table = cell.table
        assert leaking_speakers(table, table["split"]).empty, (cell.row, cell.column, cell.fold)
        assert set(table["split"]) == {"train", "val", "test"}
        assert set(table.loc[table["split"] == "test", "corpus"]) == {cell.column}  # tested on one corpus
        trained = set(table.loc[table["split"] == "train", "corpus"])
        if cell.row == ALL:
            assert trained == ({"a", "b", "c"} if cell.column != "b" else {"a", "c"})
        else:
            assert trained == {cell.row}
    folded = [c for c in cells if c.column == "a" and c.row == "a"]
    assert len(folded) == 4  # a corpus with folds: tested fold by fold, every speaker once
    tested = [set(c.table.loc[c.table["split"] == "test", "speaker"]) for c in folded]
    assert set().union(*tested) == {f"a:{s}" for s in range(8)} and sum(map(len, tested)) == 8
    assert not [c for c in cells if c.row == "b" and c.column == "b"]  # one speaker: never tested on itself
    whole_b = [c for c in cells if c.column == "b"]
    assert {c.row for c in whole_b} == {"a", "c", ALL} and all(c.fold == "whole" for c in whole_b)


def test_two_corpora_of_which_one_is_small_share_the_leave_one_out_run():
    from train.commands.cross_corpus import ALL, plan

    clips = _clips()
    cells = plan(clips[clips["corpus"] != "c"], folds=4, seed=0)
    on_b = {c.row: c.key for c in cells if c.column == "b"}
    assert on_b["a"] == on_b[ALL]  # "all but b" is "a": the same split, one run
    with pytest.raises(InputError, match="one corpus"):
        plan(clips[clips["corpus"] == "a"], folds=4, seed=0)
    with pytest.raises(InputError, match="4 speakers or more"):
        plan(clips[clips["corpus"] == "b"].assign(corpus=lambda f: np.where(f.index % 2, "b", "d")), 4, 0)


def test_the_matrix_and_heatmap_show_mean_spread_and_gaps(tmp_path):
    from train.commands.cross_corpus import heatmap, matrix

    results = {("fusion", "a", "a", "fold0", 0): 0.5, ("fusion", "a", "a", "fold1", 0): 0.7,
               ("fusion", "b", "a", "whole", 0): 0.3, ("fusion", "all", "b", "whole", 0): 0.4}
    text = matrix(results, "fusion", ["a", "b", "all"], ["a", "b"])
    lines = text.splitlines()
    assert lines[2] == "| a | 0.600 ± 0.100 (2 folds) | - |"
    assert lines[3] == "| b | 0.300 | - |" and lines[4] == "| all | - | 0.400 |"
    path = heatmap(results, "fusion", ["a", "b", "all"], ["a", "b"], tmp_path / "m.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    seeded = {**results, ("fusion", "a", "a", "fold0", 1): 0.6, ("fusion", "a", "a", "fold1", 1): 0.8}
    assert matrix(seeded, "fusion", ["a"], ["a"]).splitlines()[2] == "| a | 0.650 ± 0.112 (2 folds x 2 seeds) |"


def test_what_adding_corpora_does_is_the_mean_of_paired_differences():
    from train.commands.cross_corpus import added_corpora

    alone = {("fold0", 0): 0.50, ("fold1", 0): 0.60, ("fold0", 1): 0.40, ("fold1", 1): 0.70}
    pooled = {("fold0", 0): 0.55, ("fold1", 0): 0.60, ("fold0", 1): 0.35}  # fold1 seed 1 not run yet: no pair
    results = {("fusion", "a", "a", f, s): v for (f, s), v in alone.items()}
    results |= {("fusion", "all", "a", f, s): v for (f, s), v in pooled.items()}
    results[("fusion", "all", "b", "whole", 0)] = 0.4  # a corpus tested whole has nothing to pair
    differences = np.array([0.05, 0.0, -0.05])
    error = np.std(differences, ddof=1) / np.sqrt(3)
    assert added_corpora(results, "fusion", "a") == (
        f"fusion on a: +0.000, standard error {error:.3f} over 3 paired runs (1 lower, 1 higher, 1 equal)")
    assert added_corpora(results, "fusion", "b") == "" and added_corpora(results, "baseline", "a") == ""
    one = {k: v for k, v in results.items() if k[3:] == ("fold0", 0)}
    assert added_corpora(one, "fusion", "a") == "fusion on a: +0.050 over 1 paired runs (0 lower, 1 higher, 0 equal)"


def test_seeds_belong_to_the_cross_corpus_benchmark_and_are_checked(demo_shards, tmp_path):
    from helpers import one_error_line, run_module

    for extra, words in ((["--cross-corpus", "--seeds", "0,x"], ("--seeds", "'0,x'")),
                         (["--cross-corpus", "--seeds", "1,1"], ("--seeds",)),
                         (["--seeds", "0,1"], ("--seeds", "--cross-corpus"))):
        result = run_module("train", "benchmark", "--shards", str(demo_shards), "--out", str(tmp_path / "b"), *extra)
        one_error_line(result, *words)
    assert not (tmp_path / "b").exists()  # refused before anything was written


@pytest.mark.slow  # TensorFlow
def test_a_run_says_its_device_and_logs_each_epochs_seconds(demo_shards, tmp_path):
    from helpers import run_module

    run = tmp_path / "run"
    result = run_module("train", "--shards", str(demo_shards), "--out", str(run), "--model", "paper-cnn",
                        "--model-option", "small=true", "--epochs", "2", "--limit", "24", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "training on the CPU" in result.stdout  # no GPU in tests
    history = pd.read_csv(run / "history.csv")
    assert len(history) == 2 and (history["seconds"] > 0).all()


def test_corpus_balance_weighs_each_corpus_the_same():
    from types import SimpleNamespace

    from train.balance import balance_weights

    corpora = np.array(["ravdess"] * 10 + ["tess"] * 30)
    weights = balance_weights(SimpleNamespace(corpora=corpora, speakers=np.arange(40)), "equal")
    assert weights.mean() == pytest.approx(1.0)
    assert weights[corpora == "ravdess"].sum() == pytest.approx(weights[corpora == "tess"].sum())
    assert balance_weights(SimpleNamespace(corpora=np.array(["tess"] * 5), speakers=np.arange(5)), "equal") is None


def test_speaker_balance_weighs_each_speaker_the_same_and_the_emotions_as_weighed():
    from types import SimpleNamespace

    from train.balance import balance_weights
    from train.fit import loss_weights
    from train.models import MODELS

    # 3 RAVDESS actors of 4 clips (one neutral each), 1 TESS speaker of 12 clips (three neutral), actor "01" in both
    speakers = ["01"] * 4 + ["02"] * 4 + ["03"] * 4 + ["01"] * 12
    corpora = ["ravdess"] * 12 + ["tess"] * 12
    split = SimpleNamespace(speakers=np.array(speakers), corpora=np.array(corpora))
    weights = balance_weights(split, "speakers")
    assert weights.mean() == pytest.approx(1.0)
    people = [f"{c}/{s}" for c, s in zip(corpora, speakers)]
    totals = {p: weights[[q == p for q in people]].sum() for p in set(people)}
    assert len(totals) == 4 and np.allclose(list(totals.values()), 6.0)  # 24 clips / 4 speakers each
    assert balance_weights(split, "none") is None
    assert balance_weights(split, "equal") is None  # two corpora of 12 clips: they weigh the same already
    same = SimpleNamespace(speakers=np.array(["a"] * 3 + ["b"] * 3), corpora=np.array(["x"] * 6))
    assert balance_weights(same, "speakers") is None  # nothing to balance: the same run as none

    labels = np.zeros((24, 7))
    neutral = [0, 4, 8, 12, 13, 14, 15, 16, 17]  # one of 4 clips of each actor, half of TESS's
    labels[neutral, 0] = 1
    labels[[i for i in range(24) if i not in neutral], 1] = 1
    # pooled: neutral 9 clips, anger 15 (mean 12): 12 / 9. By speaker (RAVDESS clips 1.5, TESS's 0.5):
    # neutral 3 x 1.5 + 6 x 0.5 = 7.5, anger 9 x 1.5 + 6 x 0.5 = 16.5: 12 / 7.5 and 12 / 16.5
    assert loss_weights(MODELS["fusion"], labels, True)[:2] == pytest.approx([12 / 9, 12 / 15])
    assert loss_weights(MODELS["fusion"], labels, True, weights)[:2] == pytest.approx([12 / 7.5, 12 / 16.5])


def test_each_epoch_draws_every_speaker_an_equal_share_and_spreads_a_big_one_over_epochs():
    from train.data import epoch_draws

    # one speaker of 140 clips, eight of 5: 180 samples an epoch, 20 a speaker
    groups = np.array(["tess/oaf"] * 140 + [f"ravdess/{a}" for a in range(8) for _ in range(5)])
    draws = epoch_draws(groups, len(groups), seed=1)
    assert draws.sum() == len(groups)
    shares = {g: draws[groups == g].sum() for g in set(groups)}
    assert set(shares.values()) == {20}
    assert set(draws[groups != "tess/oaf"]) == {4}  # 20 draws over 5 clips: each 4 times
    big = draws[groups == "tess/oaf"]
    assert set(big) == {0, 1} and big.sum() == 20  # 20 of its 140 clips, once each
    again, other = epoch_draws(groups, len(groups), seed=1), epoch_draws(groups, len(groups), seed=2)
    assert np.array_equal(draws, again)  # seeded
    assert not np.array_equal(big, other[groups == "tess/oaf"])  # another epoch, other clips
    # shares that do not divide: within one of each other, and still every sample drawn
    odd = epoch_draws(np.array(["a"] * 7 + ["b"] * 3 + ["c"]), 11, seed=0)
    assert odd.sum() == 11 and sorted([odd[:7].sum(), odd[7:10].sum(), odd[10]]) == [3, 4, 4]


@pytest.mark.slow  # TensorFlow
def test_a_balanced_epoch_reads_exactly_the_clips_it_drew(demo_shards):
    from aggregate.shards.reading import ShardsFolder
    from train.data import epoch_draws, load_split, make_dataset

    folder = ShardsFolder.open(demo_shards)
    split = load_split(folder, folder.places)
    groups = np.asarray(split.corpora)
    assert len(set(np.unique(groups, return_counts=True)[1])) > 1  # corpora of unequal sizes: something to balance
    ids = np.arange(len(split), dtype=np.float32)  # a weight that names the clip
    batches = make_dataset(split, 16, shuffle=True, seed=5, sample_weights=ids, groups=groups, epochs=range(1, 3))
    per_epoch = int(np.ceil(len(split) / 16))
    names = [w.numpy().astype(int) for _, _, w in batches]
    assert len(names) == 2 * per_epoch
    for k, epoch in enumerate((1, 2)):
        seen = np.bincount(np.concatenate(names[k * per_epoch:(k + 1) * per_epoch]), minlength=len(split))
        assert np.array_equal(seen, epoch_draws(groups, len(split), 5 * 1_000_003 + epoch))
    with pytest.raises(ValueError):
        make_dataset(split, 16, shuffle=True, groups=groups)  # no epochs: nothing to draw by
    split.close()


@pytest.mark.slow  # TensorFlow
def test_the_pipeline_carries_each_clips_weight_through_shuffling_and_mixup(demo_shards):
    import tensorflow as tf

    from aggregate.shards.reading import ShardsFolder
    from train.data import load_split, make_dataset
    from train.fit import with_mixup

    folder = ShardsFolder.open(demo_shards)
    split = load_split(folder, folder.places)
    ids = np.arange(len(split), dtype=np.float32)  # a weight that names the clip
    ordered = np.concatenate([w.numpy() for _, _, w in make_dataset(split, 16, shuffle=False, sample_weights=ids)])
    assert np.array_equal(ordered, ids)
    shuffled = make_dataset(split, 16, shuffle=True, seed=3, sample_weights=ids)
    got = [(x.numpy(), w.numpy()) for x, _, w in shuffled]
    assert sorted(np.concatenate([w for _, w in got])) == list(ids)  # every clip once, with its own weight
    reference = {float(i): x for i, x in zip(ids, (b["features"][0] for b in split.batches(batch_size=1)))}
    x, w = got[0][0][0], got[0][1][0]
    assert np.array_equal(x[..., 0], reference[float(w)])  # the weight travels with its clip
    mixed = with_mixup(shuffled, 0.4, seed=0)
    x, y, w = next(iter(mixed))
    assert x.dtype == tf.float32 and w.shape == (16,) and float(w.numpy().min()) >= 0
    split.close()


def test_a_note_when_tess_pleasant_surprise_trains_beside_another_surprise(shared_data):
    from aggregate.corpora.policy import LabelPolicy
    from aggregate.manifest.build import build_manifest
    from train.balance import pleasant_surprise_note

    roots = {"tess": shared_data / "tess-sample", "ravdess": shared_data / "ravdess-sample"}
    clips = build_manifest(roots, progress=False).clips
    note = pleasant_surprise_note(clips)
    assert note and "ravdess" in note and "--tess-pleasant-surprise-as-happy" in note and "\n" not in note
    assert pleasant_surprise_note(clips[clips["corpus"] == "tess"]) is None  # TESS alone: nothing to confuse
    assert pleasant_surprise_note(clips[clips["corpus"] == "ravdess"]) is None
    both = build_manifest(roots, LabelPolicy(options={"tess_pleasant_surprise_as_happy": True}), progress=False)
    assert pleasant_surprise_note(both.clips) is None  # labelled happy and surprise already


def test_the_cross_corpus_benchmark_trains_every_cell_once_per_seed(demo_shards, tmp_path, monkeypatch):
    """The orchestration, with each run replaced by a figure made from its options: every cell once per
    seed, the folds' seed keeping the names runs had before --seeds, and the paired lines printed."""
    from train.commands import cross_corpus

    calls = []

    def fake_run(name, options):
        calls.append((name, options.seed, options.out.name, options.splits.name))
        table = pd.read_csv(options.splits)
        trained = table.loc[table["split"] == "train", "corpus"].nunique()
        ua = 0.3 + 0.1 * options.seed + 0.02 * trained  # each corpus added to training: +0.02
        return {"test": {"single_label": {"unweighted_accuracy": ua}}, "seconds": 1.0}

    monkeypatch.setattr(cross_corpus, "_run", fake_run)
    text = cross_corpus.run_cross_corpus(demo_shards, tmp_path / "b", folds=4, seed=0, only_folds=[0], seeds=[0, 2])
    by_seed = {s: sorted((n, out, plan) for n, seed, out, plan in calls if seed == s) for s in (0, 2)}
    assert len(by_seed[0]) == len(by_seed[2]) == len(calls) // 2 > 0  # the same cells for each seed
    assert [plan for *_, plan in by_seed[0]] == [plan for *_, plan in by_seed[2]]  # on the same splits
    assert all(not out.endswith("-seed0") for _, out, _ in by_seed[0])  # the folds' seed: the old names
    assert all(out.endswith("-seed2") for _, out, _ in by_seed[2])
    assert "seeds 0, 2" in text and "adding the other corpora to training" in text
    assert "0.420 ± 0.100 (1 fold x 2 seeds)" in text and "0.460 ± 0.100 (2 seeds)" in text  # fold 0; whole
    assert "fusion on ravdess: +0.060, standard error 0.000 over 2 paired runs (0 lower, 2 higher, 0 equal)" in text
    assert "fusion on tess" not in text  # tested whole: nothing to pair
    assert (tmp_path / "b" / cross_corpus.MATRIX).read_text().strip() == text.strip()
