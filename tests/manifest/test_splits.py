"""Speaker-disjoint splits: no voice in two splits, reproducible, balanced, and readable files."""
from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest

from aggregate.errors import InputError
from aggregate.manifest.split_assign import assign_splits
from aggregate.manifest.split_checks import check_speaker_disjoint, leaking_speakers, require_nonempty
from aggregate.manifest.split_config import SplitConfig, SplitError
from aggregate.manifest.split_files import read_splits, split_table, write_splits
from aggregate.manifest.split_summary import summarize_splits
from aggregate.vocabulary import EMOTIONS, SPLITS

LABELS = [f"label_{e}" for e in EMOTIONS]
STRATEGIES = [SplitConfig(), SplitConfig(strategy="kfold", fold=3),
              SplitConfig(strategy="leave-one-corpus-out", test_corpus="ravdess")]


def clip_table(speakers: dict[str, int], seed: int = 0, label_probs: dict[str, np.ndarray] | None = None,
               second_label: float = 0.15) -> pd.DataFrame:
    """Clips of the given speakers (``corpus:name`` -> clip count), multi-hot labels drawn per speaker."""
    rng = np.random.default_rng(seed)
    parts = []
    for speaker, n in speakers.items():
        corpus = speaker.split(":")[0]
        probs = label_probs[speaker] if label_probs else np.full(7, 1 / 7)
        hot = np.zeros((n, 7), dtype="int8")
        hot[np.arange(n), rng.choice(7, size=n, p=probs)] = 1
        extra = rng.random(n) < second_label  # some clips get a second emotion, as vote-based labels do
        hot[np.flatnonzero(extra), rng.choice(7, size=int(extra.sum()), p=probs)] = 1
        part = pd.DataFrame(hot, columns=LABELS)
        part.insert(0, "speaker", speaker)
        part.insert(0, "corpus", corpus)
        part.insert(0, "sample_id", [f"{corpus}/{speaker.split(':')[1]}_{i:05d}" for i in range(n)])
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    return table.astype({"sample_id": "string", "corpus": "string", "speaker": "string"})


def realistic(seed: int = 0, crema_clips: int = 60, iemocap_clips: int = 500) -> pd.DataFrame:
    """Shaped like the real corpora: CREMA-D 91 speakers (no surprise), IEMOCAP 10 speakers with
    their own label mixes, TESS 2 x 1400, RAVDESS 24 x 52 (neutral half as often)."""
    rng = np.random.default_rng(seed)
    sizes, probs = {}, {}
    for actor in range(1001, 1092):
        sizes[f"crema-d:{actor}"] = int(rng.integers(crema_clips - 8, crema_clips + 9))
        probs[f"crema-d:{actor}"] = np.array([1, 1, 1, 1, 1, 1, 0]) / 6
    for session in range(1, 6):
        for gender in "FM":
            speaker = f"iemocap:Ses0{session}{gender}"
            sizes[speaker] = int(rng.integers(iemocap_clips - 120, iemocap_clips + 121))
            probs[speaker] = rng.dirichlet(4 * np.array([8, 5, 0.5, 0.5, 6, 4, 0.5]))
    for speaker in ("tess:OAF", "tess:YAF"):
        sizes[speaker], probs[speaker] = 1400, np.full(7, 1 / 7)
    for actor in range(1, 25):
        sizes[f"ravdess:{actor:02d}"] = 52
        probs[f"ravdess:{actor:02d}"] = np.array([4, 8, 8, 8, 8, 8, 8]) / 52
    return clip_table(sizes, seed=seed, label_probs=probs)


@pytest.fixture(scope="module")
def clips() -> pd.DataFrame:
    return realistic()


def by_speaker(clips: pd.DataFrame, split: pd.Series) -> dict[str, str]:
    check_speaker_disjoint(clips, split)
    return dict(zip(clips["speaker"], split))


def shares(clips: pd.DataFrame, split: pd.Series) -> pd.DataFrame:
    """Share of each corpus's clips per split (rows: corpora, columns: splits)."""
    return pd.crosstab(clips["corpus"], split, normalize="index").reindex(columns=list(SPLITS), fill_value=0.0)


# ---------------------------------------------------------------- the core promises


@pytest.mark.parametrize("config", STRATEGIES, ids=lambda c: c.strategy)
def test_no_speaker_in_two_splits_for_any_seed(clips, config):
    for seed in range(5):
        split = assign_splits(clips, SplitConfig(**{**config.to_dict(), "seed": seed}))
        check_speaker_disjoint(clips, split)
        assert split.groupby(clips["speaker"]).nunique().max() == 1  # the same, counted independently
        assert split.notna().all() and set(split) <= set(SPLITS)


