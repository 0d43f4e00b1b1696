"""The models ``python -m train --model NAME`` trains: one module per family, one line each in ``MODELS``.

Every model takes the stored log-mel, (batch, mel bands, frames, 1), and gives one
probability per emotion; views it needs (MFCC, functionals, per-band standardisation
with the training split's statistics) are layers inside it, so ``evaluate`` and
``predict`` need nothing but the saved model. Adding a model: a module with a
``build(input_shape, seed, train_inputs, **options)`` and a line here.

``Recipe`` says how ``train.fit`` trains it:

* ``output``: "softmax" (one emotion per clip: cross-entropy on the clip's emotions,
  normalised to sum to 1) or "sigmoid" (seed 001: binary cross-entropy per emotion);
* ``schedule``: "cosine" (AdamW, 10 % linear warm-up then cosine decay to 0 over
  ``epochs``; the last epoch is kept, the schedule is what ends training) or "constant"
  (seed 001's Adam at a fixed rate; early stopping on validation PR-AUC, best epoch kept);
* ``epochs`` and ``reference_clips``: the training length, as a budget of optimizer steps
  (``train.fit.planned_epochs``): ``epochs`` at up to ``reference_clips`` training clips,
  beyond that steps growing as the square root of the clips (fewer passes over more data);
  ``reference_clips`` None: always ``epochs``;
* ``mixup``: the Beta(alpha, alpha) of mixup, 0 for none;
* ``finish``: a step after training (the default model fits its second view there).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Callable

from ..names import DEFAULT_MODEL, MODEL_NAMES
from . import attention_fcn, bilstm, fusion, paper_cnn, seed002


@dataclass(frozen=True)
class Recipe:
    build: Callable
    source: str
    output: str = "softmax"
    schedule: str = "cosine"
    epochs: int = 60
    reference_clips: int | None = None  # the training size ``epochs`` was chosen at (see train.fit.planned_epochs)
    batch_size: int = 32
    learning_rate: float = 2e-3
    mixup: float = 0.0
    finish: Callable | None = None
    options: tuple[str, ...] = field(default=())  # model options the CLI may pass (paper-cnn's)


_PAPER = dict(source="seed 001 (Tables I and II)", output="sigmoid", schedule="constant", epochs=20,
              learning_rate=1e-3, options=paper_cnn.OPTIONS)

MODELS: dict[str, Recipe] = {
    "fusion": Recipe(fusion.build, "no seed: chosen on real RAVDESS, docs/training.md", mixup=0.4,
                     finish=fusion.finish, reference_clips=416),  # 60 epochs were chosen on 8 actors' 416 clips
    "paper-cnn": Recipe(paper_cnn.build, **_PAPER),
    "paper-cnn-flatten": Recipe(partial(paper_cnn.build, pooling="flatten"), **_PAPER),
    "conv1d": Recipe(seed002.conv1d, "seed 002 (Section 5.1)", learning_rate=1e-3),
    "lstm": Recipe(seed002.lstm, "seed 002 (Section 5.2)", epochs=40, learning_rate=1e-3),
    "cnn-lstm": Recipe(seed002.cnn_lstm, "seed 002 (Section 5.3)", epochs=40, learning_rate=1e-3),
    "attention-fcn": Recipe(attention_fcn.build, "seed 003 (Section 2.2, lambda 0.8)", epochs=100, batch_size=51,
                            learning_rate=1e-3),
    "bilstm": Recipe(bilstm.build, "seed 004", epochs=40, learning_rate=1e-3),
}
if tuple(MODELS) != MODEL_NAMES or DEFAULT_MODEL not in MODELS:  # train/names.py lists them for the CLI
    raise ImportError("train/names.py and train.models.MODELS name different models; keep them in step")
