"""How every model of ``train.models`` is trained: loss, optimiser and schedule, mixup, seeds, callbacks.

Reproducible on CPU: ``keras.utils.set_random_seed`` seeds Python, NumPy and the
backend; TensorFlow's op determinism makes the kernels repeatable; the input
pipeline's shuffles and mixup draws are seeded (per epoch, from the run's seed).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from aggregate.vocabulary import EMOTIONS

from .data import SplitData, make_dataset
from .losses import SoftmaxCE, WeightedBCE, class_weights, emotion_weights
from .models import Recipe

MONITOR = "pr_auc"  # Keras's PR-AUC per emotion, averaged: for checkpoints; the report's mAP is scikit-learn's AP


def seed_everything(seed: int) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def loss_weights(recipe: Recipe, labels: np.ndarray, use: bool) -> np.ndarray:
    """Per emotion, from the training split: positive weights (sigmoid) or emotion weights (softmax);
    ones if not ``use``."""
    if not use:
        return np.ones(len(EMOTIONS))
    return class_weights(labels) if recipe.output == "sigmoid" else emotion_weights(labels)


def compile_for(model, recipe: Recipe, weights: np.ndarray, steps: int, learning_rate: float):
    """Loss by output, optimiser by schedule (see ``train.models``), PR-AUC and binary accuracy as metrics."""
    import keras

    if recipe.schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(0.0, steps, warmup_target=learning_rate,
                                                      warmup_steps=max(1, steps // 10))
        optimizer = keras.optimizers.AdamW(rate, weight_decay=1e-3)
    else:  # seed 001's Table I
        optimizer = keras.optimizers.Adam(learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
    loss = WeightedBCE(weights) if recipe.output == "sigmoid" else SoftmaxCE(weights)
    model.compile(optimizer=optimizer, loss=loss,
                  metrics=[keras.metrics.AUC(multi_label=True, curve="PR", name=MONITOR),
                           keras.metrics.BinaryAccuracy(name="binary_accuracy")])
    return model


def with_mixup(dataset, alpha: float, seed: int):
    """Mix each batch with a seeded permutation of itself, Beta(alpha, alpha) per clip, inputs and labels alike."""
    import tensorflow as tf

    def mix(seeds, batch):
        x, y = batch
        x = tf.cast(x, tf.float32)  # the pipeline's features are as stored (float16): mix in float32
        n = tf.shape(x)[0]
        a, b, c = tf.unstack(tf.random.experimental.stateless_split(seeds, 3))
        g1 = tf.random.stateless_gamma([n], a, alpha=alpha)
        g2 = tf.random.stateless_gamma([n], b, alpha=alpha)
        lam = g1 / (g1 + g2)
        other = tf.argsort(tf.random.stateless_uniform([n], c))
        return (lam[:, None, None, None] * x + (1 - lam[:, None, None, None]) * tf.gather(x, other),
                lam[:, None] * y + (1 - lam[:, None]) * tf.gather(y, other))

    # a new seed stream per epoch (rerandomize), the same streams every run
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    return tf.data.Dataset.zip(seeds, dataset).map(mix, num_parallel_calls=tf.data.AUTOTUNE)


def train_model(recipe: Recipe, data: dict[str, SplitData], out: Path, *, epochs: int, batch_size: int,
                learning_rate: float, weights: np.ndarray, patience: int, seed: int, cache: bool,
                readers: int, model_options: dict, verbose: int):
    """Build, train and (``recipe.finish``) complete a model; returns (model, history dict, best epoch)."""
    import keras
    import tensorflow as tf

    seed_everything(seed)
    train_inputs = make_dataset(data["train"], 64, shuffle=False, readers=readers).map(
        lambda x, y: tf.cast(x, tf.float32))  # statistics and the functionals are computed in float32
    model = recipe.build(tuple(data["train"].shape) + (1,), seed, train_inputs, **model_options)
    steps = epochs * int(np.ceil(len(data["train"]) / batch_size))
    compile_for(model, recipe, weights, steps, learning_rate)
    train_ds = make_dataset(data["train"], batch_size, shuffle=True, seed=seed, cache=cache, readers=readers)
    if recipe.mixup:
        train_ds = with_mixup(train_ds, recipe.mixup, seed).prefetch(tf.data.AUTOTUNE)
    val_ds = make_dataset(data["val"], 64, shuffle=False, cache=cache, readers=readers)
    callbacks = [keras.callbacks.CSVLogger(out / "history.csv")]
    if recipe.schedule == "constant":
        # monitor PR-AUC, not loss: on small data the all-absent predictor wins the loss early on
        callbacks.append(keras.callbacks.EarlyStopping(monitor=f"val_{MONITOR}", mode="max", patience=patience,
                                                       restore_best_weights=True))
    history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=callbacks, verbose=verbose).history
    run = len(history["loss"])
    best = int(np.argmax(history[f"val_{MONITOR}"])) + 1 if recipe.schedule == "constant" else run
    if recipe.finish is not None:
        model = recipe.finish(model, train_inputs, data["train"].labels, seed)
    return model, history, best
