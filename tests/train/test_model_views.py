"""A model declares the views it reads; training refuses shards that lack one, in one line."""
from __future__ import annotations

from dataclasses import replace

import pytest

from aggregate.errors import InputError


def test_every_model_reads_log_mel_and_shards_without_a_models_view_are_refused(reference, tmp_path, monkeypatch):
    from train import inputs
    from train.models import MODELS, model_recipe

    assert all(model_recipe(name).views[0] == "log_mel" for name in MODELS)  # some read more views beside it
    options = inputs.TrainOptions(shards=reference, out=tmp_path / "run")
    inputs.open_inputs(options)  # log_mel: every folder has it
    monkeypatch.setattr(inputs, "model_recipe", lambda name: replace(model_recipe(name), views=("log_mel", "waveform")))
    with pytest.raises(InputError) as caught:
        inputs.open_inputs(options)
    line = str(caught.value)
    assert "\n" not in line and f"--model {options.model} reads the view waveform" in line
    assert "--views waveform" in line  # and says how to add it


def test_the_benchmark_of_every_model_leaves_out_one_reading_a_view_the_shards_lack(reference, tmp_path, monkeypatch,
                                                                                     capsys):
    """Without --models the benchmark runs every model the shards can feed, and names the others."""
    from train.commands import benchmark
    from train.models import MODELS

    ran = []
    figures = {"single_label": {"unweighted_accuracy": 0.5, "weighted_accuracy": 0.5}, "macro_f1": 0.5, "mAP": 0.5}
    monkeypatch.setattr(benchmark, "_run", lambda name, options: ran.append(options.model) or {"test": figures})
    benchmark.run_benchmark(reference, tmp_path / "bench", folds=3)
    out = capsys.readouterr().out
    lacking = [name for name, recipe in MODELS.items() if "compare" in recipe.views]
    assert lacking and all(f"{name}: left out, the shards lack the view compare" in out for name in lacking)
    assert set(ran) == set(MODELS) - set(lacking)  # trivial and baseline run under the default's name
