"""Parsers are strict where a slip would move data: each fault recreated, and its outcome checked."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import write_wav

from aggregate.errors import InputError
from aggregate.manifest.build import build_manifest

PROJECT = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------- IEMOCAP turn headers

EVALUATION = """% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]

[1.0 - 2.0]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]
C-E1:\tNeutral;\t()
C-E2:\tNeutral;\t()
C-E3:\tNeutral;\t()

{second}
C-E1:\tAnger;\t()
C-E2:\tSadness;\t()
C-E3:\tAnger;\t()

[13.0 - 14.0]\tSes01F_impro01_F001\tneu\t[2.5000, 2.5000, 2.5000]
C-E1:\tHappiness;\t()
C-E2:\tHappiness;\t()
"""
GOOD_HEADER = "[9.8244 - 12.3405]\tSes01F_impro01_M000\tang\t[2.0000, 3.5000, 3.5000]"


def _iemocap(tmp_path: Path, second_header: str) -> Path:
    root = tmp_path / "IEMOCAP_full_release"
    evaluation = root / "Session1" / "dialog" / "EmoEvaluation"
    evaluation.mkdir(parents=True)
    (evaluation / "Ses01F_impro01.txt").write_text(EVALUATION.format(second=second_header))
    for turn in ["F000", "M000", "F001"]:
        write_wav(root / "Session1" / "sentences" / "wav" / "Ses01F_impro01" / f"Ses01F_impro01_{turn}.wav")
    return root


def _outcomes(manifest) -> dict[str, tuple]:
    kept = {p.rsplit("/", 1)[1]: ("kept", labels, raters)
            for p, labels, raters in zip(manifest.clips["path"], manifest.clips["labels"], manifest.clips["n_raters"])}
    rejected = {p.rsplit("/", 1)[1]: (reason, detail)
                for p, reason, detail in zip(manifest.rejects["path"], manifest.rejects["reason"],
                                             manifest.rejects["detail"])}
    return {**kept, **rejected}


@pytest.mark.parametrize("garbled, reason, detail", [
    ("[9.8244 -- 12.3405]", "no_votes", "line 8 of it: a header that does not parse and names no turn"),
    ("[9.8244 -- 12.3405]\tSes01F_impro01_M000\tang\t[2.0000, 3.5000, 3.5000]", "malformed_rating",
     "Session1/dialog/EmoEvaluation/Ses01F_impro01.txt line 8: the turn header does not parse"),
    ("[2.13.72 - 12.3405]\tSes01F_impro01_M000\tang\t[2.0000, 3.5000, 3.5000]", "malformed_rating", "line 8"),
])
def test_a_garbled_turn_header_keeps_its_ratings_off_the_turn_before(tmp_path, garbled, reason, detail):
    good = _outcomes(build_manifest({"iemocap": _iemocap(tmp_path / "good", GOOD_HEADER)}, progress=False))
    bad = _outcomes(build_manifest({"iemocap": _iemocap(tmp_path / "bad", garbled)}, progress=False))
    assert good["Ses01F_impro01_M000.wav"][:2] == ("kept", "anger|sad")
    assert bad["Ses01F_impro01_M000.wav"][0] == reason and detail in bad["Ses01F_impro01_M000.wav"][1]
    for other in ["Ses01F_impro01_F000.wav", "Ses01F_impro01_F001.wav"]:  # exactly as they were
        assert bad[other] == good[other]
    assert bad["Ses01F_impro01_F000.wav"] == ("kept", "neutral", 3)


# ---------------------------------------------------------------- CREMA-D tables

VOTES_HEADER = '"","A","D","F","H","N","S","fileName","numResponses"'


def _crema(tmp_path: Path, rows: list[str], demographics: str = '1001,51,"Male","x","y"') -> Path:
    root = tmp_path / "CREMA-D"
    (root / "processedResults").mkdir(parents=True)
    for name in ["1001_DFA_ANG_XX", "1001_DFA_SAD_XX", "1001_IEO_NEU_XX"]:
        write_wav(root / "AudioWAV" / f"{name}.wav")
    (root / "processedResults" / "tabulatedVotes.csv").write_text("\n".join([VOTES_HEADER, *rows]) + "\n")
    (root / "VideoDemographics.csv").write_text(f'"ActorID","Age","Sex","Race","Ethnicity"\n{demographics}\n')
    return root


GOOD_ROWS = ['"100001",5,0,0,0,1,0,"1001_DFA_ANG_XX",6', '"100002",0,0,0,0,1,4,"1001_DFA_SAD_XX",5',
             '"100003",0,0,0,0,6,0,"1001_IEO_NEU_XX",6']


@pytest.mark.parametrize("row, detail", [
    ('"100002",x,0,0,0,1,4,"1001_DFA_SAD_XX",5', "line 3: vote 'x' for A is not a whole number"),
    ('"100002",0,0,0,0,1,4,"1001_DFA_SAD_XX"', "line 3: numResponses '' is not a positive whole number"),
    ('"100002",0,0,0,0,1,4,"1001_DFA_SAD_XX",eleven', "line 3: numResponses 'eleven'"),
    ('"100002",0,0,0,0,-1,4,"1001_DFA_SAD_XX",5', "line 3: negative vote -1 for N"),
    ('"100002",0,0,0,0,3,4,"1001_DFA_SAD_XX",5', "line 3: 7 votes but numResponses 5"),
])
def test_a_bad_vote_row_rejects_its_clip_and_no_other(tmp_path, row, detail):
    manifest = build_manifest({"crema-d": _crema(tmp_path, [GOOD_ROWS[0], row, GOOD_ROWS[2]])}, progress=False)
    rejects = manifest.rejects.set_index("path")
    assert list(rejects.index) == ["AudioWAV/1001_DFA_SAD_XX.wav"]
    assert rejects.iloc[0]["reason"] == "malformed_rating"
    assert detail in rejects.iloc[0]["detail"] and "tabulatedVotes.csv" in rejects.iloc[0]["detail"]
    assert sorted(manifest.clips["sample_id"]) == ["crema-d/1001_DFA_ANG_XX", "crema-d/1001_IEO_NEU_XX"]
    assert list(manifest.clips["n_raters"]) == [6, 6]


def test_a_demographics_age_that_is_not_a_number_stops_with_one_line(tmp_path):
    root = _crema(tmp_path, GOOD_ROWS, demographics='1001,abc,"Male","x","y"')
    with pytest.raises(InputError, match=r"VideoDemographics.csv line 2: Age 'abc' of actor 1001") as err:
        build_manifest({"crema-d": root}, progress=False)
    assert "\n" not in str(err.value)


def test_a_vote_row_id_that_is_not_a_number_stops_with_one_line(tmp_path):
    root = _crema(tmp_path, [GOOD_ROWS[0], '"x1",0,0,0,0,1,4,"1001_DFA_SAD_XX",5'])
    with pytest.raises(InputError, match=r"tabulatedVotes.csv line 3: the first column should hold a numeric id"):
        build_manifest({"crema-d": root}, progress=False)


@pytest.mark.slow
def test_the_cli_prints_no_traceback_for_a_bad_table(tmp_path):
    root = _crema(tmp_path, GOOD_ROWS, demographics='1001,abc,"Male","x","y"')
    result = subprocess.run([sys.executable, "-m", "aggregate", "manifest", "--crema-d", str(root),
                             "-o", str(tmp_path / "m.parquet")], capture_output=True, text=True,
                            env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2 and "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "m.parquet").exists()


# ---------------------------------------------------------------- audio files and folders

def test_a_wav_shorter_than_its_header_says_is_truncated(tmp_path):
    actor = tmp_path / "Actor_01"
    whole = write_wav(actor / "03-01-05-01-01-01-01.wav", seconds=1.0)
    cut = actor / "03-01-05-01-01-02-01.wav"
    cut.write_bytes(whole.read_bytes()[:20000])
    manifest = build_manifest({"ravdess": tmp_path}, progress=False)
    assert list(manifest.clips["path"]) == ["Actor_01/03-01-05-01-01-01-01.wav"]
    reject = manifest.rejects.iloc[0]
    assert reject["reason"] == "truncated" and "bytes more than the file holds" in reject["detail"]


def test_the_canonical_copy_wins_over_a_stray_folder(tmp_path):
    name = "03-01-05-01-01-01-02.wav"
    write_wav(tmp_path / "Actor_02" / name)
    (tmp_path / "Actor_02 é").mkdir()  # sorts before "Actor_02/", so nearness alone would keep it
    shutil.copy(tmp_path / "Actor_02" / name, tmp_path / "Actor_02 é" / name)
    manifest = build_manifest({"ravdess": tmp_path}, progress=False)
    assert list(manifest.clips["path"]) == [f"Actor_02/{name}"]
    reject = manifest.rejects.iloc[0]
    assert reject["path"] == f"Actor_02 é/{name}" and reject["reason"] == "duplicate"
    assert reject["detail"] == f"same clip as Actor_02/{name}, the copy in the corpus' own layout"


def test_a_symlinked_speaker_folder_is_followed_and_a_loop_is_not(tmp_path):
    elsewhere = tmp_path / "elsewhere" / "Actor_03"
    write_wav(elsewhere / "03-01-05-01-01-01-03.wav")
    root = tmp_path / "ravdess"
    write_wav(root / "Actor_01" / "03-01-05-01-01-01-01.wav")
    (root / "Actor_03").symlink_to(elsewhere, target_is_directory=True)
    (root / "Actor_01" / "loop").symlink_to(root, target_is_directory=True)
    manifest = build_manifest({"ravdess": root}, progress=False)
    assert sorted(manifest.clips["speaker"]) == ["ravdess:01", "ravdess:03"]
    assert manifest.rejects.empty


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems refuse names that are not UTF-8")
def test_a_file_name_that_is_not_utf8_is_rejected(tmp_path):
    write_wav(tmp_path / "Actor_01" / "03-01-05-01-01-01-01.wav")
    bad = os.path.join(os.fsencode(tmp_path / "Actor_01"), b"03-01-05-01-01-02-01\xff.wav")
    shutil.copy(os.fsencode(tmp_path / "Actor_01" / "03-01-05-01-01-01-01.wav"), bad)
    manifest = build_manifest({"ravdess": tmp_path}, progress=False)
    assert len(manifest.clips) == 1
    reject = manifest.rejects.iloc[0]
    assert reject["reason"] == "name_not_utf8" and reject["path"] == "Actor_01/03-01-05-01-01-02-01\\xff.wav"
    result = subprocess.run([sys.executable, "-m", "aggregate", "manifest", "--ravdess", str(tmp_path),
                             "-o", str(tmp_path / "m.parquet"), "-q"], capture_output=True, text=True,
                            env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "name_not_utf8" in (tmp_path / "m.rejects.csv").read_text()
