"""Losses and the class weights they use."""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

from aggregate.vocabulary import EMOTIONS


@keras.saving.register_keras_serializable(package="train")
class WeightedBCE(keras.losses.Loss):
    """Binary cross-entropy whose positive term for emotion k is multiplied by pos_weights[k].

    Per clip: mean over emotions of -(w_k y_k log p_k + (1 - y_k) log(1 - p_k)).
    Written as plain BCE + (w - 1) y (-log p), both through keras.ops.binary_crossentropy,
    so with the TF backend the loss is computed from the sigmoid's logits (stable near
    0 and 1) exactly as keras.losses.BinaryCrossentropy does, and w = 1 gives it exactly.
    """

    def __init__(self, pos_weights, name="weighted_bce", **kwargs):
        super().__init__(name=name, **kwargs)
        self.pos_weights = [float(w) for w in np.ravel(pos_weights)]

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        w = ops.convert_to_tensor(self.pos_weights, dtype=y_pred.dtype)
        bce = ops.binary_crossentropy(y_true, y_pred)
        miss = ops.binary_crossentropy(ops.ones_like(y_pred), y_pred)  # -log p
        return ops.mean(bce + (w - 1.0) * y_true * miss, axis=-1)

    def get_config(self):
        return {**super().get_config(), "pos_weights": self.pos_weights}


def weighted_bce(pos_weights) -> WeightedBCE:
    """The positive-weighted BCE loss (a serialisable Keras loss, so load_model needs no custom_objects)."""
    return WeightedBCE(pos_weights)


def class_weights(labels, low: float = 1.0, high: float = 50.0) -> np.ndarray:
    """Positive weight per emotion: n_negative / n_positive on the TRAINING split, clipped to [low, high].

    That ratio makes positives and negatives of an emotion weigh the same in the loss.
    Clipped below at 1: an emotion present in more than half the clips keeps its
    positives at full weight rather than being discounted. Clipped above at 50:
    a handful of positives (surprise, in the paper) would otherwise carry weights in
    the hundreds, each such clip outweighing whole batches, and the model learns to
    say "present" everywhere (what the paper reports for surprise). 1.0 for an
    emotion with no positives (nothing to weigh).
    """
    y = np.asarray(labels, dtype=float)
    if y.ndim != 2 or y.shape[1] != len(EMOTIONS):
        raise ValueError(f"labels must be (N, {len(EMOTIONS)}), got {y.shape}")
    pos = y.sum(0)
    neg = len(y) - pos
    ratio = np.divide(neg, pos, out=np.ones_like(pos), where=pos > 0)
    return np.where(pos > 0, np.clip(ratio, low, high), 1.0)


@keras.saving.register_keras_serializable(package="train")
class SoftmaxCE(keras.losses.Loss):
    """Cross-entropy of a softmax output against the clip's emotions normalised to sum to 1, weighted per emotion.

    Per clip: -sum_k w_k t_k log p_k with t = y / sum(y): a single-label clip is plain
    categorical cross-entropy; a clip with two emotions asks for half of each (and a
    mixup of two clips for the mix). w = 1 gives keras's categorical cross-entropy.
    """

    def __init__(self, weights, name="softmax_ce", **kwargs):
        super().__init__(name=name, **kwargs)
        self.weights = [float(w) for w in np.ravel(weights)]

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        target = y_true / ops.maximum(ops.sum(y_true, axis=-1, keepdims=True), 1e-7)
        w = ops.convert_to_tensor(self.weights, dtype=y_pred.dtype)
        return ops.sum(-w * target * ops.log(ops.clip(y_pred, 1e-7, 1.0)), axis=-1)

    def get_config(self):
        return {**super().get_config(), "weights": self.weights}


def emotion_weights(labels, low: float = 0.5, high: float = 5.0, clip_weights=None) -> np.ndarray:
    """Weight per emotion for ``SoftmaxCE``: the mean emotion's share over this emotion's, on the TRAINING split.

    Shares count each clip once (a clip with two emotions gives half to each). Each
    emotion then weighs the same in the loss in all, as unweighted accuracy counts
    them; clipped to [0.5, 5] so a handful of clips never dominates. 1.0 for an
    emotion with no clips (nothing to weigh). ``clip_weights``: one per clip, as the loss weighs
    the clips (corpus balance); the shares are then weighed shares.
    """
    y = np.asarray(labels, dtype=float)
    if y.ndim != 2 or y.shape[1] != len(EMOTIONS):
        raise ValueError(f"labels must be (N, {len(EMOTIONS)}), got {y.shape}")
    share = y / np.maximum(y.sum(1, keepdims=True), 1)
    share = (share if clip_weights is None else share * np.asarray(clip_weights, float)[:, None]).sum(0)
    present = share > 0
    ratio = np.divide(share[present].mean() if present.any() else 1.0, share, out=np.ones_like(share), where=present)
    return np.where(present, np.clip(ratio, low, high), 1.0)
