"""A corpus without a module, brought in with --table: real RAVDESS files and demo audio, good rows and bad."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from helpers import write_wav

from aggregate.errors import InputError
from aggregate.manifest.build import build_manifest
from aggregate.manifest.format import read_manifest

PROJECT = Path(__file__).resolve().parents[2]
RAVDESS_CODES = {"01": "neutral", "03": "happy", "04": "sad", "05": "anger", "06": "fear", "07": "disgust",
                 "08": "surprise"}


def test_a_table_of_real_files_gives_the_rows_the_parser_gives(shared_data, tmp_path):
    """Listed in a table, actor 01's RAVDESS clips get the labels the RAVDESS unit gives them."""
    root = shared_data / "ravdess-sample"
    wavs = sorted((root / "Actor_01").glob("*.wav"))
    rows = [{"path": str(p), "speaker": "01", "gender": "m",
             "emotion": RAVDESS_CODES.get(p.name.split("-")[2], "calm")} for p in wavs]
    pd.DataFrame(rows).to_csv(tmp_path / "mine.csv", index=False)
    tabled = build_manifest({}, tables={"mine": tmp_path / "mine.csv"}, progress=False)
    parsed = build_manifest({"ravdess": root}, progress=False)

    assert len(tabled.clips) + len(tabled.rejects) == len(wavs) == 60
    assert set(tabled.rejects["reason"]) == {"label_outside_vocabulary"}  # calm, as for the unit
    mine = tabled.clips.assign(stem=tabled.clips["sample_id"].str.removeprefix("mine/")).set_index("stem")
    theirs = parsed.clips.assign(stem=parsed.clips["sample_id"].str.removeprefix("ravdess/")).set_index("stem")
    assert sorted(mine.index) == sorted(theirs.index)
    for column in ["labels", "duration", "channels", "sample_rate", "frames", "gender"]:
        assert (mine[column] == theirs.loc[mine.index, column]).all(), column
    assert set(mine["speaker"]) == {"mine:01"} and set(mine["corpus"]) == {"mine"}
    assert mine["path"].str.startswith("/").all()  # absolute paths stay absolute
    assert tabled.meta["roots"]["mine"] == str(tmp_path)


@pytest.fixture()
def demo_table(demo, tmp_path) -> Path:
    """A Parquet table of votes for some demo RAVDESS files (linked in beside it), with bad rows."""
    ravdess = demo.roots["ravdess"]
    kept = [e for e in demo.expected if e.corpus == "ravdess" and e.kept][:6]
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "audio").symlink_to(ravdess, target_is_directory=True)
    rows = [{"path": f"audio/{e.path}", "speaker": e.speaker.split(":")[1], "gender": e.gender,
             **{f"votes_{x}": str(int(x in e.labels) * 3) for x in ("neutral", "anger", "happy", "sad")},
             "n_raters": "3"} for e in kept]
    rows[4]["votes_sad"] = "x"  # not a count
    rows[5]["votes_sad"] = "5"  # more votes than raters
    rows.append({**rows[0], "path": "audio/Actor_01/not-there.wav"})  # a missing file
    rows.append({**rows[1], "path": "audio/" + kept[2].path})  # the same file twice
    pd.DataFrame(rows).to_parquet(folder / "votes.parquet")
    return folder / "votes.parquet"


def test_a_votes_table_of_demo_audio_with_bad_rows(demo, demo_table):
    manifest = build_manifest({"tess": demo.roots["tess"]}, tables={"mine": demo_table}, progress=False)
    assert list(manifest.meta["counts"]) == ["tess", "mine"]  # built-in corpora first, tables after
    mine = manifest.clips[manifest.clips["corpus"] == "mine"]
    rejects = manifest.rejects[manifest.rejects["corpus"] == "mine"].set_index("path")
    assert len(mine) + len(rejects) == 8
    assert rejects.loc["audio/Actor_01/not-there.wav", "reason"] == "missing"
    reasons = sorted(rejects["reason"])
    assert reasons == ["duplicate", "malformed_rating", "malformed_rating", "missing"]
    details = " ".join(rejects["detail"])
    assert "votes.parquet row 5: votes_sad 'x'" in details and "votes_sad 5 is more than n_raters 3" in details
    assert "row 8 lists the same file as votes.parquet row 3" in details
    assert mine["n_raters"].eq(3).all() and mine["votes_disgust"].isna().all()  # not offered
    assert mine["speaker"].str.startswith("mine:").all()
    for labels, votes in zip(mine["labels"], mine[[f"votes_{e}" for e in ("neutral", "anger", "happy", "sad")]]
                             .to_numpy()):
        assert len(labels.split("|")) == (votes == 3).sum()