def test_output_is_a_string_series_aligned_with_the_input(clips):
    shifted = clips.set_index(clips.index * 3 + 7)  # an index that is not 0..n-1
    split = assign_splits(shifted)
    assert split.index.equals(shifted.index)
    assert split.dtype == "string" and split.name == "split"
    assert split.tolist() == assign_splits(clips).tolist()


@pytest.mark.parametrize("config", STRATEGIES, ids=lambda c: c.strategy)
def test_deterministic_and_independent_of_row_order(clips, config):
    first = assign_splits(clips, config)
    assert first.equals(assign_splits(clips, config))
    shuffled = clips.sample(frac=1.0, random_state=5)
    again = assign_splits(shuffled, config)
    assert dict(zip(shuffled["sample_id"], again)) == dict(zip(clips["sample_id"], first))


@pytest.mark.parametrize("config", STRATEGIES, ids=lambda c: c.strategy)
def test_other_seeds_give_other_splits(clips, config):
    splits = [tuple(assign_splits(clips, SplitConfig(**{**config.to_dict(), "seed": s}))) for s in range(4)]
    assert len(set(splits)) == 4


def test_default_shares_are_80_10_10_per_corpus(clips):
    for seed in range(3):
        split = assign_splits(clips, SplitConfig(seed=seed))
        table = shares(clips, split)
        # CREMA-D and IEMOCAP: within 3 points. RAVDESS: 24 equal speakers, one is 4.2 points.
        for corpus, tolerance in [("crema-d", 0.03), ("iemocap", 0.03), ("ravdess", 0.05)]:
            assert np.abs(table.loc[corpus].to_numpy() - [0.8, 0.1, 0.1]).max() <= tolerance, (seed, table)
            assert (split[clips["corpus"] == corpus].value_counts() > 0).all()
        big = clips["corpus"] != "tess"
        overall = split[big].value_counts(normalize=True).reindex(list(SPLITS)).to_numpy()
        assert np.abs(overall - [0.8, 0.1, 0.1]).max() <= 0.02, (seed, overall)


def test_a_two_speaker_corpus_stays_in_train(clips):
    # one TESS speaker held out would be half the test split (see the module docstring)
    for seed in range(4):
        split = assign_splits(clips, SplitConfig(seed=seed))
        tess = pd.Series(by_speaker(clips, split)).filter(like="tess:")
        assert sorted(tess.index) == ["tess:OAF", "tess:YAF"] and set(tess) == {"train"}
        others = split[clips["corpus"] != "tess"]
        assert abs((split == "test").mean() - 0.1 * len(others) / len(split)) < 0.02


def test_label_mix_of_every_split_is_close_to_the_corpus(clips):
    """Each emotion's share of a split's clips is within a few points of the corpus's (big corpora)."""
    for seed in range(3):
        split = assign_splits(clips, SplitConfig(seed=seed))
        for corpus, tolerance in [("crema-d", 0.04), ("iemocap", 0.08), ("ravdess", 0.06)]:
            part = clips["corpus"] == corpus
            overall = clips.loc[part, LABELS].mean()
            for name in SPLITS:
                rates = clips.loc[part & (split == name), LABELS].mean()
                assert (rates - overall).abs().max() <= tolerance, (seed, corpus, name, rates - overall)
        big = clips["corpus"].isin(["crema-d", "iemocap", "ravdess"])
        overall = clips.loc[big, LABELS].mean()
        for name in SPLITS:
            rates = clips.loc[big & (split == name), LABELS].mean()
            assert (rates - overall).abs().max() <= 0.04, (seed, name, rates - overall)


def test_balancing_beats_a_plain_speaker_shuffle(clips):
    """The search is worth it: its shares are closer to 80/10/10 than a random 80/10/10 of speakers."""
    crema = clips[clips["corpus"] == "crema-d"]
    split = assign_splits(crema)
    ours = np.abs(shares(crema, split).to_numpy() - [0.8, 0.1, 0.1]).sum()
    rng = np.random.default_rng(0)
    speakers = crema["speaker"].unique()
    naive = []
    for _ in range(20):
        names = np.array(["train"] * 73 + ["val"] * 9 + ["test"] * 9)[rng.permutation(len(speakers))]
        naive.append(np.abs(shares(crema, crema["speaker"].map(dict(zip(speakers, names)))).to_numpy()
                            - [0.8, 0.1, 0.1]).sum())
    assert ours <= np.median(naive)


