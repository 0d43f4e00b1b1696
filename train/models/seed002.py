"""Seed 002's three networks on MFCC: ``--model conv1d``, ``--model lstm``, ``--model cnn-lstm``.

Seed 002 ("MFCC ... Conv1d ... LSTM ... combination of CNN and LSTM", Sections 3.1 and
5) feeds (frames, MFCC) sequences standardised with the dataset's mean and standard
deviation to Keras models with softmax outputs, Adam and ReduceLROnPlateau. Its code
listings are garbled in the text we have; what is legible and kept: Conv1D(32, 3, relu,
same) layers with max-pooling (pool 2, same), batch normalisation, L1/L2 (1e-3) on the
dense layer, dropout 0.3 before the output; two LSTM layers, the first returning
sequences, with dropout inside; the CNN-LSTM stacks two Conv1D(32, 3) and batch
normalisation before the LSTM. Filled in here (the seed is silent or illegible):

* MFCC: 40 coefficients, a DCT over the mel axis of the stored log-mel
  (``features.MFCC``), standardised per coefficient with the training split's statistics;
* conv1d: Conv1D 32 -> pool -> Conv1D 32 -> batch norm -> pool -> flatten -> dropout 0.3
  -> Dense 64 relu (L1/L2 1e-3) -> softmax;
* lstm: LSTM 128 (return sequences, dropout 0.2) -> LSTM 64 (dropout 0.2) -> Dense 64
  relu -> softmax;
* cnn-lstm: Conv1D 32 -> Conv1D 32 -> batch norm -> pool -> LSTM 64 -> dropout 0.3 -> softmax;
* training as for every model here: Adam with a cosine schedule in place of
  ReduceLROnPlateau (which needs the validation split the seed drew at clip level).
"""
from __future__ import annotations

from aggregate.emotions import EMOTIONS

from .base import Recipe

N_MFCC = 40


def _mfcc_input(input_shape, train_inputs):
    import keras

    from .features import MFCC
    from .layers import adapted_normalization

    inputs = keras.Input(input_shape, name="log_mel")
    mfcc = MFCC(N_MFCC, name="mfcc")
    x = adapted_normalization(train_inputs, mfcc, axis=-1, name="mfcc_norm")(mfcc(inputs))
    return inputs, x


def _output(x, glorot):
    from keras import layers

    return layers.Dense(len(EMOTIONS), activation="softmax", kernel_initializer=glorot(), name="emotions")(x)


def conv1d(input_shape, seed: int, train_inputs, options=None):
    import keras
    from keras import layers, regularizers

    from .layers import seeded_glorot

    glorot = seeded_glorot(seed)
    inputs, x = _mfcc_input(input_shape, train_inputs)
    x = layers.Conv1D(32, 3, activation="relu", padding="same", kernel_initializer=glorot(), name="conv1")(x)
    x = layers.MaxPooling1D(2, padding="same", name="pool1")(x)
    x = layers.Conv1D(32, 3, activation="relu", padding="same", kernel_initializer=glorot(), name="conv2")(x)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.MaxPooling1D(2, padding="same", name="pool2")(x)
    x = layers.Dropout(0.3, seed=seed, name="dropout")(layers.Flatten()(x))
    x = layers.Dense(64, activation="relu", kernel_regularizer=regularizers.L1L2(1e-3, 1e-3),
                     kernel_initializer=glorot(), name="dense")(x)
    return keras.Model(inputs, _output(x, glorot), name="seed002_conv1d")


def lstm(input_shape, seed: int, train_inputs, options=None):
    import keras
    from keras import layers

    from .layers import seeded_glorot

    glorot = seeded_glorot(seed)
    inputs, x = _mfcc_input(input_shape, train_inputs)
    x = layers.LSTM(128, return_sequences=True, dropout=0.2, seed=seed, kernel_initializer=glorot(), name="lstm1")(x)
    x = layers.LSTM(64, dropout=0.2, seed=seed + 1, kernel_initializer=glorot(), name="lstm2")(x)
    x = layers.Dense(64, activation="relu", kernel_initializer=glorot(), name="dense")(x)
    return keras.Model(inputs, _output(x, glorot), name="seed002_lstm")


def cnn_lstm(input_shape, seed: int, train_inputs, options=None):
    import keras
    from keras import layers

    from .layers import seeded_glorot

    glorot = seeded_glorot(seed)
    inputs, x = _mfcc_input(input_shape, train_inputs)
    x = layers.Conv1D(32, 3, activation="relu", padding="same", kernel_initializer=glorot(), name="conv1")(x)
    x = layers.Conv1D(32, 3, activation="relu", padding="same", kernel_initializer=glorot(), name="conv2")(x)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.MaxPooling1D(2, padding="same", name="pool")(x)
    x = layers.LSTM(64, seed=seed, kernel_initializer=glorot(), name="lstm")(x)
    x = layers.Dropout(0.3, seed=seed, name="dropout")(x)
    return keras.Model(inputs, _output(x, glorot), name="seed002_cnn_lstm")


CONV1D = Recipe("conv1d", conv1d, "seed 002 (Section 5.1)", learning_rate=1e-3)
LSTM = Recipe("lstm", lstm, "seed 002 (Section 5.2)", epochs=40, learning_rate=1e-3)
CNN_LSTM = Recipe("cnn-lstm", cnn_lstm, "seed 002 (Section 5.3)", epochs=40, learning_rate=1e-3)
