"""python -m train on the demo shards: short runs, their folders, determinism, evaluate, predict, baseline,
the benchmark, bad input."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import run_module

from aggregate.errors import InputError
from aggregate.vocabulary import EMOTIONS

pytestmark = pytest.mark.slow  # TensorFlow, in processes of python -m train

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def short_run(demo_shards, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("runs") / "run"
    result = run_module("train", "--shards", str(demo_shards), "--out", str(run), "--model", "paper-cnn",
                       "--model-option", "small=true", "--epochs", "15", "--cache", cwd=run.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    (run.parent / "stdout.txt").write_text(result.stdout)  # beside the run folder: what it printed
    return run


def test_a_short_run_writes_its_folder_and_beats_the_trivial_predictor(short_run, demo_shards):
    for name in ["config.json", "splits.csv", "class_weights.json", "model.keras", "history.csv",
                 "thresholds.json", "metrics_val.json", "metrics_test.json", "report.txt", "predictions.csv",
                 "curves.png", "confusion_test.png", "confusion_matrix_test.png", "per_corpus_test.png"]:
        assert (short_run / name).is_file(), name
    test = json.loads((short_run / "metrics_test.json").read_text())
    assert test["macro_f1"] > test["trivial"]["macro_f1"] + 0.15  # trivial: 0
    assert test["mAP"] > test["trivial"]["mAP"] + 0.1
    assert set(test["per_corpus"]) <= {"iemocap", "crema-d", "tess", "ravdess"}
    config = json.loads((short_run / "config.json").read_text())
    assert config["feature_config_hash"] and config["model"]["options"]["small"] is True
    history = pd.read_csv(short_run / "history.csv")
    assert len(history) == config["trained"]["epochs_run"] and "val_pr_auc" in history  # Keras's PR-AUC
    assert 1 <= config["trained"]["best_epoch"] <= config["trained"]["epochs_run"] <= 15
    header = (short_run / "report.txt").read_text().splitlines()[:5]
    assert header[0].startswith("model:    paper-cnn [seed 001") and str(demo_shards.resolve()) in header[1]
    assert header[2].startswith("split:    the manifest's split column")
    assert header[3].startswith(f"epochs:   best {config['trained']['best_epoch']} of {len(history)} run")
    assert header[4].startswith("duration: ")
    # the test split's single-label confusion matrix, as metrics_test.json has it
    table = (short_run / "report.txt").read_text().split("\ntest\n")[1].split("single-label confusion")[1]
    rows = [line.split() for line in table.splitlines()[2:9]]
    assert [row[0] for row in rows] == list(EMOTIONS)
    assert [[int(v) for v in row[1:8]] for row in rows] == test["single_label"]["confusion"]
    assert sum(map(sum, test["single_label"]["confusion"])) == test["single_label"]["n"] > 0


def test_a_run_on_a_split_with_too_few_speakers_says_so_and_names_the_tools(short_run):
    printed = (short_run.parent / "stdout.txt").read_text()
    warnings = [line for line in printed.splitlines() if line.startswith("warning: ")]
    assert any(line.startswith("warning: tess: val and test hold none of its speakers") for line in warnings)
    assert any(line.startswith("warning: ravdess: val holds 1 speaker and test holds 1 speaker") for line in warnings)
    assert all("--split-strategy kfold" in line and "python -m train benchmark" in line for line in warnings)


def test_splits_are_written_speaker_disjoint_and_class_weights_come_from_train(short_run, demo_shards):
    from aggregate.shards.reading import ShardsFolder
    from train.data import load_split
    from train.losses import class_weights

    splits = pd.read_csv(short_run / "splits.csv")
    assert splits.groupby("speaker")["split"].nunique().max() == 1
    assert set(splits["split"]) == {"train", "val", "test"}
    assert set(splits["sample_id"]) == set(ShardsFolder.open(demo_shards).places)
    train_ids = splits.loc[splits["split"] == "train", "sample_id"]
    expected = class_weights(load_split(ShardsFolder.open(demo_shards), train_ids).labels)
    written = json.loads((short_run / "class_weights.json").read_text())
    assert np.allclose([written[e] for e in EMOTIONS], expected)


def test_predictions_csv_has_a_row_per_clip_and_a_probability_per_emotion(short_run):
    predictions = pd.read_csv(short_run / "predictions.csv")
    splits = pd.read_csv(short_run / "splits.csv").set_index("sample_id")
    assert list(predictions.columns) == ["sample_id", "corpus", "speaker", "split", "truth", *EMOTIONS]
    assert set(predictions["split"]) == {"val", "test"}
    assert (predictions["speaker"].to_numpy() == splits.loc[predictions["sample_id"], "speaker"].to_numpy()).all()
    assert (predictions["split"].to_numpy() == splits.loc[predictions["sample_id"], "split"].to_numpy()).all()
    metrics = json.loads((short_run / "metrics_test.json").read_text())
    test = predictions[predictions["split"] == "test"]
    probabilities = test[list(EMOTIONS)].to_numpy()
    assert len(test) == metrics["n"] and ((probabilities >= 0) & (probabilities <= 1)).all()
    truth = test["truth"].str.split("|")
    assert all(truth.map(len) >= 1)  # every demo clip has at least one emotion


@pytest.fixture(scope="module")
def default_runs(demo_shards, tmp_path_factory):
    """The default model, twice with the same seed (kfold, so validation comes from the training folds);
    the second reads the shards in two reader processes."""
    runs = []
    for name, readers in (("a", "1"), ("b", "2")):
        run = tmp_path_factory.mktemp("default") / name
        result = run_module("train", "--shards", str(demo_shards), "--out", str(run), "--epochs", "3", "--split-strategy",
                           "kfold", "--folds", "4", "--fold", "1", "--readers", readers, cwd=run.parent)
        assert result.returncode == 0, result.stderr[-3000:]
        runs.append(run)
    return runs


def test_two_runs_with_the_same_seed_give_the_same_figures_whatever_the_readers(default_runs):
    a, b = default_runs
    assert json.loads((a / "metrics_test.json").read_text()) == json.loads((b / "metrics_test.json").read_text())
    assert (a / "predictions.csv").read_text() == (b / "predictions.csv").read_text()
    # every column but each epoch's seconds
    histories = [pd.read_csv(run / "history.csv").drop(columns="seconds") for run in (a, b)]
    assert histories[0].equals(histories[1])


def test_the_default_run_is_the_fusion_model_and_kfold_trains_on_most_speakers(default_runs):
    config = json.loads((default_runs[0] / "config.json").read_text())
    assert config["model"]["name"] == "fusion" and config["model"]["output"] == "softmax"
    assert config["trained"] == {**config["trained"], "best_epoch": 3, "epochs_run": 3}
    clips = config["clips"]
    assert clips["train"] > 2 * clips["val"] and clips["train"] > clips["test"]  # not a whole fold for val
    splits = pd.read_csv(default_runs[0] / "splits.csv")
    assert splits.groupby("speaker")["split"].nunique().max() == 1
    predictions = pd.read_csv(default_runs[0] / "predictions.csv")
    assert np.allclose(predictions[list(EMOTIONS)].sum(axis=1), 1.0, atol=1e-4)  # softmax


def test_a_random_split_run_warns_and_leaks(demo_shards, tmp_path):
    run = tmp_path / "leaky"
    result = run_module("train", "--shards", str(demo_shards), "--out", str(run), "--model", "conv1d", "--epochs", "1",
                       "--split-strategy", "random", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "LEAKS SPEAKERS" in (run / "report.txt").read_text() and "random" in result.stderr
    splits = pd.read_csv(run / "splits.csv")
    assert splits.groupby("speaker")["split"].nunique().max() > 1
    again = run_module("train", "evaluate", str(run), cwd=tmp_path)  # its own leaky splits file reads back
    assert again.returncode == 0, again.stderr[-2000:]
    reuse = run_module("train", "--shards", str(demo_shards), "--out", str(tmp_path / "r"), "--splits", str(run / "splits.csv"),
                      cwd=tmp_path)  # but never as a split for another run
    assert reuse.returncode == 2 and "several splits" in reuse.stderr


def test_the_benchmark_prints_every_model_beside_baseline_and_trivial(demo_shards, tmp_path):
    result = run_module("train", "benchmark", "--shards", str(demo_shards), "--out", str(tmp_path / "bench"), "--folds", "3",
                       "--models", "conv1d", "--seed-epochs", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    table = (tmp_path / "bench" / "leaderboard.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in table.splitlines()[2:]}
    assert list(rows) == ["trivial", "baseline", "conv1d"]
    trivial = [cell.strip() for cell in rows["trivial"].split("|")[2:-1]]
    assert trivial[0] == "0.143 ± 0.000" and trivial[2] == "0.000 ± 0.000"  # UA 1/7, macro F1 0
    assert all("±" in cell for cell in rows["conv1d"].split("|")[2:6]) and rows["conv1d"].split("|")[-2].strip() != "-"
    assert table in result.stdout
    for fold in range(3):
        assert (tmp_path / "bench" / "conv1d" / f"fold{fold}" / "metrics_test.json").is_file()
    again = run_module("train", "benchmark", "--shards", str(demo_shards), "--out", str(tmp_path / "bench"), "--folds", "3",
                      "--models", "conv1d", "--seed-epochs", "1", cwd=tmp_path)  # reuses every run
    assert again.returncode == 0 and (tmp_path / "bench" / "leaderboard.md").read_text() == table


def test_evaluate_recomputes_the_same_metrics(short_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(short_run, copy)
    before = json.loads((copy / "metrics_test.json").read_text())
    (copy / "metrics_test.json").unlink()
    result = run_module("train", "evaluate", str(copy), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads((copy / "metrics_test.json").read_text()) == before


def test_predict_prints_a_probability_per_emotion(short_run, demo, tmp_path):
    clip = next((demo.roots["ravdess"] / "Actor_01").glob("03-01-05-*.wav"))
    result = run_module("train", "predict", str(short_run), str(clip), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    [answer] = json.loads(result.stdout)
    assert list(answer["probabilities"]) == list(EMOTIONS)
    assert all(0 <= p <= 1 for p in answer["probabilities"].values())
    probabilities = answer["probabilities"]
    assert answer["most_likely"] == max(probabilities, key=probabilities.get)
    text = run_module("train", "predict", str(short_run), str(clip), cwd=tmp_path)
    assert text.returncode == 0 and text.stdout.startswith(str(clip))
    assert f"-> most likely {answer['most_likely']}; present: " in text.stdout


def test_reusing_a_splits_file_and_other_strategies(short_run, demo_shards, tmp_path):
    from aggregate.manifest.split_config import SplitConfig
    from aggregate.shards.reading import ShardsFolder
    from train.inputs import TrainOptions, splits_for

    folder = ShardsFolder.open(demo_shards)
    clips, source = splits_for(folder, TrainOptions(shards=demo_shards, out=tmp_path,
                                                          splits=short_run / "splits.csv"))
    written = pd.read_csv(short_run / "splits.csv").set_index("sample_id")["split"]
    assert (clips.set_index("sample_id")["split"] == written.loc[clips["sample_id"]].values).all()
    loco = SplitConfig(strategy="leave-one-corpus-out", test_corpus="crema-d")
    clips, _ = splits_for(folder, TrainOptions(shards=demo_shards, out=tmp_path, split=loco))
    assert set(clips.loc[clips["split"] == "test", "corpus"]) == {"crema-d"}


def test_the_baseline_writes_its_metrics(demo_shards, tmp_path):
    from train.commands.baseline import baseline_run
    from train.inputs import TrainOptions

    results = baseline_run(TrainOptions(shards=demo_shards, out=tmp_path / "base"))
    assert results["test"]["macro_f1"] > results["test"]["trivial"]["macro_f1"]
    assert (tmp_path / "base" / "baseline_metrics_test.json").is_file()


def test_bad_input_gives_one_clear_line(short_run, demo_shards, tmp_path):
    # checked before TensorFlow loads: one line on stderr, nothing of TensorFlow's start-up
    for args, words in [(["--shards", str(tmp_path / "none")], "aggregate render"),
                        (["--shards", str(demo_shards), "--epochs", "0"], "--epochs must be at least 1"),
                        (["--shards", str(demo_shards), "--batch-size", "-2"], "--batch-size must be at least 1"),
                        (["baseline", "--shards", str(tmp_path)], "no index.json")]:
        train_args = args if args[0] == "baseline" else ["train", *args]
        result = run_module("train", *train_args, "--out", str(tmp_path / "r"), cwd=tmp_path)
        assert result.returncode == 2 and words in result.stderr, result.stderr
        assert result.stderr.startswith("error:") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    for options, words in [(["dropout=0.1", "dropout=0.2"], "given twice"), (["small=true"], "no option 'small'"),
                           (["dropout"], "write KEY=VALUE"), (["dropout=lots"], "dropout takes a number, got lots"),
                           (["dropout=1.5"], "dropout must be at least 0 and below 1"),
                           (["channels=8,x"], "whole numbers separated by commas")]:
        pairs = [arg for option in options for arg in ("--model-option", option)]
        result = run_module("train", "--shards", str(demo_shards), "--out", str(tmp_path / "r"), *pairs, cwd=tmp_path)
        assert result.returncode == 2 and words in result.stderr, result.stderr
        assert result.stderr.startswith("error:") and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "r").exists()

    leaky = pd.read_csv(short_run / "splits.csv")
    speaker = leaky["speaker"].iloc[0]
    leaky.loc[leaky.index[leaky["speaker"] == speaker][0], "split"] = "test"
    leaky.loc[leaky.index[leaky["speaker"] == speaker][-1], "split"] = "train"
    leaky.to_csv(tmp_path / "leaky.csv", index=False)
    result = run_module("train", "--shards", str(demo_shards), "--out", str(tmp_path / "r"), "--splits",
                       str(tmp_path / "leaky.csv"), cwd=tmp_path)
    assert result.returncode == 2 and speaker in result.stderr and "Traceback" not in result.stderr

    empty = pd.read_csv(short_run / "splits.csv")
    empty.loc[empty["split"] == "val", "split"] = "train"
    empty.to_csv(tmp_path / "noval.csv", index=False)
    result = run_module("train", "--shards", str(demo_shards), "--out", str(tmp_path / "r"), "--splits",
                       str(tmp_path / "noval.csv"), cwd=tmp_path)
    assert result.returncode == 2 and "'val' has no clips" in result.stderr


def test_a_run_refuses_shards_of_another_feature_config(short_run, demo_shards, tmp_path):
    from train.commands.evaluate import evaluate_run

    other = tmp_path / "other"
    shutil.copytree(demo_shards, other)
    index = json.loads((other / "index.json").read_text())
    index["feature_config_hash"] = index["views"]["log_mel"]["config_hash"] = "0" * 64  # consistent, not damaged
    (other / "index.json").write_text(json.dumps(index))
    with pytest.raises(InputError, match="another feature config"):
        evaluate_run(short_run, other)


def test_the_per_corpus_plot_draws_each_corpus_its_own_trivial_lines(tmp_path, monkeypatch):
    import matplotlib.axes

    from train.metrics import evaluate
    from train.report import plot_per_corpus

    y = np.zeros((6, 7), int)
    y[:3, 0] = 1  # corpus a: neutral in all three clips
    y[3:, 1] = 1
    y[5, 2] = 1  # corpus b: anger in all, disgust in one
    metrics = evaluate(y, np.full((6, 7), 0.3), 0.5, ["a"] * 3 + ["b"] * 3)
    drawn = []
    original = matplotlib.axes.Axes.hlines

    def hlines(self, value, *args, **kwargs):
        drawn.append(value)
        return original(self, value, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "hlines", hlines)
    assert plot_per_corpus(metrics, tmp_path / "plot.png", "t").is_file()
    expected = [metrics["per_corpus"][c]["trivial"][k] for c in ("a", "b") for k in ("mAP", "paper_accuracy")]
    assert drawn == pytest.approx(expected) and expected[0] != expected[2]  # the corpora's own, and they differ
