"""Where the manifest goes: a wrong -o, a rejects table of another build, a failed write, a closed pipe."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import helpers
import pyarrow.parquet as pq
import pytest
from helpers import cli as run_cli

from aggregate.errors import EXIT_BROKEN_PIPE, InputError
from aggregate.manifest.build import build_manifest
from aggregate.manifest.format import read_manifest, rejects_path, write_manifest

PROJECT = Path(__file__).resolve().parents[2]


def one_error_line(result: subprocess.CompletedProcess, *words: str) -> None:
    """helpers.one_error_line, and nothing else written: stdout empty, stderr that one line."""
    helpers.one_error_line(result, *words)
    assert result.stdout == "" and result.stderr.count("\n") == 1, result.stdout + result.stderr


@pytest.mark.slow
def test_an_output_that_is_a_folder_is_one_line_and_writes_nothing(demo, tmp_path):
    folder = tmp_path / "manifests"
    folder.mkdir()
    result = run_cli("manifest", "--tess", str(demo.roots["tess"]), "-o", str(folder))
    one_error_line(result, f"-o {folder}", "is a folder", "pass a file name")
    assert list(tmp_path.iterdir()) == [folder] and not any(folder.iterdir())


@pytest.mark.slow
def test_an_output_under_a_file_is_one_line(demo, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = run_cli("manifest", "--tess", str(demo.roots["tess"]), "-o", str(tmp_path / "notes.txt" / "m.parquet"))
    one_error_line(result, f"{tmp_path / 'notes.txt'} is a file, not a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.slow
def test_files_it_did_not_write_are_never_overwritten(demo, tmp_path):
    theirs = tmp_path / "m.parquet"
    theirs.write_text("my own notes")
    one_error_line(run_cli("manifest", "--tess", str(demo.roots["tess"]), "-o", str(theirs)),
                   "is not a manifest written by this tool")
    assert theirs.read_text() == "my own notes" and not rejects_path(theirs).exists()

    rejects = tmp_path / "n.rejects.csv"
    rejects.write_text("a,b\n1,2\n")
    one_error_line(run_cli("manifest", "--tess", str(demo.roots["tess"]), "-o", str(tmp_path / "n.parquet")),
                   f"{rejects} exists and is not a rejects table written by this tool")
    assert rejects.read_text() == "a,b\n1,2\n" and not (tmp_path / "n.parquet").exists()


@pytest.mark.slow
def test_a_manifest_it_wrote_is_replaced(demo, tmp_path):
    out = tmp_path / "m.parquet"
    for corpus in ("tess", "ravdess"):
        result = run_cli("manifest", f"--{corpus}", str(demo.roots[corpus]), "-o", str(out), "-q")
        assert result.returncode == 0, result.stderr
    assert set(read_manifest(out).clips["corpus"]) == {"ravdess"}


@pytest.fixture(scope="module")
def two_builds(demo):
    return (build_manifest({"tess": demo.roots["tess"]}, progress=False),
            build_manifest({"ravdess": demo.roots["ravdess"]}, progress=False))


def test_a_rejects_table_of_another_build_is_refused(two_builds, tmp_path):
    tess, ravdess = two_builds
    mine = write_manifest(tess, tmp_path / "tess.parquet")
    other = write_manifest(ravdess, tmp_path / "ravdess.parquet")
    rejects_path(mine).write_bytes(rejects_path(other).read_bytes())
    with pytest.raises(InputError, match=r"tess\.rejects\.csv is not the rejects table written with .*tess\.parquet "
                                         r".*build the manifest again"):
        read_manifest(mine)


def test_a_failed_write_leaves_the_previous_pair_whole(two_builds, tmp_path, monkeypatch):
    tess, ravdess = two_builds
    out = write_manifest(tess, tmp_path / "m.parquet")
    before = out.read_bytes(), rejects_path(out).read_bytes()

    def crash(table, where, **kwargs):
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", crash)
    with pytest.raises(InputError, match=r"cannot write .*m\.parquet \(No space left on device\)"):
        write_manifest(ravdess, out)
    assert (out.read_bytes(), rejects_path(out).read_bytes()) == before  # the rejects too, not only the Parquet
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.parquet", "m.rejects.csv"]
    monkeypatch.undo()
    assert set(read_manifest(out).clips["corpus"]) == {"tess"}


@pytest.mark.slow
def test_a_reader_that_goes_away_gets_no_traceback(demo, tmp_path):
    """`python -m aggregate manifest ... --json | head -1`: the reader leaves before the result is written
    (``-q`` alone now prints nothing on stdout)."""
    process = subprocess.Popen([sys.executable, "-m", "aggregate", "manifest", "--tess", str(demo.roots["tess"]),
                                "-o", str(tmp_path / "m.parquet"), "-q", "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=str(PROJECT)))
    process.stdout.close()  # long before the summary: the interpreter has not even imported pandas yet
    stderr = process.stderr.read().decode()
    assert process.wait() == EXIT_BROKEN_PIPE
    # no traceback, no "Exception ignored": only the split warnings -q keeps
    assert all(line.startswith("warning: ") for line in stderr.splitlines()), stderr
    assert read_manifest(tmp_path / "m.parquet").clips["corpus"].eq("tess").all()  # the work itself was done


def _rewrite(path: Path, table, metadata: dict) -> None:
    pq.write_table(table.replace_schema_metadata(metadata), path)


@pytest.mark.slow
def test_a_manifest_missing_a_column_or_its_metadata_is_refused_and_render_writes_nothing(two_builds, tmp_path):
    tess, _ = two_builds
    path = write_manifest(tess, tmp_path / "m.parquet")
    rejects_path(path).unlink()
    table = pq.read_table(path)
    _rewrite(path, table.drop_columns(["speaker"]), table.schema.metadata)
    with pytest.raises(InputError, match=r"m\.parquet is a damaged manifest \(it lacks the column\(s\) speaker\)"):
        read_manifest(path)
    one_error_line(run_cli("render", str(path), "-o", str(tmp_path / "shards")), "damaged manifest", "speaker")
    _rewrite(path, table, {**table.schema.metadata, b"aggregate": b"{not json"})
    with pytest.raises(InputError, match=r"damaged manifest \(its metadata is not readable\)"):
        read_manifest(path)
    assert not (tmp_path / "shards").exists()


@pytest.mark.slow
def test_render_refuses_a_rejects_table_of_another_build_before_it_writes_anything(two_builds, tmp_path):
    tess, ravdess = two_builds
    mine = write_manifest(tess, tmp_path / "tess.parquet")
    rejects_path(mine).write_bytes(rejects_path(write_manifest(ravdess, tmp_path / "ravdess.parquet")).read_bytes())
    one_error_line(run_cli("render", str(mine), "-o", str(tmp_path / "shards"), "--jobs", "2"),
                   "tess.rejects.csv is not the rejects table written with")
    assert not (tmp_path / "shards").exists()
