"""Bad input gives one clear message and leaves nothing half-written."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers import write_wav

from aggregate.errors import InputError
from aggregate.manifest.build import build_manifest
from aggregate.manifest.format import read_manifest, write_manifest

PROJECT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aggregate", *args], cwd=cwd, capture_output=True,
                          text=True, env={"PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"})


def test_missing_root_names_it_and_says_what_was_expected(tmp_path):
    with pytest.raises(InputError, match=r"does not exist.*Actor_01"):
        build_manifest({"ravdess": tmp_path / "nowhere"}, progress=False)


@pytest.mark.parametrize("corpus, hint", [("ravdess", "Actor_01"), ("tess", "OAF_"),
                                           ("crema-d", "AudioWAV"), ("iemocap", "Session1")])
def test_empty_folder_is_not_taken_for_a_corpus(tmp_path, corpus, hint):
    with pytest.raises(InputError, match=f"does not look like {corpus}.*{hint}"):
        build_manifest({corpus: tmp_path}, progress=False)


def test_corpus_folder_without_audio(tmp_path):
    (tmp_path / "Actor_01").mkdir()
    with pytest.raises(InputError, match="no .wav file"):
        build_manifest({"ravdess": tmp_path}, progress=False)


def test_unreadable_files_are_rejected_with_a_reason(tmp_path):
    actor = tmp_path / "Actor_01"
    write_wav(actor / "03-01-05-01-01-01-01.wav", rate=48000)
    (actor / "03-01-05-01-01-02-01.wav").write_bytes(b"RIFF\x00\x00garbage" * 10)
    lfs = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "a" * 64 + "\nsize 123456\n"
    (actor / "03-01-05-01-02-01-01.wav").write_text(lfs)
    (actor / "03-01-05-01-02-02-01.wav").write_bytes(b"")
    (actor / "notes.wav").write_bytes(b"")
    write_wav(actor / "readme.wav")
    manifest = build_manifest({"ravdess": tmp_path}, progress=False)
    assert list(manifest.clips["path"]) == ["Actor_01/03-01-05-01-01-01-01.wav"]
    rejects = manifest.rejects.set_index("path")
    assert rejects.loc["Actor_01/03-01-05-01-01-02-01.wav", "reason"] == "unreadable"
    assert rejects.loc["Actor_01/03-01-05-01-02-01-01.wav", "reason"] == "unreadable"
    assert "git lfs pull" in rejects.loc["Actor_01/03-01-05-01-02-01-01.wav", "detail"]
    assert rejects.loc["Actor_01/03-01-05-01-02-02-01.wav", "reason"] == "empty"
    assert rejects.loc["Actor_01/notes.wav", "reason"] == "empty"  # an audio defect outranks the name
    assert rejects.loc["Actor_01/readme.wav", "reason"] == "name_not_understood"


def _crema_root(tmp_path: Path, votes_header: str) -> Path:
    root = tmp_path / "CREMA-D"
    write_wav(root / "AudioWAV" / "1001_IEO_NEU_XX.wav")
    (root / "processedResults").mkdir()
    (root / "processedResults" / "tabulatedVotes.csv").write_text(votes_header + "\n")
    (root / "VideoDemographics.csv").write_text('"ActorID","Age","Sex","Race","Ethnicity"\n1001,51,"Male","x","y"\n')
    return root


def test_votes_file_missing_its_columns(tmp_path):
    root = _crema_root(tmp_path, '"","A","D","F","N","S","fileName"')
    with pytest.raises(InputError, match=r"tabulatedVotes.csv lacks the columns H, numResponses"):
        build_manifest({"crema-d": root}, progress=False)


def test_votes_file_missing(tmp_path):
    root = _crema_root(tmp_path, "")
    (root / "processedResults" / "tabulatedVotes.csv").unlink()
    with pytest.raises(InputError, match=r"tabulatedVotes.csv is missing"):
        build_manifest({"crema-d": root}, progress=False)


@pytest.mark.slow
def test_cli_prints_one_line_and_writes_nothing(tmp_path):
    output = tmp_path / "out" / "m.parquet"
    result = run_cli("manifest", "--ravdess", str(tmp_path / "nowhere"), "-o", str(output), cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ravdess:") and result.stderr.count("\n") == 1
    assert not output.exists()

    result = run_cli("manifest", "-o", str(output), cwd=tmp_path)
    assert result.returncode == 2 and "no corpus given" in result.stderr


@pytest.mark.slow
def test_cli_help_explains_every_option(tmp_path):
    result = run_cli("manifest", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for option in ["--ravdess", "--tess", "--crema-d", "--iemocap", "--min-votes", "--max-labels",
                   "--iemocap-self-evaluations", "--ravdess-calm-as-neutral"]:
        assert option in result.stdout


def test_a_failed_write_leaves_the_old_manifest_whole(tmp_path, monkeypatch):
    write_wav(tmp_path / "Actor_01" / "03-01-05-01-01-01-01.wav", rate=48000)
    manifest = build_manifest({"ravdess": tmp_path}, progress=False)
    output = tmp_path / "manifests" / "m.parquet"
    old_mask = os.umask(0o022)
    try:
        write_manifest(manifest, output)
    finally:
        os.umask(old_mask)
    assert output.stat().st_mode & 0o777 == 0o644  # readable by the collaborators it is shared with
    before = output.read_bytes()

    def crash(table, where, **kwargs):
        Path(where).write_bytes(b"PAR1 half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(pq, "write_table", crash)
    with pytest.raises(KeyboardInterrupt):
        write_manifest(manifest, output)
    assert output.read_bytes() == before
    assert sorted(p.name for p in output.parent.iterdir()) == ["m.parquet", "m.rejects.csv"]


def test_reading_something_that_is_not_a_manifest(tmp_path):
    with pytest.raises(InputError, match="no manifest at"):
        read_manifest(tmp_path / "missing.parquet")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(InputError, match="not a readable Parquet manifest"):
        read_manifest(tmp_path / "bad.parquet")


# ---------------------------------------------------------------- the next step for what was passed


def _one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_verify_given_a_manifest_says_to_render_it(demo_shards, capsys):
    from aggregate.cli import main

    manifest = demo_shards.parent / "demo.parquet"  # the manifest the shards were rendered from
    assert main(["verify", str(manifest)]) == 2
    line = _one_line(capsys)
    assert f"python -m aggregate render {manifest} -o shards/" in line and f"-o {manifest}" not in line


def test_verify_of_a_folder_not_yet_rendered_says_to_render_into_it(tmp_path, capsys):
    from aggregate.cli import main

    assert main(["verify", str(tmp_path / "shards")]) == 2
    assert f"render MANIFEST -o {tmp_path / 'shards'}" in _one_line(capsys)


def test_render_given_a_shards_folder_names_its_manifest_copy(demo_shards, tmp_path, capsys):
    from aggregate.cli import main

    assert main(["render", str(demo_shards), "-o", str(tmp_path / "out"), "--jobs", "1", "-q"]) == 2
    line = _one_line(capsys)
    assert "is a shards folder" in line and str(demo_shards / "manifest.parquet") in line and "no manifest" not in line
    assert not (tmp_path / "out").exists()
    assert main(["render", str(tmp_path), "-o", str(tmp_path / "out"), "--jobs", "1", "-q"]) == 2
    assert "is a folder, not a manifest" in _one_line(capsys)


@pytest.mark.parametrize("args, usage, near", [
    (["manifest", "--ravdass", "RAVDESS", "-o", "m.parquet"], "python -m aggregate manifest", "--ravdess"),
    (["verify", "--jsno", "shards"], "python -m aggregate verify", "--json"),
    (["render", "m.parquet", "-o", "shards", "--jbos", "2"], "python -m aggregate render", "--jobs"),
])
def test_a_mistyped_flag_prints_the_commands_usage_and_the_nearest_flag(args, usage, near, capsys):
    from aggregate.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(args)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith(f"usage: {usage} ")
    mistyped = next(a for a in args if a.startswith("--"))
    assert f"unrecognized arguments: {mistyped}" in err
    assert err.rstrip().endswith(f"did you mean {near}?")
