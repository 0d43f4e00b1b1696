"""``--model attention-fcn``: seed 003's attention-based fully convolutional network (after Zhang et al.).

Seed 003 (Section 2.2, Figures 2 and 3): 1-D convolutions over time on the mel
spectrogram with 5, 10, 20, 30 channels, kernels 11, 5, 3, 3, strides 4, 1, 1, 1, ReLU,
each followed by max-pooling (pool 3, stride 2); a tanh Dense layer; attention
e_i = u^T tanh(W a_i + b), alpha = softmax(lambda e) with lambda = 0.8, c = sum alpha_i a_i;
learning rate 0.001, batch 51, 200 epochs. Filled in here: the input is the stored
log-mel (200 bands as the channels of the 1-D convolution) standardised per band with
the training split's statistics; "same" padding; the tanh Dense layer has 30 units (the
last conv's channels) and so has W; the output is a softmax over the emotions; Adam
with the shared cosine schedule; fewer epochs by default (see ``train.models.MODELS``).
"""
from __future__ import annotations

from aggregate.emotions import EMOTIONS

from .base import Recipe

LAMBDA = 0.8  # seed 003's choice (Zhang et al. suggest 0.3)


def build(input_shape, seed: int, train_inputs, options=None):
    import keras
    from keras import layers

    from .layers import Attention, adapted_normalization, seeded_glorot

    glorot = seeded_glorot(seed)
    inputs = keras.Input(input_shape, name="log_mel")
    norm = adapted_normalization(train_inputs, axis=1, name="band_norm")
    x = layers.Permute((2, 1))(layers.Reshape(input_shape[:2])(norm(inputs)))  # (frames, bands)
    for i, (c, k, s) in enumerate(zip((5, 10, 20, 30), (11, 5, 3, 3), (4, 1, 1, 1)), 1):
        x = layers.Conv1D(c, k, strides=s, activation="relu", padding="same", kernel_initializer=glorot(),
                          name=f"conv{i}")(x)
        x = layers.MaxPooling1D(3, strides=2, padding="same", name=f"pool{i}")(x)
    x = layers.Dense(30, activation="tanh", kernel_initializer=glorot(), name="annotations")(x)
    x = Attention(LAMBDA, seed=seed, name="attention")(x)
    outputs = layers.Dense(len(EMOTIONS), activation="softmax", kernel_initializer=glorot(), name="emotions")(x)
    return keras.Model(inputs, outputs, name="seed003_attention_fcn")


MODEL = Recipe("attention-fcn", build, "seed 003 (Section 2.2, lambda 0.8)", epochs=100, batch_size=51,
               learning_rate=1e-3)
