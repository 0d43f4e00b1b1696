"""``--model fusion`` (the default): a small CNN on band-standardised log-mel, averaged with a
logistic regression on functionals of the same log-mel. Not from a seed; chosen on real
RAVDESS by speaker folds (docs/training.md has the evidence).

* CNN: training-time time shift (up to 40 frames), SpecAugment (2 time masks up to 30
  frames, 2 band masks up to 20 bands) and mixup (in the training loop), then the
  log-mel average-pooled 2x2 (100 x 139), standardised per mel band with the training
  split's statistics, four conv blocks (3x3 conv, batch norm, ReLU, 2x2 max-pool;
  16, 32, 64, 64 channels), mean and max over time, dropout 0.3, softmax: 60 k weights,
  enough for ~1 k clips. The seed-001 network (0.9 M) and a flatten head (6.8 M)
  overfit RAVDESS's actors.
* Functionals (``features.Functionals``): 1,785 statistics of MFCCs, mel bands, their
  deltas, energy and flux over the voiced span; standardised with the training split's
  statistics; multinomial logistic regression (C = 0.03), fitted by scikit-learn after
  the CNN has trained and stored in the model as a Dense softmax layer.
* Output: the mean of the two probability vectors. Each view alone scored about
  0.53 UA on the dev folds; their mean 0.56 (their errors differ).
* ``clip_norm`` (off by default): the CNN's input with each clip's own band means over
  its voiced frames removed (``layers.ClipBandNorm``), against a corpus's channel. On
  RAVDESS + TESS it lowered the CNN view's UA on RAVDESS's unseen actors (0.446 -> 0.345,
  fold 0; docs/benchmarks.md, cross-corpus): the spectral tilt it removes is also a cue.
* ``pooling=span`` (off by default): the CNN's mean and max over time over the clip's voiced
  span only (``layers.SpanPooling``), not the 4.5 s window's padding. On the four RAVDESS
  folds it scored 0.549 alone and 0.523 with TESS (the default: 0.553 and 0.532).

``--model fusion-compare``: the same two, and a third view beside them: a logistic regression
(C = 0.003, emotions weighted equally) on the shards' ``compare`` view, openSMILE's 6,373
ComParE functionals (``render --views compare``); the mean of the three. The saved model takes
``log_mel`` and ``compare``. docs/training.md has the evidence.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from aggregate.vocabulary import EMOTIONS

from .base import Recipe

COMPARE_C = 0.003  # 6,373 features: stronger still; chosen by grouped cross-validation (docs/training.md)
LOGISTIC_C = 0.03  # strong L2: 1.8 k features, ~1 k clips; 0.01 to 0.1 scored alike on the dev folds


@dataclass(frozen=True)
class Options:
    """``--model-option KEY=VALUE`` of fusion."""
    channels: tuple[int, ...] = field(default=(16, 32, 64, 64), metadata={"help": "of the CNN's conv blocks"})
    dropout: float = field(default=0.3, metadata={"help": "before the CNN's softmax"})
    clip_norm: Literal["none", "mean", "mean_std"] = field(
        default="none", metadata={"help": "the CNN's log-mel, per clip and band over its voiced frames: subtract "
                                          "the mean (a channel's colouring), or also divide by the deviation; "
                                          "silent frames set to 0 (layers.ClipBandNorm)"})
    pooling: Literal["all", "span"] = field(
        default="all", metadata={"help": "the CNN's mean and max over time: over every frame, or over the clip's "
                                         "voiced span only (layers.SpanPooling)"})

    def __post_init__(self) -> None:
        if not self.channels or min(self.channels) < 1:
            raise ValueError(f"channels must be whole numbers of at least 1, got {self.channels}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be at least 0 and below 1, got {self.dropout}")
        if self.clip_norm not in ("none", "mean", "mean_std"):  # for callers from Python; the CLI checks first
            raise ValueError(f"clip_norm must be 'none', 'mean' or 'mean_std', got {self.clip_norm!r}")
        if self.pooling not in ("all", "span"):
            raise ValueError(f"pooling must be 'all' or 'span', got {self.pooling!r}")


def build(input_shape, seed: int, train_inputs, options: Options):
    """The CNN that training fits; ``finish`` adds the functionals' logistic regression."""
    import keras
    from keras import layers

    from .layers import ClipBandNorm, SpanPooling, SpecAugment, TimeShift, adapted_normalization, seeded_glorot

    glorot = seeded_glorot(seed)
    inputs = keras.Input(input_shape, name="log_mel")
    # the shift first: a roll in time commutes with clip_norm, and span pooling reads the voiced span
    # from the shifted log-mel as it is, before clip_norm and SpecAugment replace frames
    x = shifted = TimeShift(40, seed=seed, name="time_shift")(inputs)
    clip_norm = None
    if options.clip_norm != "none":  # before SpecAugment: its masks then take the voiced mean, 0
        clip_norm = ClipBandNorm(scale=options.clip_norm == "mean_std", name="clip_norm")
        x = clip_norm(x)
    x = SpecAugment(seed=seed + 1, name="spec_augment")(x)
    downsample = layers.AveragePooling2D(2, name="downsample")
    x = downsample(x)
    view = downsample if clip_norm is None else (lambda batch: downsample(clip_norm(batch)))
    x = adapted_normalization(train_inputs, view, axis=1, name="band_norm")(x)
    for i, c in enumerate(options.channels, 1):
        x = layers.Conv2D(c, 3, padding="same", use_bias=False, kernel_initializer=glorot(), name=f"conv{i}")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    if options.pooling == "span":
        x = SpanPooling(2 ** (1 + len(options.channels)), name="time_pool")([x, shifted])
    else:
        frames = x.shape[2]
        x = layers.Concatenate(name="time_pool")([layers.AveragePooling2D((1, frames))(x),
                                                 layers.MaxPooling2D((1, frames))(x)])
        x = layers.Flatten()(x)
    x = layers.Dropout(options.dropout, seed=seed, name="dropout")(x)
    outputs = layers.Dense(len(EMOTIONS), activation="softmax", kernel_initializer=glorot(), name="cnn")(x)
    return keras.Model(inputs, outputs, name="fusion_cnn")


