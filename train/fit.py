"""How every model of ``train.models`` is trained: loss, optimiser and schedule, mixup, seeds, callbacks.

Reproducible on CPU: ``keras.utils.set_random_seed`` seeds Python, NumPy and the
backend; TensorFlow's op determinism makes the kernels repeatable (on the CPU only:
see ``seed_everything``); the input
pipeline's shuffles and mixup draws are seeded (per epoch, from the run's seed).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from aggregate.vocabulary import EMOTIONS

from .balance import BALANCE_BY, balance_groups, effective_clips, equal_shares
from .data import SplitData, batches_per_epoch, make_dataset, view_arrays
from .losses import SoftmaxCE, WeightedBCE, class_weights, emotion_weights
from .models import Recipe
from .run_folder import RunFolder

MONITOR = "pr_auc"  # Keras's PR-AUC per emotion, averaged: for checkpoints; the report's mAP is scikit-learn's AP


def planned_epochs(recipe: Recipe, n_train: int, batch_size: int, clip_weights: np.ndarray | None = None) -> int:
    """The training length, as the recipe's budget of optimizer steps, in whole epochs of ``n_train`` clips.

    The budget follows the split's effective size c (``effective_clips``: ``n_train`` unless corpus
    balance weighs the clips): ``recipe.epochs`` epochs of c clips up to ``recipe.reference_clips``
    (where they were chosen: the dev folds' 416 clips for the default), beyond that steps that grow
    as the square root of c: 4 times the clips, twice the steps, half the epochs. A bigger split needs
    more steps, but fewer passes over it: its batches repeat less. On 2 cores an ~830-clip RAVDESS
    fold trains in about 6 minutes and a 14,872-clip four-corpus aggregate in 9 (docs/benchmarks.md),
    where 60 epochs would take 7 hours. The effective size matters when one speaker has most of the clips:
    balanced, its clips are few of the draws, and a budget for all of them overtrains the others
    (RAVDESS + TESS, docs/benchmarks.md).
    """
    if recipe.reference_clips is None:
        return recipe.epochs
    clips = effective_clips(n_train, clip_weights)
    reference = recipe.reference_clips
    if clips <= reference:
        steps = recipe.epochs * np.ceil(clips / batch_size)
    else:
        steps = recipe.epochs * np.ceil(reference / batch_size) * np.sqrt(clips / reference)
    return max(1, int(round(steps / np.ceil(n_train / batch_size))))


def seed_everything(seed: int, deterministic_ops: bool = True) -> None:
    """Seed Python, NumPy and the backend; on the CPU also TensorFlow's op determinism.

    On a GPU op determinism is left off: some ops have no deterministic GPU kernel there
    (TensorFlow raises rather than run them) and others run slower; a GPU run is seeded,
    not bit-reproducible (docs/training.md)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic_ops:
        tf.config.experimental.enable_op_determinism()


def loss_weights(recipe: Recipe, labels: np.ndarray, use: bool, clip_weights: np.ndarray | None = None) -> np.ndarray:
    """Per emotion, from the training split: positive weights (sigmoid) or emotion weights (softmax);
    ones if not ``use``. ``clip_weights`` (corpus balance): the emotions' shares as the loss weighs the clips."""
    if not use:
        return np.ones(len(EMOTIONS))
    if recipe.output == "sigmoid":
        return class_weights(labels)
    return emotion_weights(labels, clip_weights=clip_weights)


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


def with_mixup(dataset, alpha: float, seed: int, dtype=None, skip: int = 0):
    """Mix each batch with a seeded permutation of itself, Beta(alpha, alpha) per clip, inputs and labels alike.

    Mixed in float32; the features handed on as ``dtype`` (default float32). ``skip``: batches an
    earlier session of the run already drew for (a resumed run continues the same stream)."""
    import tensorflow as tf

    def mix(seeds, batch):
        x, y, *w = batch  # w: the clips' weights, when the pipeline has them (corpus balance)
        x = tf.cast(x, tf.float32)  # the pipeline's features are as stored (float16): mix in float32
        n = tf.shape(x)[0]
        a, b, c = tf.unstack(tf.random.experimental.stateless_split(seeds, 3))
        g1 = tf.random.stateless_gamma([n], a, alpha=alpha)
        g2 = tf.random.stateless_gamma([n], b, alpha=alpha)
        lam = g1 / (g1 + g2)
        other = tf.argsort(tf.random.stateless_uniform([n], c))
        mixed = lam[:, None, None, None] * x + (1 - lam[:, None, None, None]) * tf.gather(x, other)
        return (mixed if dtype is None else tf.cast(mixed, dtype),
                lam[:, None] * y + (1 - lam[:, None]) * tf.gather(y, other),
                *[lam * v + (1 - lam) * tf.gather(v, other) for v in w])

    # a new seed stream per pass (rerandomize), the same streams every run; a dataset of every epoch
    # (make_dataset(epochs=...)) is one pass: the stream runs on across epochs, and a resumed run skips
    # what the epochs before it drew
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).skip(2 * skip).batch(2)
    return tf.data.Dataset.zip(seeds, dataset).map(mix, num_parallel_calls=tf.data.AUTOTUNE)


def _epoch_seconds_callback():
    import keras

    class EpochSeconds(keras.callbacks.Callback):
        """Adds each epoch's wall-clock seconds (training and validation) to its logs, so history.csv has them."""

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            if logs is not None:
                logs["seconds"] = round(time.perf_counter() - self.start, 3)

    return EpochSeconds


