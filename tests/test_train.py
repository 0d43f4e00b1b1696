"""python -m train on the demo shards: a short run, its folder, evaluate, predict, baseline, bad input."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aggregate.emotions import EMOTIONS
from aggregate.errors import InputError

PROJECT = Path(__file__).resolve().parents[1]


def run_train(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(PROJECT), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "train", *args], cwd=cwd, capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def short_run(demo_shards, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "run"
    result = run_train("--shards", str(demo_shards), "--out", str(run), "--small", "--epochs", "15", "--cache",
                       cwd=run.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    return run


def test_a_short_run_writes_its_folder_and_beats_the_trivial_predictor(short_run):
    for name in ["config.json", "splits.csv", "class_weights.json", "model.keras", "history.csv",
                 "thresholds.json", "metrics_val.json", "metrics_test.json", "report.txt",
                 "curves.png", "confusion_test.png", "per_corpus_test.png"]:
        assert (short_run / name).is_file(), name
    test = json.loads((short_run / "metrics_test.json").read_text())
    assert test["macro_f1"] > test["trivial"]["macro_f1"] + 0.15  # trivial: 0
    assert test["mAP"] > test["trivial"]["mAP"] + 0.1
    assert set(test["per_corpus"]) <= {"iemocap", "crema-d", "tess", "ravdess"}
    config = json.loads((short_run / "config.json").read_text())
    assert config["feature_config_hash"] and config["model"]["small"] is True
    assert len(pd.read_csv(short_run / "history.csv")) >= 1


def test_splits_are_written_speaker_disjoint_and_class_weights_come_from_train(short_run, demo_shards):
    from aggregate.shards import ShardsFolder
    from train.data import load_split
    from train.model import class_weights

    splits = pd.read_csv(short_run / "splits.csv")
    assert splits.groupby("speaker")["split"].nunique().max() == 1
    assert set(splits["split"]) == {"train", "val", "test"}
    assert set(splits["sample_id"]) == set(ShardsFolder.open(demo_shards).places)
    train_ids = splits.loc[splits["split"] == "train", "sample_id"]
    expected = class_weights(load_split(ShardsFolder.open(demo_shards), train_ids).labels)
    written = json.loads((short_run / "class_weights.json").read_text())
    assert np.allclose([written[e] for e in EMOTIONS], expected)


def test_evaluate_recomputes_the_same_metrics(short_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(short_run, copy)
    before = json.loads((copy / "metrics_test.json").read_text())
    (copy / "metrics_test.json").unlink()
    result = run_train("evaluate", str(copy), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((copy / "metrics_test.json").read_text()) == before


def test_predict_prints_a_probability_per_emotion(short_run, demo, tmp_path):
    clip = next((demo.roots["ravdess"] / "Actor_01").glob("03-01-05-*.wav"))
    result = run_train("predict", str(short_run), str(clip), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    [answer] = json.loads(result.stdout)
    assert list(answer["probabilities"]) == list(EMOTIONS)
    assert all(0 <= p <= 1 for p in answer["probabilities"].values())


def test_reusing_a_splits_file_and_other_strategies(short_run, demo_shards, tmp_path):
    from train.run import TrainOptions, _splits_for
    from aggregate.shards import ShardsFolder
    from aggregate.splits import SplitConfig

    folder = ShardsFolder.open(demo_shards)
    clips, source = _splits_for(folder, TrainOptions(shards=demo_shards, out=tmp_path,
                                                          splits=short_run / "splits.csv"))
    written = pd.read_csv(short_run / "splits.csv").set_index("sample_id")["split"]
    assert (clips.set_index("sample_id")["split"] == written.loc[clips["sample_id"]].values).all()
    loco = SplitConfig(strategy="leave-one-corpus-out", test_corpus="crema-d")
    clips, _ = _splits_for(folder, TrainOptions(shards=demo_shards, out=tmp_path, split=loco))
    assert set(clips.loc[clips["split"] == "test", "corpus"]) == {"crema-d"}


def test_the_baseline_writes_its_metrics(demo_shards, tmp_path):
    from train.run import TrainOptions, baseline_run

    results = baseline_run(TrainOptions(shards=demo_shards, out=tmp_path / "base"))
    assert results["test"]["macro_f1"] > results["test"]["trivial"]["macro_f1"]
    assert (tmp_path / "base" / "baseline_metrics_test.json").is_file()


def test_bad_input_gives_one_clear_line(short_run, demo_shards, tmp_path):
    result = run_train("--shards", str(tmp_path / "none"), "--out", str(tmp_path / "r"), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error:") and "aggregate render" in result.stderr

    leaky = pd.read_csv(short_run / "splits.csv")
    speaker = leaky["speaker"].iloc[0]
    leaky.loc[leaky.index[leaky["speaker"] == speaker][0], "split"] = "test"
    leaky.loc[leaky.index[leaky["speaker"] == speaker][-1], "split"] = "train"
    leaky.to_csv(tmp_path / "leaky.csv", index=False)
    result = run_train("--shards", str(demo_shards), "--out", str(tmp_path / "r"), "--splits",
                       str(tmp_path / "leaky.csv"), cwd=tmp_path)
    assert result.returncode == 2 and speaker in result.stderr and "Traceback" not in result.stderr

    empty = pd.read_csv(short_run / "splits.csv")
    empty.loc[empty["split"] == "val", "split"] = "train"
    empty.to_csv(tmp_path / "noval.csv", index=False)
    result = run_train("--shards", str(demo_shards), "--out", str(tmp_path / "r"), "--splits",
                       str(tmp_path / "noval.csv"), cwd=tmp_path)
    assert result.returncode == 2 and "'val' has no clips" in result.stderr


def test_a_run_refuses_shards_of_another_feature_config(short_run, demo_shards, tmp_path):
    from train.run import evaluate_run

    other = tmp_path / "other"
    shutil.copytree(demo_shards, other)
    index = json.loads((other / "index.json").read_text())
    index["feature_config_hash"] = "0" * 64
    (other / "index.json").write_text(json.dumps(index))
    with pytest.raises(InputError, match="another feature config"):
        evaluate_run(short_run, other)
