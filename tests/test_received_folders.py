"""A folder received from anyone cannot reach outside itself, and a marker proves only what still matches it.

Each test recreates one case of issue 17: a lock that is a link to a file of the user's, a marker
copied from another run, a marker without checksums, a report edited after it was written, an
output aimed inside a folder another command owns. The outcome: the command refuses in one line
naming the file, and every byte outside what the tool wrote is as it was.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import cli

from aggregate.errors import InputError
from aggregate.manifest.format import read_manifest, write_manifest
from aggregate.render.run import render_shards
from aggregate.report import build_report
from aggregate.report.folder import MARKER as REPORT_MARKER
from aggregate.report.folder import check_replaceable
from aggregate.shards.storage import StorageConfig
from train.run_folder import MARKER, RunFolder

PROJECT = Path(__file__).resolve().parents[1]
EIGHT = StorageConfig(shard_size=8)


@pytest.fixture
def precious(tmp_path) -> Path:
    path = tmp_path / "precious.txt"
    path.write_text("years of work\n")
    return path


# -- the shards folder: nothing written through a link ------------------------------------------

@pytest.mark.parametrize("how", ["symlink", "hardlink"])
def test_a_lock_that_leads_to_a_users_file_is_refused_and_the_file_kept(reference, small_manifest, tmp_path,
                                                                         precious, how):
    """The issue's case: plan.json and `.render.lock -> ~/precious.txt`; render once truncated the file
    to its PID. A hard link would be truncated the same way."""
    out = tmp_path / "shards"
    shutil.copytree(reference, out)
    (out / ".render.lock").unlink(missing_ok=True)
    if how == "symlink":
        (out / ".render.lock").symlink_to(precious)
    else:
        os.link(precious, out / ".render.lock")
    with pytest.raises(InputError, match=r"\.render\.lock"):
        render_shards(small_manifest, out, jobs=1, storage=EIGHT, progress=False)
    assert precious.read_text() == "years of work\n"


def test_a_folder_holding_a_link_is_refused_before_anything_is_written(reference, small_manifest, tmp_path, precious):
    out = tmp_path / "shards"
    shutil.copytree(reference, out)
    (out / "shard-00002.h5").unlink()
    (out / "shard-00002.h5").symlink_to(precious)
    before = {p.name: p.read_bytes() for p in out.iterdir() if not p.is_symlink()}
    with pytest.raises(InputError, match=r"shard-00002\.h5 is a symbolic link"):
        render_shards(small_manifest, out, jobs=1, storage=EIGHT, progress=False)
    assert precious.read_text() == "years of work\n"
    assert {p.name: p.read_bytes() for p in out.iterdir() if not p.is_symlink()} == before


def test_a_shards_folder_that_is_a_link_is_refused(small_manifest, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "shards").symlink_to(real, target_is_directory=True)
    with pytest.raises(InputError, match="is a symbolic link"):
        render_shards(small_manifest, tmp_path / "shards", jobs=1, storage=EIGHT, progress=False)
    assert list(real.iterdir()) == []


# -- run folders: only what still matches its checksum is removed -------------------------------

def finished_run(path: Path) -> RunFolder:
    run = RunFolder.create(path)
    run.write_json(RunFolder.CONFIG, {"model": "x"})
    run.write_text(RunFolder.SPLITS, "sample_id,speaker,corpus,split\n")
    run.write_json(RunFolder.THRESHOLDS, {"anger": 0.5})
    run.write_text(RunFolder.MODEL, "weights")
    run.write_text(RunFolder.REPORT, "the run's report\n")
    return run


def test_overwrite_keeps_a_report_edited_after_the_run(tmp_path):
    out = tmp_path / "run"
    finished_run(out)
    (out / RunFolder.REPORT).write_text("the run's report\nmy notes on it\n")
    with pytest.raises(InputError, match=r"report\.txt no longer matches the checksum in \.aggregate-run"):
        RunFolder.create(out, overwrite=True)
    assert (out / RunFolder.REPORT).read_text() == "the run's report\nmy notes on it\n"
    assert (out / RunFolder.MODEL).read_text() == "weights"


def test_a_marker_copied_from_another_run_proves_nothing(tmp_path):
    other = tmp_path / "other"
    finished_run(other)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text('{"mine": true}')
    (mine / "model.keras").write_text("my model")
    shutil.copy(other / MARKER, mine / MARKER)
    with pytest.raises(InputError, match=r"(config\.json|model\.keras) no longer matches"):
        RunFolder.create(mine, overwrite=True)
    assert (mine / "config.json").read_text() == '{"mine": true}' and (mine / "model.keras").read_text() == "my model"


def test_a_marker_that_lists_files_without_checksums_removes_nothing(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text('{"mine": true}')
    (mine / "model.keras").write_text("my model")
    (mine / MARKER).write_text(json.dumps({"written_by": "python -m train", "files": ["config.json", "model.keras"]}))
    with pytest.raises(InputError, match="has no checksum in .aggregate-run"):
        RunFolder.create(mine, overwrite=True)
    assert sorted(p.name for p in mine.iterdir()) == [MARKER, "config.json", "model.keras"]


def test_a_run_that_matches_its_marker_is_still_replaced(tmp_path):
    out = tmp_path / "run"
    finished_run(out)
    RunFolder.create(out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == [MARKER]


# -- report folders -------------------------------------------------------------------------------

def test_a_copied_report_marker_does_not_let_report_replace_a_users_page(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "index.html").write_text("<p>a card</p>")
    (theirs / REPORT_MARKER).write_text(json.dumps({"written_by": "python -m aggregate report",
                                                    "files": ["index.html"]}))
    mine = tmp_path / "site"
    mine.mkdir()
    (mine / "index.html").write_text("<p>my own site</p>")
    shutil.copy(theirs / REPORT_MARKER, mine / REPORT_MARKER)
    with pytest.raises(InputError, match=r"index\.html has no checksum"):
        check_replaceable(mine)
    assert (mine / "index.html").read_text() == "<p>my own site</p>"


def test_a_report_edited_after_it_was_written_is_kept(small_manifest, tmp_path):
    card = tmp_path / "card"
    build_report(small_manifest, card)
    marker = json.loads((card / REPORT_MARKER).read_text())
    assert all(len(digest) == 64 for digest in marker["files"].values())
    (card / "index.html").write_text("<p>edited by hand</p>")
    with pytest.raises(InputError, match=r"index\.html no longer matches"):
        build_report(small_manifest, card)
    assert (card / "index.html").read_text() == "<p>edited by hand</p>"


# -- outputs never land inside another command's folder --------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("command", ["select", "manifest"])
def test_a_manifest_aimed_at_a_shards_folders_copy_is_refused(reference, small_manifest, tmp_path, command):
    shards = tmp_path / "shards"
    shutil.copytree(reference, shards)
    copy = shards / "manifest.parquet"
    before = copy.read_bytes()
    if command == "select":
        result = cli("select", str(small_manifest), "-o", str(copy), "--corpus", "tess", cwd=tmp_path)
    else:
        result = cli("manifest", "--tess", str(tmp_path / "nowhere"), "-o", str(copy), cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert f"{shards} is a shards folder" in result.stderr
    assert copy.read_bytes() == before
    from aggregate.shards.verify import verify_shards
    assert verify_shards(shards, progress=False).ok


def test_other_outputs_inside_another_commands_folder_are_refused(reference, small_manifest, tmp_path):
    shards = tmp_path / "shards"
    shutil.copytree(reference, shards)
    with pytest.raises(InputError, match="is a shards folder"):
        build_report(small_manifest, shards / "card")
    with pytest.raises(InputError, match="is a shards folder"):
        RunFolder.create(shards / "run")
    run = tmp_path / "run"
    finished_run(run)
    with pytest.raises(InputError, match="is a run folder"):
        render_shards(small_manifest, run / "shards", jobs=1, storage=EIGHT, progress=False)
    with pytest.raises(InputError, match="is a run folder"):
        write_manifest(read_manifest(small_manifest), run / "m.parquet")
    assert sorted(p.name for p in shards.iterdir()) == sorted(p.name for p in reference.iterdir())


# -- one writer per run folder ---------------------------------------------------------------------

HOLDER = """
import sys, time
from train.run_folder import RunFolder
run = RunFolder.create(sys.argv[1])
run.write_text(RunFolder.REPORT, "first\\n")
print("ready", flush=True)
time.sleep(60)
"""


@pytest.mark.slow
def test_a_second_writer_of_a_run_folder_is_refused_naming_the_first(tmp_path):
    out = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, PYTHONPATH=str(PROJECT)))
    try:
        assert first.stdout.readline().strip() == "ready"
        for attempt in (lambda: RunFolder.create(out, overwrite=True), lambda: RunFolder.join(out)):
            with pytest.raises(InputError, match=f"is being written by process {first.pid}"):
                attempt()
        assert (out / RunFolder.REPORT).read_text() == "first\n"
    finally:
        first.kill()
        first.wait()
    RunFolder.join(out).write_text(RunFolder.BASELINE_REPORT, "second\n")  # the first is gone: the folder is free
    assert RunFolder.open(out, need=()).files[RunFolder.BASELINE_REPORT]


@pytest.mark.slow
def test_a_second_benchmark_into_one_folder_is_refused(tmp_path):
    from train.commands.benchmark import claim_folder

    out = tmp_path / "bench"
    script = ("import sys, time\nfrom train.commands.benchmark import claim_folder\nfrom pathlib import Path\n"
              "claim_folder(Path(sys.argv[1]))\nprint('ready', flush=True)\ntime.sleep(60)\n")
    first = subprocess.Popen([sys.executable, "-c", script, str(out)], stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, PYTHONPATH=str(PROJECT)))
    try:
        assert first.stdout.readline().strip() == "ready"
        with pytest.raises(InputError, match=f"is being written by process {first.pid}"):
            claim_folder(out)
    finally:
        first.kill()
        first.wait()