def test_22k_clips_take_well_under_a_second(clips):
    big = realistic(crema_clips=82, iemocap_clips=1000)
    assert len(big) > 21000
    for config in STRATEGIES:
        start = time.perf_counter()
        assign_splits(big, config)
        assert time.perf_counter() - start < 1.0, config


# ---------------------------------------------------------------- the other strategies


@pytest.mark.parametrize("held_out", ["iemocap", "crema-d", "tess", "ravdess"])
def test_leave_one_corpus_out(clips, held_out):
    split = assign_splits(clips, SplitConfig(strategy="leave-one-corpus-out", test_corpus=held_out, seed=1))
    check_speaker_disjoint(clips, split)
    assert (split[clips["corpus"] == held_out] == "test").all()
    assert not (split[clips["corpus"] != held_out] == "test").any()
    table = shares(clips, split)
    for corpus in {"crema-d", "iemocap", "ravdess"} - {held_out}:
        assert abs(table.at[corpus, "val"] - 1 / 9) <= 0.05, table  # 0.1 / (0.8 + 0.1) of the clips
    if held_out != "tess":  # two speakers: one trains, the other is val
        assert sorted(table.loc["tess", ["train", "val"]]) == [0.5, 0.5]


def test_leave_one_corpus_out_needs_a_corpus_that_is_there(clips):
    with pytest.raises(SplitError, match="test_corpus"):
        SplitConfig(strategy="leave-one-corpus-out")
    ravdess = clips[clips["corpus"] == "ravdess"]
    with pytest.raises(SplitError, match="'tess'.*ravdess"):
        assign_splits(ravdess, SplitConfig(strategy="leave-one-corpus-out", test_corpus="tess"))


def test_kfold_tests_every_speaker_exactly_once(clips):
    folds = 5
    test_count = pd.Series(0, index=clips["speaker"].unique())
    for fold in range(folds):
        split = assign_splits(clips, SplitConfig(strategy="kfold", folds=folds, fold=fold, seed=2))
        check_speaker_disjoint(clips, split)
        speakers = pd.Series(by_speaker(clips, split))
        test_count[speakers.index[speakers == "test"]] += 1
        # each fold holds about a fifth of each corpus with many speakers
        table = shares(clips, split)
        for corpus, tolerance in [("crema-d", 0.02), ("ravdess", 0.05), ("iemocap", 0.1)]:
            assert abs(table.at[corpus, "test"] - 1 / folds) <= tolerance, (fold, table)
    assert (test_count == 1).all()


def test_kfold_takes_validation_from_the_training_folds(clips):
    """Val is about a ninth of the non-test clips (0.1 / 0.9), not a whole fold: training keeps its share."""
    split = assign_splits(clips, SplitConfig(strategy="kfold", folds=4, fold=1, seed=2))
    table = shares(clips, split)
    for corpus in ("crema-d", "ravdess"):
        rest = 1 - table.at[corpus, "test"]
        assert abs(table.at[corpus, "val"] / rest - 1 / 9) <= 0.04, table
        assert table.at[corpus, "train"] >= 0.6, table
    # the test fold is the same whatever the validation draw
    other = assign_splits(clips, SplitConfig(strategy="kfold", folds=4, fold=1, seed=2, fractions=(0.7, 0.2, 0.1)))
    assert ((split == "test") == (other == "test")).all()
    assert (other == "val").sum() > (split == "val").sum()


def test_random_split_deals_clips_and_leaks_speakers(clips, tmp_path):
    config = SplitConfig(strategy="random", seed=4)
    assert not config.speaker_disjoint and SplitConfig(strategy="kfold").speaker_disjoint
    split = assign_splits(clips, config)
    table = shares(clips, split)
    assert np.abs(table.loc["crema-d"].to_numpy() - [0.8, 0.1, 0.1]).max() <= 0.01
    with pytest.raises(SplitError, match="several splits"):
        check_speaker_disjoint(clips, split)
    # deterministic whatever the row order, and another seed deals otherwise
    shuffled = clips.sample(frac=1.0, random_state=1)
    assert (assign_splits(shuffled, config).reindex(clips.index) == split).all()
    assert not (assign_splits(clips, SplitConfig(strategy="random", seed=5)) == split).all()
    # its file is written and read only when the caller says it leaks
    with pytest.raises(SplitError, match="several splits"):
        write_splits(split_table(clips, split), tmp_path / "random.csv")
    write_splits(split_table(clips, split), tmp_path / "random.csv", speaker_disjoint=False)
    with pytest.raises(SplitError, match="several splits"):
        read_splits(tmp_path / "random.csv")
    assert len(read_splits(tmp_path / "random.csv", speaker_disjoint=False)) == len(clips)