def four_clip_table(tmp_path, csv_text: str):
    """The manifest of a table ``t.csv`` (``csv_text``) beside four real clips a.wav to d.wav."""
    for name in ["a.wav", "b.wav", "c.wav", "d.wav"]:
        write_wav(tmp_path / name)
    (tmp_path / "t.csv").write_text(csv_text)
    return build_manifest({}, tables={"t": tmp_path / "t.csv"}, progress=False)


def test_labels_column_and_policy(tmp_path):
    manifest = four_clip_table(tmp_path, "path,speaker,labels\na.wav,s1,anger|sad\nb.wav,s1,Bored\n"
                                    "c.wav,s2,anger|sad|fear|happy\nd.wav,s2,\n")
    assert list(manifest.clips["labels"]) == ["anger|sad"]
    reasons = dict(zip(manifest.rejects["path"], manifest.rejects["reason"]))
    assert reasons == {"b.wav": "label_outside_vocabulary", "c.wav": "too_many_labels",
                       "d.wav": "label_outside_vocabulary"}
    assert "'bored' is not one of the seven" in manifest.rejects.set_index("path").loc["b.wav", "detail"]


@pytest.mark.parametrize("text, message", [
    ("file,speaker,emotion\na.wav,s,anger\n", r"table t: .*t.csv has no column 'path'"),
    ("path,emotion\na.wav,anger\n", r"has no column 'speaker'"),
    ("path,speaker\na.wav,s\n", r"exactly one of the columns emotion, labels or votes_<emotion>; it has none"),
    ("path,speaker,emotion,labels\na.wav,s,anger,anger\n", r"it has emotion and labels"),
    ("path,speaker,votes_contempt\na.wav,s,1\n", r"column 'votes_contempt' is not votes_ of one of"),
    ("path,speaker,emotion\n,s,anger\n", r"t.csv line 2: empty path"),
    ("path,speaker,emotion\n", r"has no rows"),
    ("path|speaker|emotion\na.wav|s|anger\n", r"no column 'path' \(columns: path\|speaker\|emotion\); the first line "
                                              r"names the columns, separated by commas \(or semicolons or tabs\)"),
])
def test_a_table_that_cannot_be_used_stops_with_one_line(tmp_path, text, message):
    write_wav(tmp_path / "a.wav")
    (tmp_path / "t.csv").write_text(text)
    with pytest.raises(InputError, match=message) as err:
        build_manifest({}, tables={"t": tmp_path / "t.csv"}, progress=False)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name, message", [("ravdess", "is a built-in corpus"), ("My Data", "lower-case letters"),
                                           ("../x", "lower-case letters")])
def test_a_table_name_must_be_safe_and_new(tmp_path, name, message):
    (tmp_path / "t.csv").write_text("path,speaker,emotion\na.wav,s,anger\n")
    with pytest.raises(InputError, match=message):
        build_manifest({}, tables={name: tmp_path / "t.csv"}, progress=False)


