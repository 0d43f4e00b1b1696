"""IEMOCAP evaluation files, on a hand-written tree that follows the real format."""
from __future__ import annotations

import pytest
from helpers import write_wav

from aggregate.corpora.policy import LabelPolicy
from aggregate.manifest.build import build_manifest

EVALUATION = """% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]

[6.2901 - 8.2357]\tSes01F_script02_2_F000\tneu\t[2.5000, 2.5000, 2.5000]
C-E2:\tNeutral;\t()
C-E3:\tNeutral; Sadness;\t()
C-F1:\tFear;\t(self)
A-E3:\tval 3; act 2; dom  2;\t()

[10.0100 - 11.3925]\tSes01F_script02_2_M000\texc\t[3.5000, 4.0000, 3.0000]
C-E1:\tExcited; Happiness;\t(both words mean happy here)
C-E4:\tExcited;\t()
C-M1:\tSurprise;\t()

[12.0 - 13.5]\tSes01F_script02_2_F001\tfru\t[2.0000, 3.5000, 3.5000]
C-E2:\tFrustration;\t()
C-E5:\tOther:annoyed;\t()

[14.0 - 15.5]\tSes01F_script02_2_M001\txxx\t[2.0000, 3.0000, 3.0000]
C-E1:\tAnger; Disgust;\t()
C-E2:\tFear; Sadness;\t()
C-E3:\tAnger;\t()
"""


@pytest.fixture()
def iemocap(tmp_path):
    root = tmp_path / "IEMOCAP_full_release"
    session = root / "Session1"
    evaluation = session / "dialog" / "EmoEvaluation"
    evaluation.mkdir(parents=True)
    (evaluation / "Ses01F_script02_2.txt").write_text(EVALUATION)
    (evaluation / "._Ses01F_script02_2.txt").write_bytes(b"\x00\x05\x16\x07Mac OS X junk [1.0 - 2.0]")
    wavs = session / "sentences" / "wav" / "Ses01F_script02_2"
    for turn in ["F000", "M000", "F001", "M001", "F002"]:
        write_wav(wavs / f"Ses01F_script02_2_{turn}.wav")
    write_wav(session / "dialog" / "wav" / "Ses01F_script02_2.wav")
    (wavs / "._Ses01F_script02_2_F000.wav").write_bytes(b"\x00\x05\x16\x07Mac OS X")
    return tmp_path  # the folder that holds IEMOCAP_full_release


def _by_turn(manifest):
    clips = manifest.clips.set_index("sample_id")
    rejects = manifest.rejects.set_index("path")
    return clips, rejects


def test_external_evaluators_give_the_votes(iemocap):
    clips, rejects = _by_turn(build_manifest({"iemocap": iemocap}, progress=False))
    f000 = clips.loc["iemocap/Ses01F_script02_2_F000"]
    assert f000["labels"] == "neutral|sad" and f000["votes_neutral"] == 2 and f000["votes_sad"] == 1
    assert f000["votes_fear"] == 0 and f000["n_raters"] == 2  # the actor's own "Fear" is left out
    assert f000["consensus_label"] == "neu" and f000["start"] == pytest.approx(6.2901)
    m000 = clips.loc["iemocap/Ses01F_script02_2_M000"]
    assert m000["labels"] == "happy" and m000["votes_happy"] == 2  # Excited + Happiness by one rater: one vote
    # the speaker is session 1 + the letter of the turn's last part, not of the dialog prefix
    assert m000["speaker"] == "iemocap:Ses01M" and m000["gender"] == "male"
    assert f000["speaker"] == "iemocap:Ses01F" and f000["mode"] == "scripted"

    sentences = "Session1/sentences/wav/Ses01F_script02_2/"
    assert rejects.loc[sentences + "Ses01F_script02_2_F001.wav", "reason"] == "label_outside_vocabulary"
    assert rejects.loc[sentences + "Ses01F_script02_2_M001.wav", "reason"] == "too_many_labels"
    assert rejects.loc[sentences + "Ses01F_script02_2_F002.wav", "reason"] == "no_votes"
    assert rejects.loc[sentences + "._Ses01F_script02_2_F000.wav", "reason"] == "unreadable"
    assert rejects.loc["Session1/dialog/wav/Ses01F_script02_2.wav", "reason"] == "not_a_clip"
    assert len(clips) + len(rejects) == 7


def test_policy_options_change_iemocap_labels(iemocap):
    policy = LabelPolicy(max_labels=4, options={"iemocap_self_evaluations": True, "iemocap_excited_as_happy": False})
    clips, _ = _by_turn(build_manifest({"iemocap": iemocap}, policy, progress=False))
    assert clips.loc["iemocap/Ses01F_script02_2_F000", "labels"] == "neutral|fear|sad"
    assert clips.loc["iemocap/Ses01F_script02_2_F000", "n_raters"] == 3
    # without Excited, only the rater who also said Happiness votes happy; the actor adds surprise
    m000 = clips.loc["iemocap/Ses01F_script02_2_M000"]
    assert m000["votes_happy"] == 1 and m000["labels"] == "happy|surprise"
    assert clips.loc["iemocap/Ses01F_script02_2_M001", "n_labels"] == 4
