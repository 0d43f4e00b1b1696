"""The parsers on real files nobody on this project wrote: ../shared/data (skipped when absent)."""
from __future__ import annotations

import soundfile as sf

from aggregate.audio import probe
from aggregate.corpora.base import list_wavs
from aggregate.manifest.build import build_manifest

RAVDESS_EMOTIONS = {"01": "neutral", "03": "happy", "04": "sad", "05": "anger",
                    "06": "fear", "07": "disgust", "08": "surprise"}


def _accounted(manifest, corpus, root):
    kept = set(manifest.clips.loc[manifest.clips.corpus == corpus, "path"])
    rejected = set(manifest.rejects.loc[manifest.rejects.corpus == corpus, "path"])
    on_disk = {p.relative_to(root).as_posix() for p in list_wavs(root)}
    assert not kept & rejected
    assert kept | rejected == on_disk
    return kept, rejected


def test_ravdess_sample(shared_data):
    root = shared_data / "ravdess-sample"
    manifest = build_manifest({"ravdess": root}, progress=False)
    kept, rejected = _accounted(manifest, "ravdess", root)
    assert len(kept) + len(rejected) == 60
    # calm (emotion 02) is outside the vocabulary by default: 8 of actor 01's 60 speech clips
    assert set(manifest.rejects["reason"]) == {"label_outside_vocabulary"}
    assert all(p.split("/")[1].split("-")[2] == "02" for p in rejected) and len(rejected) == 8
    clips = manifest.clips
    assert set(clips["speaker"]) == {"ravdess:01"} and set(clips["gender"]) == {"male"}
    for path, labels in zip(clips["path"], clips["labels"]):
        assert labels == RAVDESS_EMOTIONS[path.split("/")[1].split("-")[2]]
    assert (clips["n_labels"] == 1).all() and (clips["sample_rate"] == 48000).all()
    stereo = clips.set_index("path").loc["Actor_01/03-01-08-01-02-02-01.wav"]
    assert stereo["channels"] == 2 and stereo["labels"] == "surprise"


def test_ravdess_stereo_calm_clip_is_read_and_kept_when_calm_maps_to_neutral(shared_data):
    from aggregate.corpora.policy import LabelPolicy

    root = shared_data / "ravdess-sample"
    info, reason, _ = probe(root / "Actor_01" / "03-01-02-01-01-02-01.wav")
    assert reason is None and info.channels == 2
    manifest = build_manifest({"ravdess": root}, LabelPolicy(options={"ravdess_calm_as_neutral": True}), progress=False)
    assert len(manifest.clips) == 60 and manifest.rejects.empty
    assert (manifest.clips["labels"] == "neutral").sum() == 4 + 8


def test_tess_sample(shared_data):
    given = shared_data / "tess-sample"  # the folder that holds "TESS Toronto emotional speech set data"
    manifest = build_manifest({"tess": given}, progress=False)
    root = given / "TESS Toronto emotional speech set data"
    kept, rejected = _accounted(manifest, "tess", root)
    assert len(kept) == 45 and not rejected
    clips = manifest.clips.set_index("path")
    # label and speaker from the folder, whatever its spelling
    expected_label = {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happy",
                      "neutral": "neutral", "sad": "sad", "pleasant_surprise": "surprise",
                      "pleasant_surprised": "surprise"}
    for path, row in clips.iterrows():
        folder = path.split("/")[0]
        assert row["speaker"] == "tess:" + folder[:3]
        assert row["labels"] == expected_label[folder[4:].lower()]
    assert clips.loc["YAF_angry/YAF_germ_angry.wav", "format"] == "AIFF"
    assert clips.loc["OAF_Fear/OAF_food_fear.wav", "sample_rate"] == 96000
    misnamed = clips.loc["OAF_neutral/OA_bite_neutral.wav"]
    assert misnamed["speaker"] == "tess:OAF" and misnamed["sample_id"] == "tess/OAF_bite_neutral"
    # durations come from headers and agree with decoding
    for path in ["YAF_angry/YAF_germ_angry.wav", "OAF_Fear/OAF_food_fear.wav"]:
        audio, rate = sf.read(root / path)
        assert abs(clips.loc[path, "duration"] - len(audio) / rate) < 1e-9
    assert manifest.clips["sample_id"].is_unique


def test_tess_pleasant_surprise_as_happy_labels_those_clips_both(shared_data):
    from aggregate.corpora.policy import LabelPolicy

    given = shared_data / "tess-sample"
    plain = build_manifest({"tess": given}, progress=False).clips.set_index("sample_id")
    both = build_manifest({"tess": given}, LabelPolicy(options={"tess_pleasant_surprise_as_happy": True}),
                          progress=False)
    clips = both.clips.set_index("sample_id")
    surprised = plain.index[plain["labels"] == "surprise"]
    assert len(surprised) == 6  # 3 words x 2 speakers
    assert (clips.loc[surprised, "labels"] == "happy|surprise").all()
    assert (clips.loc[surprised, "n_labels"] == 2).all() and (clips.loc[surprised, "label_happy"] == 1).all()
    assert (clips.loc[surprised, "acted_label"] == "surprise").all()  # what the actor was asked for stays
    others = plain.index.difference(surprised)
    assert (clips.loc[others, "labels"] == plain.loc[others, "labels"]).all()
    assert both.meta["policy"]["tess_pleasant_surprise_as_happy"] is True