@pytest.mark.slow
def test_cli_mixes_a_table_with_a_corpus_folder(demo, tmp_path):
    write_wav(tmp_path / "clips" / "x1.wav")
    write_wav(tmp_path / "clips" / "x2.wav")
    (tmp_path / "clips" / "list.csv").write_text("path,speaker,emotion\nx1.wav,anna,happy\nx2.wav,ben,sad\n")
    output = tmp_path / "m.parquet"
    env = {"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "aggregate", "manifest", "--ravdess", str(demo.roots["ravdess"]),
               "--table", f"mine={tmp_path / 'clips' / 'list.csv'}", "-o", str(output), "-q"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    manifest = read_manifest(output)
    assert set(manifest.clips["corpus"]) == {"ravdess", "mine"}
    assert sorted(manifest.clips.loc[manifest.clips["corpus"] == "mine", "sample_id"]) == ["mine/x1", "mine/x2"]
    assert set(manifest.clips["split"].dropna()) <= {"train", "val", "test"}

    twice = subprocess.run(command + ["--table", f"mine={tmp_path / 'clips' / 'list.csv'}"], capture_output=True,
                           text=True, env=env, cwd=tmp_path)
    assert twice.returncode == 2 and twice.stderr.count("\n") == 1 and "given twice" in twice.stderr


def test_a_row_without_a_speaker_or_emotion_is_rejected_naming_its_line(tmp_path):
    manifest = four_clip_table(tmp_path, "path,speaker,emotion\na.wav,s1,anger\nb.wav,,sad\nc.wav,s2,\nd.wav,,\n")
    assert list(manifest.clips["path"]) == ["a.wav"]
    rejects = manifest.rejects.set_index("path")
    assert rejects.loc["b.wav", "reason"] == "no_speaker" and "t.csv line 3: empty speaker" in rejects.loc["b.wav", "detail"]
    assert rejects.loc["c.wav", "reason"] == "label_outside_vocabulary"
    assert "t.csv line 4: empty emotion cell" in rejects.loc["c.wav", "detail"]
    assert rejects.loc["d.wav", "reason"] == "no_speaker"  # the first reason in priority order
    assert manifest.meta["counts"]["t"]["rejected"] == {"no_speaker": 2, "label_outside_vocabulary": 1}


def test_a_row_with_an_unreadable_gender_is_rejected_naming_its_line(tmp_path):
    """One mistyped optional cell costs its row, not the table: the other rows are kept."""
    manifest = four_clip_table(tmp_path, "path,speaker,emotion,gender\na.wav,s1,anger,F\nb.wav,s2,sad,fmale\n"
                                    "c.wav,s3,fear,\nd.wav,,happy,?\n")
    assert list(manifest.clips["path"]) == ["a.wav", "c.wav"]
    assert list(manifest.clips["gender"].fillna("unknown")) == ["female", "unknown"]
    rejects = manifest.rejects.set_index("path")
    assert rejects.loc["b.wav", "reason"] == "malformed_cell"
    assert "t.csv line 3: gender 'fmale' is not female, male, f, m or empty" in rejects.loc["b.wav", "detail"]
    assert rejects.loc["d.wav", "reason"] == "no_speaker"  # before malformed_cell in priority order
    assert manifest.meta["counts"]["t"]["rejected"] == {"no_speaker": 1, "malformed_cell": 1}


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_a_table_saved_with_semicolons_or_tabs_is_read(tmp_path, delimiter):
    write_wav(tmp_path / "a.wav")
    write_wav(tmp_path / "b.wav")
    rows = [["path", "speaker", "emotion"], ["a.wav", "s1", "anger"], ["b.wav", "s2", "sad"]]
    (tmp_path / "t.csv").write_text("".join(delimiter.join(row) + "\n" for row in rows))
    manifest = build_manifest({}, tables={"t": tmp_path / "t.csv"}, progress=False)
    assert list(manifest.clips["labels"]) == ["anger", "sad"] and list(manifest.clips["speaker"]) == ["t:s1", "t:s2"]


@pytest.mark.slow
def test_a_table_whose_rows_are_all_rejected_writes_nothing_and_says_why(tmp_path):
    write_wav(tmp_path / "a.wav")
    (tmp_path / "t.csv").write_text("path,speaker,emotion\ngone.wav,s1,anger\na.wav,s2,calm\nx.wav,s3,sad\n")
    output = tmp_path / "out" / "m.parquet"
    result = subprocess.run([sys.executable, "-m", "aggregate", "manifest", "--table", f"t={tmp_path / 't.csv'}",
                             "-o", str(output), "-q"], capture_output=True, text=True, cwd=tmp_path,
                            env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "all 3 rows of table t were rejected (missing 2, label_outside_vocabulary 1; first: gone.wav: " \
           "t.csv line 2: no file at" in result.stderr and "fix the table" in result.stderr
    assert not output.exists() and not output.with_name("m.rejects.csv").exists()


def test_a_corpus_folder_whose_files_are_all_rejected_stops_the_build(tmp_path):
    """The same rule as for a table: a source that keeps nothing is a wrong folder, not a corpus to list."""
    write_wav(tmp_path / "Actor_01" / "03-02-05-01-01-01-01.wav")  # song
    write_wav(tmp_path / "Actor_01" / "readme.wav")
    with pytest.raises(InputError, match=r"ravdess: all 2 files under .* were rejected \(not_speech 1, "
                                         r"name_not_understood 1; first: Actor_01/03-02-05-01-01-01-01.wav"):
        build_manifest({"ravdess": tmp_path}, progress=False)
