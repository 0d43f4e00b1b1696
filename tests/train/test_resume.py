"""A run a person can follow and resume: progress lines with the time left, no TensorFlow start-up noise,
and --resume after an interruption (Ctrl-C after an epoch) ending with an uninterrupted run's figures."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import pytest

pytestmark = pytest.mark.slow  # TensorFlow, in processes of python -m train

PROJECT = Path(__file__).resolve().parents[2]


def train(*args: str, cwd: Path, wait: bool = True):
    """``python -m train`` as a user runs it: TF_CPP_MIN_LOG_LEVEL not set, output to a pipe (no terminal)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(PROJECT)
    command = [sys.executable, "-m", "train", *args]
    if wait:
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    return subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def checkpoint_epoch(run: Path) -> int | None:
    try:
        with np.load(run / "checkpoint.npz", allow_pickle=False) as data:
            return json.loads(str(data["meta"]))["epoch"]
    except (OSError, ValueError, KeyError):  # not there yet, or being replaced
        return None


def test_an_interrupted_run_resumed_ends_as_an_uninterrupted_one(demo_shards, tmp_path):
    # the default model: mixup, time shift, SpecAugment and dropout draw random numbers, a cosine schedule
    args = ["--shards", str(demo_shards), "--epochs", "3", "--limit", "48", "--seed", "3"]
    straight = train(*args, "--out", str(tmp_path / "straight"), cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr[-3000:]
    # a line per epoch with the time left, and nothing of TensorFlow's start-up
    lines = [line for line in straight.stdout.splitlines() if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"], straight.stdout
    assert "left (2 epochs; ends near" in lines[0] and "val_pr_auc" in lines[0] and lines[2].endswith("the last epoch")
    assert straight.stderr == "", straight.stderr
    assert not (tmp_path / "straight" / "checkpoint.npz").exists()  # a finished run keeps no checkpoint

    run = tmp_path / "interrupted"
    process = train(*args, "--out", str(run), cwd=tmp_path, wait=False)
    deadline = time.monotonic() + 600
    while checkpoint_epoch(run) is None and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)  # Ctrl-C, during the second epoch
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-3000:]
    assert "--resume continues it" in stderr and checkpoint_epoch(run) == 1
    assert not (run / "model.keras").exists() and not (run / "metrics_test.json").exists()

    other = tmp_path / "other"
    shutil.copytree(run, other)
    changed = train(*args[:-2], "--seed", "4", "--out", str(other), "--resume", cwd=tmp_path)
    assert changed.returncode == 2 and "was started with other settings (options.seed: 3 then, 4 now)" in \
        changed.stderr, changed.stderr

    resumed = train(*args, "--out", str(run), "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming" in resumed.stdout and "after epoch 1 of 3" in resumed.stdout
    assert [line.split(":")[0] for line in resumed.stdout.splitlines() if line.startswith("epoch ")] == \
        ["epoch 2/3", "epoch 3/3"]
    for name in ("metrics_val.json", "metrics_test.json", "predictions.csv", "thresholds.json"):
        assert (run / name).read_text() == (tmp_path / "straight" / name).read_text(), name
    history = [(tmp_path / folder / "history.csv").read_text().splitlines() for folder in ("straight", "interrupted")]
    assert len(history[0]) == len(history[1]) == 4
    assert [row.split(",")[:3] for row in history[0]] == [row.split(",")[:3] for row in history[1]]
    config = json.loads((run / "config.json").read_text())
    assert config["trained"]["resumed_after_epoch"] == 1 and config["trained"]["epochs_run"] == 3

    again = train(*args, "--out", str(run), "--resume", cwd=tmp_path)
    assert again.returncode == 2 and "holds a finished run: nothing to resume" in again.stderr


def test_resume_refuses_in_one_line(demo_shards, tmp_path):
    base = ["--shards", str(demo_shards), "--epochs", "1"]
    for extra, words in [(["--out", str(tmp_path / "none"), "--resume"], "not a run folder"),
                         (["--out", str(tmp_path / "r"), "--resume", "--overwrite"], "pass one of them")]:
        result = train(*base, *extra, cwd=tmp_path)
        assert result.returncode == 2 and words in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "none").exists()


def test_progress_lines_within_and_at_the_end_of_each_epoch():
    import io

    from train.progress import duration, epoch_progress

    out = io.StringIO()
    progress = epoch_progress(epochs=5, batches=10, clips=300, within_epoch=True, may_stop_early=True, stream=out,
                              every=0.0)
    progress.on_train_begin()
    progress.on_epoch_begin(2)  # a resumed run: Keras counts from the epoch it resumed at
    progress.on_train_batch_end(3)
    progress.on_epoch_end(2, {"loss": 1.5, "val_loss": 1.25, "val_pr_auc": 0.5, "binary_accuracy": 0.9})
    within, end = out.getvalue().splitlines()
    assert within.startswith("  epoch 3/5: batch 4 of 10 (40 %), ") and "clips/s; this epoch ends in about" in within
    assert end.startswith("epoch 3/5: ") and "loss 1.5000, val_loss 1.2500, val_pr_auc 0.5000;" in end
    assert "at most about" in end and "left (2 epochs; ends near" in end and "binary_accuracy" not in end
    assert [duration(s) for s in (4, 89, 600, 5400, 7320)] == ["4 s", "89 s", "10 min", "1 h 30 min", "2 h 02 min"]
