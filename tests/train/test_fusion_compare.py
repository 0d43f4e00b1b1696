"""fusion-compare: the default's CNN beside a logistic regression on the shards' compare view (openSMILE
ComParE functionals). A model of two inputs: trained, evaluated, and asked to predict a file."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from aggregate.errors import InputError
from tests.helpers import run_module

pytest.importorskip("opensmile", reason="the opensmile extra is not installed")


@pytest.fixture(scope="module")
def compare_shards(demo_shards, tmp_path_factory):
    """The demo shards with the compare view added (rendered alone, beside the log-mel)."""
    from aggregate.render.run import render_shards

    folder = tmp_path_factory.mktemp("compare")
    shutil.copytree(demo_shards, folder / "shards")
    render_shards(demo_shards.parent / "demo.parquet", folder / "shards", jobs=2, progress=False, views="compare")
    return folder / "shards"


@pytest.mark.slow
def test_trains_on_two_views_evaluates_and_predicts_a_file(compare_shards, demo_shards, demo, tmp_path):
    import keras

    from aggregate.dataset import ShardDataset
    from train.commands.evaluate import evaluate_run
    from train.commands.predict import predict_files
    from train.commands.train import train_run
    from train.inputs import TrainOptions

    options = dict(model="fusion-compare", epochs=2, model_options={"channels": (4, 4, 4, 4)}, verbose=0)
    with pytest.raises(InputError, match="reads the view compare"):  # log-mel-only shards: refused in one line
        train_run(TrainOptions(shards=demo_shards, out=tmp_path / "no", **options))
    assert not (tmp_path / "no").exists()

    run = tmp_path / "run"
    results = train_run(TrainOptions(shards=compare_shards, out=run, **options))
    model = keras.saving.load_model(run / "model.keras", safe_mode=True)
    assert sorted(t.name for t in model.inputs) == ["compare", "log_mel"]
    assert 0 <= results["test"]["single_label"]["unweighted_accuracy"] <= 1

    # the logistic branch is the one scikit-learn fitted on the stored compare values of the training clips
    test = ShardDataset(compare_shards, "test", views=("log_mel", "compare"))
    item = test[0]
    both = model.predict({"log_mel": item["log_mel"][None, ..., None], "compare": item["compare"][None]}, verbose=0)
    assert np.isclose(both.sum(), 1, atol=1e-5)

    again = evaluate_run(run)  # recomputed from the run's files: the same figures
    assert again["test"]["single_label"] == results["test"]["single_label"]

    clip = next((demo.roots["ravdess"] / "Actor_01").glob("03-01-05-*.wav"))
    (scores,) = predict_files(run, [clip], corpus="ravdess")
    assert np.isclose(sum(scores["probabilities"].values()), 1, atol=1e-4)
    # the command, where TensorFlow loads first: the views are computed in a process of their own
    result = run_module("train", "predict", str(run), str(clip), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)[0]["probabilities"] == pytest.approx(scores["probabilities"], abs=1e-5)

    with pytest.raises(InputError, match="lack the view compare"):  # evaluated on shards without the view
        evaluate_run(run, demo_shards, tmp_path / "elsewhere")
