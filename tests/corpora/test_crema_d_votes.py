"""CREMA-D labels from its real vote table (../shared/data/crema-d), with stand-in audio."""
from __future__ import annotations

import io
import shutil
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from aggregate.corpora.policy import LabelPolicy
from aggregate.manifest.build import build_manifest

# Voice-only rows: how many emotions got at least one vote (given in the issue, from the real table).
LABEL_COUNT_DISTRIBUTION = {1: 383, 2: 2043, 3: 2893, 4: 1708, 5: 401, 6: 14}


def _tiny_wav() -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.zeros(1600, dtype=np.int16), 16000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def crema_root(shared_data, tmp_path_factory):
    """The real CSVs plus a stand-in .wav for every clip named in the voice-only rows."""
    source = shared_data / "crema-d"
    root = tmp_path_factory.mktemp("crema") / "CREMA-D"
    (root / "processedResults").mkdir(parents=True)
    shutil.copy(source / "processedResults" / "tabulatedVotes.csv", root / "processedResults")
    shutil.copy(source / "VideoDemographics.csv", root)
    votes = pd.read_csv(source / "processedResults" / "tabulatedVotes.csv")
    names = votes.loc[votes.iloc[:, 0] // 100000 == 1, "fileName"]
    audio = root / "AudioWAV"
    audio.mkdir()
    wav = _tiny_wav()
    for name in names:
        (audio / f"{name}.wav").write_bytes(wav)
    return root


def test_real_vote_table_gives_the_known_label_counts(crema_root):
    manifest = build_manifest({"crema-d": crema_root.parent}, progress=False)  # the folder that holds it
    assert len(manifest.clips) == 5319
    reasons = manifest.rejects["reason"].value_counts().to_dict()
    assert reasons == {"too_many_labels": 1708 + 401 + 14}
    assert Counter(manifest.clips["n_labels"]) == {n: LABEL_COUNT_DISTRIBUTION[n] for n in (1, 2, 3)}
    assert manifest.clips["speaker"].nunique() == 91
    assert set(manifest.clips["gender"]) == {"female", "male"}


def test_votes_come_from_the_voice_only_rows(crema_root):
    manifest = build_manifest({"crema-d": crema_root}, progress=False)
    clip = manifest.clips.set_index("sample_id").loc["crema-d/1001_IEO_HAP_HI"]
    # row "100004": A=2 D=0 F=0 H=6 N=2 S=0, 10 responses; the face-only and AV rows differ
    assert (clip["votes_anger"], clip["votes_happy"], clip["votes_neutral"], clip["votes_sad"]) == (2, 6, 2, 0)
    assert pd.isna(clip["votes_surprise"])  # CREMA-D raters were not offered surprise
    assert clip["n_raters"] == 10 and clip["labels"] == "neutral|anger|happy"  # vocabulary order
    assert clip["acted_label"] == "happy" and clip["intensity"] == "high"
    assert clip["speaker"] == "crema-d:1001" and clip["gender"] == "male" and clip["age"] == 51


@pytest.mark.parametrize("min_votes", [2, 3])
def test_min_votes_keeps_what_the_vote_table_says(crema_root, min_votes):
    votes = pd.read_csv(crema_root / "processedResults" / "tabulatedVotes.csv")
    voice = votes[votes.iloc[:, 0] // 100000 == 1]
    present = (voice[["A", "D", "F", "H", "N", "S"]] >= min_votes).sum(axis=1)
    manifest = build_manifest({"crema-d": crema_root}, LabelPolicy(min_votes=min_votes), progress=False)
    assert len(manifest.clips) == int(((present >= 1) & (present <= 3)).sum())
    assert (manifest.rejects["reason"] == "label_outside_vocabulary").sum() == int((present == 0).sum())