def train_model(recipe: Recipe, data: dict[str, SplitData], out: Path, *, epochs: int, batch_size: int,
                learning_rate: float, weights: np.ndarray, patience: int, seed: int, cache: bool,
                readers: int, model_options: dict, verbose: int, corpus_balance: str = "none",
                balance_by: str = "sampling", resume=None, save_state=None, callbacks=()):
    """Build, train and (``recipe.finish``) complete a model; returns (model, history dict, best epoch).

    ``balance_by``: how ``corpus_balance`` applies to the network: "sampling" (each epoch drawn so that
    every group has an equal share of its batches) or "loss" (every clip read once an epoch, its loss
    weighed); a finishing step always weighs.
    ``resume``: a ``train.checkpoint.Checkpoint`` to continue from (its epochs are not run again);
    ``save_state(checkpoint)`` is called after every epoch with the state to resume from;
    ``callbacks``: more Keras callbacks (progress lines)."""
    import keras
    import tensorflow as tf

    from . import checkpoint as checkpoints

    from .device import default_readers, describe, gpus

    on_gpu = bool(gpus())
    readers = readers or default_readers(on_gpu)
    print(f"training on {describe()}; {readers} reader process(es)", flush=True)
    seed_everything(seed, deterministic_ops=not on_gpu)
    def inputs(dataset):  # statistics and the functionals are computed in float32
        return dataset.map(lambda x, y: tf.cast(x, tf.float32))

    train_inputs = inputs(make_dataset(data["train"], 64, shuffle=False, readers=readers))
    if balance_by not in BALANCE_BY:
        raise ValueError(f"balance_by must be one of {', '.join(BALANCE_BY)}, got {balance_by!r}")
    groups = balance_groups(data["train"].corpora, data["train"].speakers, corpus_balance)
    sampled = groups is not None and balance_by == "sampling"
    # the network's own statistics (band standardisation) from what it will see: a balanced epoch's draws
    seen = train_inputs if not sampled else inputs(
        make_dataset(data["train"], 64, shuffle=False, readers=readers, groups=groups, epochs=range(1)))
    model = recipe.build(tuple(data["train"].shape) + (1,), seed, seen, **model_options)
    per_epoch = batches_per_epoch(data["train"], batch_size)
    compile_for(model, recipe, weights, epochs * per_epoch, learning_rate)
    first = 0
    if resume is not None:  # the interrupted session's model, optimizer and random layers, as they were
        checkpoints.restore(model, resume)
        first = epochs if resume.done else resume.epoch
    balance = None if groups is None else equal_shares(groups)
    if sampled and cache:
        print("--cache: the training split is drawn anew each epoch (corpus balance by sampling), so only "
              "validation is cached", flush=True)
    # every remaining epoch in one dataset, each epoch's order from (seed, epoch): what a resumed run reads
    train_ds = make_dataset(data["train"], batch_size, shuffle=True, seed=seed, cache=cache and not sampled,
                            readers=readers, sample_weights=None if sampled else balance,
                            groups=groups if sampled else None, epochs=range(first, epochs))
    if recipe.mixup:
        # on a GPU the mixed batch goes back to the stored dtype: half the bytes to send (float16 stores
        # 3 significant digits, as the shards do); on the CPU it stays float32, as it always trained
        dtype = tf.as_dtype(data["train"].folder.storage.dtype) if on_gpu else tf.float32
        train_ds = with_mixup(train_ds, recipe.mixup, seed, dtype, skip=first * per_epoch).prefetch(tf.data.AUTOTUNE)
    val_ds = make_dataset(data["val"], 64, shuffle=False, cache=cache, readers=readers)
    callbacks = [_epoch_seconds_callback()(), keras.callbacks.CSVLogger(out / RunFolder.HISTORY, append=first > 0),
                 *callbacks]
    stopper = None
    if recipe.schedule == "constant":
        # monitor PR-AUC, not loss: on small data the all-absent predictor wins the loss early on
        stopper = checkpoints.resumable_early_stopping(resume, monitor=f"val_{MONITOR}", mode="max",
                                                       patience=patience, restore_best_weights=True)
        callbacks.append(stopper)
    history = dict(resume.history) if resume is not None else {}
    seconds = resume.seconds if resume is not None else 0.0
    if save_state is not None:  # last: after early stopping has decided
        callbacks.append(checkpoints.epoch_callback(save_state, first, epochs, history, seconds, stopper))
    if first < epochs:
        new = model.fit(train_ds, validation_data=val_ds, epochs=epochs, initial_epoch=first, steps_per_epoch=per_epoch,
                        callbacks=callbacks, verbose=verbose).history
        history = {key: history.get(key, []) + list(new.get(key, [])) for key in [*history, *new]}
    elif stopper is not None and resume.best_weights is not None:  # ended by early stopping: its best epoch
        model.set_weights(resume.best_weights)
    run = len(history["loss"])
    best = int(np.argmax(history[f"val_{MONITOR}"])) + 1 if recipe.schedule == "constant" else run
    if recipe.finish is not None:
        extra = [name for name in recipe.views if name != "log_mel"]  # views the finishing step reads
        views = {"views": view_arrays(data["train"], extra)} if extra else {}
        model = recipe.finish(model, train_inputs, data["train"].labels, seed, clip_weights=balance, **views)
    return model, history, best
