"""The models ``python -m train --model NAME`` trains: one module per family, one registry line each.

Every model takes the stored log-mel, (batch, mel bands, frames, 1), and gives one
probability per emotion; views it needs (MFCC, functionals, per-band standardisation
with the training split's statistics) are layers inside it, so ``evaluate`` and
``predict`` need nothing but the saved model.

A model module declares a ``Recipe`` (``base.py``: how to build and train it) and, if it
takes any, its options as a frozen dataclass. Model modules import Keras inside their
builders only: the command line imports this registry to list the models and check
``--model-option`` before TensorFlow loads. Keras layers a model needs go in
``layers.py`` or ``features.py``, which loading a saved model imports.
docs/adding-a-model.md walks through adding one.
"""
from __future__ import annotations

from . import attention_fcn, bilstm, fusion, paper_cnn, seed002
from .base import NoOptions, Recipe, parse_pairs

MODELS: dict[str, Recipe] = {recipe.name: recipe for recipe in (
    fusion.MODEL, fusion.COMPARE, paper_cnn.MODEL, paper_cnn.FLATTEN, seed002.CONV1D, seed002.LSTM, seed002.CNN_LSTM,
    attention_fcn.MODEL, bilstm.MODEL)}
DEFAULT_MODEL = "fusion"

__all__ = ["DEFAULT_MODEL", "MODELS", "NoOptions", "Recipe", "model_recipe", "parse_pairs"]


def model_recipe(name: str) -> Recipe:
    """The registered model ``name``, or one line listing the names."""
    from aggregate.errors import InputError

    if name not in MODELS:
        raise InputError(f"unknown model {name!r}; use one of {', '.join(MODELS)}")
    return MODELS[name]
