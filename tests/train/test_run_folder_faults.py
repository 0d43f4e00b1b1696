"""Fault injection on run folders: a typo in --out never costs a user their files, a damaged run is refused."""
from __future__ import annotations

import json

import pytest

from aggregate.errors import InputError
from train.run_folder import MARKER, RunFolder


def finished_run(path):
    run = RunFolder.create(path)
    run.write_json(RunFolder.CONFIG, {"model": "x"})
    run.write_text(RunFolder.SPLITS, "sample_id,speaker,corpus,split\n")
    run.write_json(RunFolder.THRESHOLDS, {"anger": 0.5})
    run.write_text(RunFolder.MODEL, "weights")
    return run


def test_overwrite_removes_only_what_the_run_wrote(tmp_path):
    out = tmp_path / "run"
    finished_run(out)
    with pytest.raises(InputError, match="already holds a run; pass --overwrite"):
        RunFolder.create(out)
    (out / "thesis.txt").write_text("years of work")
    (out / "sub").mkdir()
    with pytest.raises(InputError, match=r"did not write \(sub, thesis.txt\)"):
        RunFolder.create(out, overwrite=True)
    assert (out / "thesis.txt").read_text() == "years of work" and (out / RunFolder.MODEL).is_file()
    (out / "thesis.txt").unlink()
    (out / "sub").rmdir()
    RunFolder.create(out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == [MARKER]


def test_a_folder_of_someone_elses_files_is_refused(tmp_path):
    (tmp_path / "paper").mkdir()
    (tmp_path / "paper" / "model.keras").write_text("not ours")
    with pytest.raises(InputError, match="no valid .aggregate-run"):
        RunFolder.create(tmp_path / "paper", overwrite=True)
    assert (tmp_path / "paper" / "model.keras").read_text() == "not ours"


def test_out_that_is_a_file_or_under_one_is_one_line(tmp_path):
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(InputError, match="exists and is not a folder"):
        RunFolder.create(tmp_path / "a-file")
    with pytest.raises(InputError, match="cannot create the run folder"):
        RunFolder.create(tmp_path / "a-file" / "run")


def test_a_changed_or_unfinished_run_is_refused(tmp_path):
    out = tmp_path / "run"
    finished_run(out)
    assert RunFolder.open(out).files[RunFolder.MODEL]
    (out / RunFolder.MODEL).write_text("weights, edited")
    with pytest.raises(InputError, match="model.keras changed since the run wrote it"):
        RunFolder.open(out)
    started = RunFolder.create(tmp_path / "killed")
    started.write_json(RunFolder.CONFIG, {})
    with pytest.raises(InputError, match="no finished model.keras"):
        RunFolder.open(tmp_path / "killed")
    with pytest.raises(InputError, match="not a run folder"):
        RunFolder.open(tmp_path)


def test_a_forged_marker_cannot_reach_outside_the_folder(tmp_path):
    out = tmp_path / "run"
    finished_run(out)
    (tmp_path / "precious.txt").write_text("keep")
    marker = json.loads((out / MARKER).read_text())
    marker["files"]["../precious.txt"] = None
    (out / MARKER).write_text(json.dumps(marker))
    with pytest.raises(InputError, match="no valid .aggregate-run"):
        RunFolder.create(out, overwrite=True)
    assert (tmp_path / "precious.txt").read_text() == "keep"