@pytest.mark.parametrize("options, words", [({"folds": 2}, "at least 3"), ({"fold": 5}, "out of range"),
                                            ({"fold": -1}, "out of range")])
def test_kfold_rejects_bad_fold_settings(options, words):
    with pytest.raises(SplitError, match=words):
        SplitConfig(strategy="kfold", **options)


# ---------------------------------------------------------------- small corpora and empty splits


def test_small_corpora_never_fail():
    one = clip_table({"tess:OAF": 30})
    assert set(assign_splits(one)) == {"train"}
    three = clip_table({"x:a": 10, "x:b": 10, "x:c": 10})
    for seed in range(5):
        assert sorted(assign_splits(three, SplitConfig(seed=seed)).unique()) == sorted(SPLITS)
    two = clip_table({"tess:OAF": 30, "tess:YAF": 30})
    for seed in range(4):
        assert set(assign_splits(two, SplitConfig(seed=seed))) == {"train"}
    for config in STRATEGIES[:2]:
        check_speaker_disjoint(two, assign_splits(two, config))


def test_require_nonempty_names_the_empty_split():
    two = clip_table({"tess:OAF": 30, "tess:YAF": 30})
    split = assign_splits(two, SplitConfig(seed=0))
    require_nonempty(split, needed=("train",))
    with pytest.raises(SplitError, match="the split 'val' has no clips"):
        require_nonempty(split, needed=("train", "val", "test"))
    assert issubclass(SplitError, InputError)


# ---------------------------------------------------------------- the demo manifest


@pytest.mark.parametrize("config", [SplitConfig(), SplitConfig(strategy="kfold"),
                                    SplitConfig(strategy="leave-one-corpus-out", test_corpus="crema-d")],
                         ids=lambda c: c.strategy)
def test_demo_manifest_splits_by_speaker(demo_manifest, config):
    real = demo_manifest.clips
    for seed in range(6):
        split = assign_splits(real, SplitConfig(**{**config.to_dict(), "seed": seed}))
        check_speaker_disjoint(real, split)
        assert len(split) == len(real) == 201 and split.notna().all()
    if config.strategy == "speakers":
        # four speakers per corpus: one each to val and test; TESS (two) all in train
        for corpus, part in real.groupby("corpus"):
            expected = 1 if corpus == "tess" else 3
            assert split[part.index].nunique() == expected, corpus
        require_nonempty(split, SPLITS)
        text = summarize_splits(real, split)
        assert all(word in text for word in [*SPLITS, "crema-d", "tess", "surprise"])


# ---------------------------------------------------------------- the leak check


def test_check_speaker_disjoint_names_the_leaking_speaker(clips):
    split = assign_splits(clips).copy()
    victim = clips.index[clips["speaker"] == "ravdess:07"]
    split[victim[0]] = "val" if split[victim[1]] != "val" else "test"
    with pytest.raises(SplitError, match="ravdess:07"):
        check_speaker_disjoint(clips, split)
    leaking = leaking_speakers(clips, split)
    assert list(leaking.index) == ["ravdess:07"] and leaking.iloc[0] == sorted({split[victim[0]], split[victim[1]]})
    assert leaking_speakers(clips, assign_splits(clips)).empty
    with pytest.raises(SplitError, match="does not match"):
        check_speaker_disjoint(clips, split.iloc[:-1])  # a missing clip is no proof of disjointness


# ---------------------------------------------------------------- files and config


def test_split_files_round_trip(tmp_path, clips):
    table = split_table(clips, assign_splits(clips))
    assert list(table.columns) == ["sample_id", "speaker", "corpus", "split"]
    assert table["sample_id"].is_monotonic_increasing and len(table) == len(clips)
    path = tmp_path / "run" / "splits.csv"
    write_splits(table, path)
    back = read_splits(path)
    pd.testing.assert_frame_equal(back, table)


