"""``--model bilstm``: seed 004's bidirectional LSTM on MFCC.

Seed 004 trains a "hybrid bi-directional LSTM" on MFCCs (its Section "Model"), tuning
learning rate, dropout, momentum, LSTM hidden size and number of layers, and reports
none of the chosen values. Filled in here: 40 MFCCs (a DCT over the mel axis of the
stored log-mel, ``features.MFCC``) standardised per coefficient with the training
split's statistics; two bidirectional LSTM layers of 64 units each way (the first
returning sequences), dropout 0.3, softmax; Adam with the shared cosine schedule.
"""
from __future__ import annotations

from .base import Recipe
from .seed002 import _mfcc_input, _output


def build(input_shape, seed: int, train_inputs, options=None):
    import keras
    from keras import layers

    from .layers import seeded_glorot

    glorot = seeded_glorot(seed)
    inputs, x = _mfcc_input(input_shape, train_inputs)
    x = layers.Bidirectional(layers.LSTM(64, return_sequences=True, seed=seed, kernel_initializer=glorot()),
                             name="bilstm1")(x)
    x = layers.Bidirectional(layers.LSTM(64, seed=seed + 1, kernel_initializer=glorot()), name="bilstm2")(x)
    x = layers.Dropout(0.3, seed=seed, name="dropout")(x)
    return keras.Model(inputs, _output(x, glorot), name="seed004_bilstm")


MODEL = Recipe("bilstm", build, "seed 004", epochs=40, learning_rate=1e-3)
