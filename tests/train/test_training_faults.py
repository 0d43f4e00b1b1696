"""Fault injection around training: run folders, shards that break, damaged runs, other shards.

Each test recreates a fault a hostile tester found: nothing of the user's is deleted, nothing
corrupt is used, and the answer is one line that names the file, never a traceback.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import one_error_line, run_module

from aggregate.errors import InputError

pytestmark = pytest.mark.slow  # TensorFlow, in processes of python -m train


def users_folder(path: Path) -> Path:
    path.mkdir()
    (path / "model.keras").write_text("a model from elsewhere")
    (path / "thesis.txt").write_text("years of work")
    (path / "sub").mkdir()
    (path / "sub" / "notes.md").write_text("notes")
    return path


def untouched(path: Path) -> bool:
    return ((path / "thesis.txt").read_text() == "years of work" and (path / "sub" / "notes.md").is_file()
            and (path / "model.keras").read_text() == "a model from elsewhere")


def test_overwrite_with_a_typo_in_shards_deletes_nothing(tmp_path):
    out = users_folder(tmp_path / "results")
    line = one_error_line(run_module("train", "--shards", str(tmp_path / "shardz"), "--out", str(out),
                                     "--overwrite", cwd=tmp_path))
    assert "shardz" in line and untouched(out)


def test_overwrite_never_empties_a_folder_the_tool_did_not_write(demo_shards, tmp_path):
    out = users_folder(tmp_path / "results")
    line = one_error_line(run_module("train", "--shards", str(demo_shards), "--out", str(out), "--overwrite",
                                     "--model", "paper-cnn", "--small", "--epochs", "1", cwd=tmp_path))
    assert "results" in line and ".aggregate-run" in line and untouched(out)


@pytest.mark.parametrize("args, words", [(["--epochs", "0"], "--epochs must be at least 1"),
                                         (["--batch-size", "0"], "--batch-size must be at least 1")])
def test_impossible_numbers_are_one_line(demo_shards, tmp_path, args, words):
    line = one_error_line(run_module("train", "--shards", str(demo_shards), "--out", str(tmp_path / "r"), *args,
                                     cwd=tmp_path))
    assert words in line and not (tmp_path / "r").exists()


def test_out_that_is_a_file_is_one_line(demo_shards, tmp_path):
    (tmp_path / "r").write_text("a file")
    line = one_error_line(run_module("train", "--shards", str(demo_shards), "--out", str(tmp_path / "r"),
                                     "--model", "paper-cnn", "--small", "--epochs", "1", cwd=tmp_path))
    assert "is not a folder" in line and (tmp_path / "r").read_text() == "a file"


def test_a_shard_flipped_after_rendering_is_refused_by_train_and_evaluate(tiny_run, demo_shards, tmp_path):
    shards = tmp_path / "shards"
    shutil.copytree(demo_shards, shards)
    shard = sorted(shards.glob("shard-*.h5"))[1]
    data = bytearray(shard.read_bytes())
    data[-300] ^= 0x01
    shard.write_bytes(bytes(data))
    line = one_error_line(run_module("train", "--shards", str(shards), "--out", str(tmp_path / "r"), cwd=tmp_path))
    assert shard.name in line and "checksum" in line and not (tmp_path / "r").exists()
    line = one_error_line(run_module("train", "evaluate", str(tiny_run), "--shards", str(shards), "--out",
                                     str(tmp_path / "e"), cwd=tmp_path))
    assert shard.name in line


def test_a_shard_that_breaks_during_training_is_one_line(demo_shards, tmp_path, monkeypatch):
    from aggregate.shards.reading import ShardsFolder
    from train.run import TrainOptions, train_run

    shards = tmp_path / "shards"
    shutil.copytree(demo_shards, shards)
    real_open = ShardsFolder.open

    def open_then_lose_a_shard(path, *args, **kwargs):  # checked whole, then gone before it is read
        folder = real_open(path, *args, **kwargs)
        (shards / folder.shard_names[0]).unlink()
        return folder

    monkeypatch.setattr(ShardsFolder, "open", open_then_lose_a_shard)
    with pytest.raises(InputError, match=r"shard-00000\.h5"):
        train_run(TrainOptions(shards=shards, out=tmp_path / "r", model="paper-cnn", epochs=1,
                               model_options={"small": True}, verbose=0))


def test_a_damaged_run_is_refused_by_predict(tiny_run, demo, tmp_path):
    clip = next((demo.roots["ravdess"] / "Actor_01").glob("03-01-05-*.wav"))
    for damage in ("model", "config", "thresholds"):
        run = tmp_path / damage
        shutil.copytree(tiny_run, run)
        if damage == "model":
            (run / "model.keras").write_bytes((run / "model.keras").read_bytes()[:1000])
        elif damage == "config":
            (run / "config.json").write_text("{")
        else:
            (run / "thresholds.json").unlink()
        line = one_error_line(run_module("train", "predict", str(run), str(clip), cwd=tmp_path))
        assert str(run) in line


def test_evaluating_on_other_shards_never_overwrites_the_run(tiny_run, demo_shards, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    other = tmp_path / "other"
    shutil.copytree(demo_shards, other)
    line = one_error_line(run_module("train", "evaluate", str(run), "--shards", str(other), cwd=tmp_path))
    assert "--out" in line
    result = run_module("train", "evaluate", str(run), "--shards", str(other), "--out", str(tmp_path / "elsewhere"),
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "elsewhere" / "metrics_test.json").is_file()
    assert json.loads((tmp_path / "elsewhere" / "config.json").read_text())["shards"] == str(other.resolve())
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before


def test_shards_lacking_the_runs_test_clips_are_refused(tiny_run, small_manifest, tmp_path):
    from aggregate.render.run import render_shards

    few = tmp_path / "few"
    render_shards(small_manifest, few, progress=False)  # 40 of the demo's clips
    line = one_error_line(run_module("train", "evaluate", str(tiny_run), "--shards", str(few), "--out",
                                     str(tmp_path / "e"), cwd=tmp_path))
    assert "lacks" in line and "validation and test clips" in line and not (tmp_path / "e").exists()


def test_train_json_is_the_whole_stdout(demo_shards, tmp_path):
    result = run_module("train", "--shards", str(demo_shards), "--out", str(tmp_path / "r"), "--model", "paper-cnn",
                        "--small", "--epochs", "1", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads(result.stdout)  # one object, nothing else
    assert data["run"] == str(tmp_path / "r") and set(data) >= {"val", "test", "seconds"}
    assert data["test"] == json.loads((tmp_path / "r" / "metrics_test.json").read_text())
    assert "test" in result.stderr  # the report for people went to stderr


def test_benchmark_never_replaces_a_leaderboard_it_did_not_write(demo_shards, tmp_path):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "leaderboard.md").write_text("my own table\n")
    line = one_error_line(run_module("train", "benchmark", "--shards", str(demo_shards), "--out", str(out),
                                     "--models", "paper-cnn", cwd=tmp_path))
    assert "not written by `python -m train benchmark`" in line and str(out) in line
    assert (out / "leaderboard.md").read_text() == "my own table\n"
    assert sorted(p.name for p in out.iterdir()) == ["leaderboard.md"]


def test_a_benchmark_folder_is_claimed_once_and_keeps_strangers_out(tmp_path):
    from train.benchmark import MARKER, claim_folder

    out = tmp_path / "bench"
    claim_folder(out)
    assert (out / MARKER).is_file()
    (out / "fusion").mkdir()
    claim_folder(out)  # an earlier benchmark's folder: resumed
    (out / "leaderboard.md").write_text("| model |\n")  # not written by the benchmark: no checksum proves it
    with pytest.raises(InputError, match="leaderboard.md has no checksum"):
        claim_folder(out)
    (out / "leaderboard.md").unlink()
    (out / "holiday.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(InputError, match="holiday.jpg"):
        claim_folder(out)
    assert (out / "holiday.jpg").read_bytes() == b"\xff\xd8"