def test_bad_split_files_say_which_file(tmp_path, clips):
    table = split_table(clips.head(50), assign_splits(clips.head(50)))
    cases = {
        "missing_column.csv": table.drop(columns="speaker"),
        "unknown_value.csv": table.assign(split=table["split"].where(table.index != 3, "holdout")),
        "leaking.csv": table.assign(split=["train", "test"] * 25, speaker="tess:OAF"),
        "empty_value.csv": table.assign(corpus=table["corpus"].where(table.index != 4, None)),
    }
    words = {"missing_column.csv": "speaker", "unknown_value.csv": "holdout",
             "leaking.csv": "tess:OAF", "empty_value.csv": "corpus"}
    for name, bad in cases.items():
        bad.to_csv(tmp_path / name, index=False)
        with pytest.raises(SplitError, match=words[name]) as error:
            read_splits(tmp_path / name)
        assert name in str(error.value)
    with pytest.raises(SplitError, match="nowhere.csv.*not found"):
        read_splits(tmp_path / "nowhere.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(SplitError, match="empty.csv"):
        read_splits(tmp_path / "empty.csv")
    with pytest.raises(SplitError, match="written.csv"):
        write_splits(cases["unknown_value.csv"], tmp_path / "written.csv")
    assert not (tmp_path / "written.csv").exists()


def test_config_round_trips_through_json_and_rejects_nonsense():
    config = SplitConfig(strategy="kfold", seed=3, folds=10, fold=9, fractions=(0.7, 0.15, 0.15))
    assert SplitConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert SplitConfig.from_dict({}) == SplitConfig()
    for bad in [{"strategy": "clips"}, {"fractions": (0.5, 0.2, 0.2)}, {"fractions": (0.0, 0.5, 0.5)},
                {"seed": -1}, {"test-corpus": "tess"}]:
        with pytest.raises(SplitError):
            SplitConfig.from_dict(bad)


def test_fractions_steer_the_shares(clips):
    crema = clips[clips["corpus"] == "crema-d"]
    table = shares(crema, assign_splits(crema, SplitConfig(fractions=(0.6, 0.2, 0.2))))
    assert np.abs(table.loc["crema-d"].to_numpy() - [0.6, 0.2, 0.2]).max() <= 0.02
    no_test = assign_splits(crema, SplitConfig(fractions=(0.9, 0.1, 0.0)))
    assert set(no_test) == {"train", "val"}


def test_missing_columns_and_shared_speakers_are_errors(clips):
    with pytest.raises(SplitError, match="speaker"):
        assign_splits(clips.drop(columns="speaker"))
    mixed = clips.copy()
    mixed.loc[mixed["corpus"] == "tess", "speaker"] = "crema-d:1001"
    with pytest.raises(SplitError, match="crema-d:1001"):
        assign_splits(mixed)
    # without label columns the split still balances clip counts
    check_speaker_disjoint(clips, assign_splits(clips.drop(columns=LABELS)))


# ---------------------------------------------------------------- too few speakers to measure anything


def test_a_corpus_with_too_few_held_out_speakers_is_named_with_the_better_tools():
    """12 RAVDESS actors give 1 actor to val and 1 to test, 2 TESS speakers give none; 91 CREMA-D actors are fine."""
    clips = clip_table({**{f"ravdess:{a:02d}": 52 for a in range(1, 13)}, "tess:OAF": 1400, "tess:YAF": 1400,
                        **{f"crema-d:{a}": 60 for a in range(1001, 1092)}})
    split = assign_splits(clips)
    text = summarize_splits(clips, split)
    warnings = {line.split(":")[1].strip(): line for line in text.splitlines() if line.startswith("warning: ")}
    assert set(warnings) == {"ravdess", "tess"}
    assert "val holds 1 speaker and test holds 1 speaker (fewer than 3)" in warnings["ravdess"]
    assert "val and test hold none of its speakers" in warnings["tess"]
    for line in warnings.values():
        assert "--split-strategy kfold" in line and "python -m train benchmark" in line
        assert "--split-strategy leave-one-corpus-out" in line
    # the tools it names are not warned about: their val is small (kfold) or test empty (leave-one-corpus-out) by design
    for config in (SplitConfig(strategy="kfold"), SplitConfig(strategy="leave-one-corpus-out", test_corpus="tess")):
        assert "warning" not in summarize_splits(clips, assign_splits(clips, config), strategy=config.strategy)


def test_the_manifest_summary_warns(demo_manifest):
    from aggregate.manifest.build import summarize

    text = summarize(demo_manifest)  # four speakers per corpus: one in val, one in test, TESS's two in train
    assert sum(line.startswith("warning: ") for line in text.splitlines()) == len(demo_manifest.meta["counts"])