def finish(cnn, train_inputs, train_labels, seed: int, clip_weights=None):
    """Fit the logistic regression on the training split's functionals; the model averaging both views.
    ``clip_weights``: one per training clip (corpus balance), as the CNN's loss had them."""
    import keras
    import numpy as np
    from keras import layers

    from .features import Functionals

    functionals = Functionals(name="functionals")
    features = np.concatenate([np.asarray(functionals(x)) for x in train_inputs])
    scale, logistic = logistic_head(features, train_labels, LOGISTIC_C, seed, clip_weights,
                                    names=("functionals_norm", "logistic"))
    x = cnn.input
    outputs = layers.Average(name="emotions")([cnn.output, logistic(scale(functionals(x)))])
    return keras.Model(x, outputs, name="fusion")


def fit_logistic(features, train_labels, c: float, seed: int, clip_weights=None, balanced: bool = False):
    """A multinomial logistic regression fitted by scikit-learn on standardised ``features`` (one row per
    training clip), as arrays: (mean, std, kernel (features, 7), bias (7,)); softmax((x - mean) / std @
    kernel + bias) is its probability of each emotion. ``clip_weights`` (corpus balance) weigh the clips
    in the fit; ``balanced``: each emotion weighs the same (as in UA)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    features, labels = np.asarray(features), np.asarray(train_labels)
    # plain statistics, even with clip weights: weighted ones scored the same on RAVDESS + TESS (0.491 against
    # 0.493 over the four folds, benchmarks/cross_corpus_functionals.py)
    mean, std = features.mean(0), features.std(0) + 1e-6
    # one row per (clip, emotion present), weighted 1 / emotions of the clip: multi-label clips count once
    clip, emotion = np.nonzero(labels > 0)
    weight = 1.0 / labels.sum(1)[clip]
    if clip_weights is not None:
        weight = weight * np.asarray(clip_weights)[clip]
    if balanced:  # each emotion's rows weigh as much in all
        totals = np.bincount(emotion, weights=weight, minlength=len(EMOTIONS))
        weight = weight * (weight.sum() / (np.count_nonzero(totals) * totals[emotion]))
    fit = LogisticRegression(C=c, max_iter=3000, random_state=seed)
    fit.fit((features[clip] - mean) / std, emotion, sample_weight=weight)
    kernel = np.zeros((features.shape[1], len(EMOTIONS)), "float32")
    bias = np.full(len(EMOTIONS), -30.0, "float32")  # an emotion absent from training: probability ~0
    coef, intercept = fit.coef_, fit.intercept_
    if len(fit.classes_) == 2:  # scikit-learn keeps one logit z; softmax of (-z/2, z/2) is sigmoid(z)
        coef, intercept = np.stack([-coef[0], coef[0]]) / 2, np.array([-1.0, 1.0]) * intercept[0] / 2
    if len(fit.classes_) == 1:  # one emotion only: it always wins
        bias[fit.classes_[0]] = 0.0
    else:
        kernel[:, fit.classes_], bias[fit.classes_] = coef.T, intercept
    return mean, std, kernel, bias


def logistic_head(features, train_labels, c: float, seed: int, clip_weights=None, balanced: bool = False,
                  names: tuple[str, str] = ("view_norm", "view_logistic")):
    """(standardisation, Dense softmax) layers holding ``fit_logistic``'s regression: what ``finish`` puts
    beside the CNN."""
    import numpy as np
    from keras import layers

    mean, std, kernel, bias = fit_logistic(features, train_labels, c, seed, clip_weights, balanced)
    scale = layers.Normalization(mean=mean, variance=np.square(std), name=names[0])
    logistic = layers.Dense(len(EMOTIONS), activation="softmax", name=names[1])
    logistic.build((None, features.shape[1]))
    logistic.set_weights([kernel, bias])
    return scale, logistic


def finish_compare(cnn, train_inputs, train_labels, seed: int, clip_weights=None, views=None):
    """The default's two views and a third beside them: a logistic regression on the shards' ``compare``
    view (openSMILE's ComParE functionals). The mean of the three; a model of two inputs, ``log_mel``
    and ``compare``."""
    import keras
    from keras import layers

    fusion = finish(cnn, train_inputs, train_labels, seed, clip_weights)  # the CNN and the log-mel functionals
    compare = views["compare"]
    scale, logistic = logistic_head(compare, train_labels, COMPARE_C, seed, clip_weights, balanced=True,
                                    names=("compare_norm", "compare_logistic"))
    functionals = keras.Input((compare.shape[1],), name="compare")
    branches = [cnn.output, fusion.get_layer("logistic").output, logistic(scale(functionals))]
    outputs = layers.Average(name="emotions")(branches)  # each view weighs the same, as in the default
    return keras.Model({"log_mel": cnn.input, "compare": functionals}, outputs, name="fusion_compare")


MODEL = Recipe("fusion", build, "no seed: chosen on real RAVDESS, docs/training.md", mixup=0.4, finish=finish,
               reference_clips=416, options=Options)  # 60 epochs were chosen on 8 actors' 416 clips
COMPARE = Recipe("fusion-compare", build, "no seed: the default beside openSMILE's ComParE functionals, "
                 "docs/training.md", mixup=0.4, finish=finish_compare, reference_clips=416, options=Options,
                 views=("log_mel", "compare"))
