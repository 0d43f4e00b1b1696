"""The manifest on the demo corpora: every file's outcome matches what the generator intended."""
from __future__ import annotations

import pandas as pd

from aggregate.corpora import CORPORA
from aggregate.corpora.base import list_wavs
from aggregate.corpora.policy import LabelPolicy
from aggregate.manifest.build import build_manifest
from aggregate.manifest.format import read_manifest, write_manifest
from aggregate.vocabulary import EMOTIONS


def _outcomes(manifest):
    kept = {(c, p): row for c, p, row in zip(manifest.clips.corpus, manifest.clips.path,
                                             manifest.clips.to_dict("records"))}
    rejected = dict(zip(zip(manifest.rejects.corpus, manifest.rejects.path), manifest.rejects.reason))
    return kept, rejected


def test_every_file_ends_where_the_generator_meant_it(demo, demo_manifest):
    kept, rejected = _outcomes(demo_manifest)
    for e in demo.expected:
        key = (e.corpus, e.path)
        if e.kept:
            assert key in kept, f"{key} should be kept, got {rejected.get(key)}"
            row = kept[key]
            assert tuple(x for x in row["labels"].split("|")) == e.labels, key
            assert (row["speaker"], row["gender"]) == (e.speaker, e.gender), key
        else:
            assert rejected.get(key) == e.reason, f"{key}: expected {e.reason}, got {rejected.get(key)}"


def test_kept_plus_rejected_is_every_audio_file(demo, demo_manifest):
    kept, rejected = _outcomes(demo_manifest)
    assert not set(kept) & set(rejected)
    on_disk = {(name, p.relative_to(root).as_posix()) for name, root in demo.roots.items()
               for p in list_wavs(root)}
    assert set(kept) | set(rejected) == on_disk
    assert len(kept) + len(rejected) == len(demo.expected)


def test_rows_are_consistent(demo_manifest):
    clips = demo_manifest.clips
    multi_hot = clips[[f"label_{e}" for e in EMOTIONS]].to_numpy()
    assert clips["sample_id"].is_unique
    assert (multi_hot.sum(axis=1) == clips["n_labels"]).all()
    assert clips["n_labels"].between(1, 3).all()
    assert (clips["duration"] > 0).all() and (clips["duration"] <= 40).all()
    assert set(clips["corpus"]) == set(CORPORA)
    # speakers are unique across corpora: no id is shared by two corpora
    assert clips.groupby("speaker")["corpus"].nunique().max() == 1
    voted = clips[clips["corpus"].isin([name for name, unit in CORPORA.items() if unit.VOTED])]
    assert voted["n_raters"].notna().all()
    for e in EMOTIONS:  # a present emotion has at least min_votes votes
        present = voted[voted[f"label_{e}"] == 1]
        assert (present[f"votes_{e}"].fillna(0) >= 1).all()
    acted = clips[clips["corpus"].isin([name for name, unit in CORPORA.items() if not unit.VOTED])]
    assert acted["n_raters"].isna().all() and (acted["labels"] == acted["acted_label"]).all()


def test_write_read_round_trip_keeps_rows_and_policy(demo_manifest, tmp_path):
    path = write_manifest(demo_manifest, tmp_path / "m.parquet")
    back = read_manifest(path)
    pd.testing.assert_frame_equal(back.clips, demo_manifest.clips)
    pd.testing.assert_frame_equal(back.rejects, demo_manifest.rejects)
    assert back.meta["policy"] == LabelPolicy().to_dict()
    assert back.meta["emotions"] == list(EMOTIONS)
    assert set(back.meta["roots"]) == set(CORPORA)


def test_building_twice_gives_the_same_bytes(demo, demo_manifest, tmp_path):
    again = build_manifest(demo.roots, progress=False)
    first = write_manifest(demo_manifest, tmp_path / "a.parquet").read_bytes()
    second = write_manifest(again, tmp_path / "b.parquet").read_bytes()
    assert first == second


def test_policy_options_change_what_is_kept(demo, demo_manifest):
    counts = demo_manifest.meta["counts"]
    loose = build_manifest(demo.roots, LabelPolicy(max_labels=7, max_duration=120, options={
        "ravdess_calm_as_neutral": True, "ravdess_song": True}), progress=False)
    loose_counts = loose.meta["counts"]
    for corpus, reason in [("crema-d", "too_many_labels"), ("iemocap", "too_many_labels"),
                           ("ravdess", "label_outside_vocabulary"), ("ravdess", "not_speech"),
                           ("crema-d", "too_long")]:
        assert counts[corpus]["rejected"].get(reason, 0) > 0
        assert reason not in loose_counts[corpus]["rejected"]
    assert len(loose.clips) == len(demo_manifest.clips) + sum(
        counts[c]["rejected"].get(r, 0) for c, r in [("crema-d", "too_many_labels"), ("iemocap", "too_many_labels"),
                                                      ("ravdess", "label_outside_vocabulary"),
                                                      ("ravdess", "not_speech"), ("crema-d", "too_long")])
    strict = build_manifest(demo.roots, LabelPolicy(min_votes=2), progress=False)
    voted = strict.clips[strict.clips["corpus"].isin(["iemocap", "crema-d"])]
    assert (voted[[f"votes_{e}" for e in EMOTIONS]].fillna(0).to_numpy()[
        voted[[f"label_{e}" for e in EMOTIONS]].to_numpy() == 1] >= 2).all()
    assert strict.meta["policy"]["min_votes"] == 2
