"""The model registry without Keras: every model's recipe and options, --model-option parsed and checked."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aggregate.errors import InputError
from train.models import DEFAULT_MODEL, MODELS, parse_pairs

PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # a process
def test_the_command_line_lists_models_and_checks_options_without_tensorflow():
    script = """
import sys
import train.cli
from train.models import MODELS
help_text = train.cli._parser()._subparsers._group_actions[0].choices["train"].format_help()
assert all(name in help_text for name in MODELS) and "small=false" in help_text, help_text
MODELS["paper-cnn"].make_options({"small": "true", "pooling": "flatten"})
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
print(len(MODELS), heavy)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(PROJECT)))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == [str(len(MODELS)), "[]"]


@pytest.mark.parametrize("name", list(MODELS))
def test_each_model_declares_a_recipe_and_frozen_options(name):
    recipe = MODELS[name]
    assert recipe.name == name and recipe.source and recipe.output in ("softmax", "sigmoid")
    assert recipe.schedule in ("cosine", "constant") and callable(recipe.builder)
    assert dataclasses.is_dataclass(recipe.options) and recipe.options.__dataclass_params__.frozen
    defaults = recipe.make_options()
    # what config.json records reads back as the same options
    assert recipe.make_options(json.loads(json.dumps(recipe.resolved_options()))) == defaults
    assert DEFAULT_MODEL in MODELS


def test_options_are_parsed_by_their_declared_types():
    paper = MODELS["paper-cnn"]
    options = paper.make_options(parse_pairs(["small=yes", "dropout=0.25", "channels=8, 16", "pooling=global",
                                              "time-masks=3"]))
    assert (options.small, options.dropout, options.channels, options.pooling, options.time_masks) == \
        (True, 0.25, (8, 16), "global", 3)
    assert paper.make_options({"dropout": "none", "small": "false"}).dropout is None
    assert paper.make_options({"small": True, "dropout": 0}).dropout == 0.0  # values from Python pass as they are
    assert MODELS["paper-cnn-flatten"].make_options().pooling == "flatten"
    assert MODELS["fusion"].resolved_options({"channels": "8,8"}) == {"channels": [8, 8], "dropout": 0.3,
                                                                      "clip_norm": "none", "pooling": "all"}
    assert MODELS["fusion"].make_options({"clip_norm": "mean"}).clip_norm == "mean"
    assert MODELS["fusion"].make_options({"pooling": "span"}).pooling == "span"


@pytest.mark.parametrize("model, values, words", [
    ("paper-cnn", {"smal": "true"}, "model paper-cnn has no option 'smal' (its options: batch_norm_momentum"),
    ("conv1d", {"small": "true"}, "model conv1d has no option 'small' (it takes none)"),
    ("paper-cnn", {"small": "maybe"}, "paper-cnn's small takes true or false, got maybe"),
    ("paper-cnn", {"time_masks": "1.5"}, "time_masks takes a whole number, got 1.5"),
    ("paper-cnn", {"small": 1}, "small takes true or false, got 1"),
    ("paper-cnn", {"dropout": "nan"}, "dropout takes a number or none, got nan"),
    ("paper-cnn", {"pooling": "avg"}, "pooling must be one of time, global, flatten, got avg"),
    ("paper-cnn", {"batch_norm_momentum": "1"}, "batch_norm_momentum must be at least 0 and below 1"),
    ("fusion", {"channels": ""}, "channels takes whole numbers separated by commas, got "),
    ("fusion", {"clip_norm": "cmn"}, "clip_norm must be one of none, mean, mean_std, got cmn"),
    ("fusion", {"channels": "16,0"}, "channels must be whole numbers of at least 1"),
])
def test_a_bad_option_is_one_line_naming_it(model, values, words):
    with pytest.raises(InputError) as caught:
        MODELS[model].make_options(values)
    assert words in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("pairs, words", [(["dropout"], "write KEY=VALUE"), (["=3"], "write KEY=VALUE"),
                                          (["a=1", "a=2"], "--model-option a is given twice")])
def test_pairs_without_a_key_or_given_twice_are_refused(pairs, words):
    with pytest.raises(InputError, match=words):
        parse_pairs(pairs)
