"""Multi-label evaluation that does not flatter: the paper's figure next to ones a do-nothing model cannot win.

The paper's Eq. 2 (mean per-emotion binary accuracy) is exactly 1 - Hamming loss,
and on sparse labels it is high for free: the all-absent predictor scores
1 - mean(prevalence). So every report carries that trivial predictor's numbers,
plus F1, mAP, exact-match accuracy and the single-label UA/WA used in SER papers.

Conventions: an emotion is predicted present when its score >= its threshold;
every ratio with a zero denominator is 0.0; per-emotion AP is None for an emotion
with no positive (AP is undefined there) and macro F1 / mAP average over the
emotions that have positives, so a corpus without "surprise" is not scored on it
(false alarms on it still count in micro F1, Hamming loss and Eq. 2).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.metrics import average_precision_score

from aggregate.emotions import EMOTIONS

DIGITS = 4
KEY_FIGURES = ("paper_accuracy", "macro_f1", "micro_f1", "mAP", "subset_accuracy", "hamming_loss")


def _ratio(num, den):
    """num / den elementwise, 0.0 where den == 0 (no NaN, no warning)."""
    num, den = np.asarray(num, float), np.asarray(den, float)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)


def _r(x) -> float:
    return round(float(x), DIGITS)


def _check(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=float)
    k = len(EMOTIONS)
    if y.ndim != 2 or y.shape[1] != k or s.shape != y.shape:
        raise ValueError(f"need y_true and scores of shape (N, {k}), got {y.shape} and {s.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must be multi-hot (0/1)")
    return y.astype(int), s


def _thresholds(thresholds) -> np.ndarray:
    return np.broadcast_to(np.asarray(thresholds, dtype=float), (len(EMOTIONS),)).copy()


def _figures(y: np.ndarray, scores: np.ndarray, pred: np.ndarray) -> tuple[dict, dict]:
    """The key figures (rounded) and the per-emotion table for one set of predictions."""
    tp = (pred & (y == 1)).sum(0)
    fp = (pred & (y == 0)).sum(0)
    fn = (~pred & (y == 1)).sum(0)
    support = y.sum(0)
    has_pos = support > 0
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    acc = 1.0 - (pred != (y == 1)).mean(0) if len(y) else np.zeros(len(EMOTIONS))
    ap = [average_precision_score(y[:, k], scores[:, k]) if has_pos[k] else None for k in range(len(EMOTIONS))]

    per_emotion = {
        e: {"precision": _r(precision[k]), "recall": _r(recall[k]), "f1": _r(f1[k]),
            "average_precision": None if ap[k] is None else _r(ap[k]),
            "support": int(support[k]), "accuracy": _r(acc[k])}
        for k, e in enumerate(EMOTIONS)
    }
    present_ap = [a for a in ap if a is not None]
    figures = {
        "paper_accuracy": _r(acc.mean()),  # Eq. 2; equals 1 - hamming_loss
        "macro_f1": _r(f1[has_pos].mean()) if has_pos.any() else 0.0,
        "micro_f1": _r(_ratio(2 * tp.sum(), 2 * tp.sum() + fp.sum() + fn.sum())),
        "mAP": _r(np.mean(present_ap)) if present_ap else None,
        "subset_accuracy": _r((pred == (y == 1)).all(1).mean()) if len(y) else 0.0,
        "hamming_loss": _r((pred != (y == 1)).mean()) if len(y) else 0.0,
    }
    return figures, per_emotion


def _single_label(y: np.ndarray, scores: np.ndarray) -> dict:
    """Clips with exactly one true label, arg-max score as the prediction.

    UA (mean per-class recall over classes present) does not reward predicting the
    majority class; WA (overall accuracy) does. ``confusion``: counts, a row per true
    emotion and a column per predicted one (``EMOTIONS`` order both ways).
    """
    one = y.sum(1) == 1
    truth, guess = y[one].argmax(1), scores[one].argmax(1)
    classes = np.unique(truth)
    recalls = [np.mean(guess[truth == c] == c) for c in classes]
    confusion = np.zeros((len(EMOTIONS), len(EMOTIONS)), int)
    np.add.at(confusion, (truth, guess), 1)
    return {"unweighted_accuracy": _r(np.mean(recalls)) if recalls else 0.0,
            "weighted_accuracy": _r(np.mean(guess == truth)) if one.any() else 0.0,
            "n": int(one.sum()), "confusion": confusion.tolist()}


def _summary(y, scores, thresholds) -> dict:
    figures, per_emotion = _figures(y, scores, scores >= thresholds)
    trivial, _ = _figures(y, np.zeros_like(scores), np.zeros_like(y, dtype=bool))
    return {"n": int(len(y)), **figures, "per_emotion": per_emotion,
            "single_label": _single_label(y, scores), "trivial": trivial}


def evaluate(y_true, scores, thresholds: float | Sequence[float] = 0.5,
             corpora: Sequence[str] | None = None) -> dict:
    """All figures for (N, 7) multi-hot labels and (N, 7) probabilities; JSON-serialisable.

    ``trivial`` holds the same key figures for the all-absent predictor (scores all 0;
    its mAP is the mean prevalence, since AP of a constant score is the prevalence).
    ``per_corpus`` (when ``corpora`` names each clip's corpus) repeats the summary per corpus.
    """
    y, s = _check(y_true, scores)
    t = _thresholds(thresholds)
    result = _summary(y, s, t)
    result["thresholds"] = [_r(v) for v in t]
    if corpora is not None:
        names = np.asarray(corpora, dtype=str)
        if names.shape != (len(y),):
            raise ValueError(f"corpora must name each of the {len(y)} clips, got {names.shape}")
        result["per_corpus"] = {}
        for c in sorted(set(names)):
            part = _summary(y[names == c], s[names == c], t)
            del part["per_emotion"]  # kept short: the main figures only
            result["per_corpus"][c] = part
    return result


def tune_thresholds(y_true, scores, grid=np.linspace(0.05, 0.95, 19)) -> np.ndarray:
    """Per emotion, the grid threshold with the best F1 on (validation) data; 0.5 with no positives.

    Among tied thresholds the middle one is taken: on separable scores that lands
    inside the gap rather than on its edge.
    """
    y, s = _check(y_true, scores)
    grid = np.asarray(grid, dtype=float)
    best = np.full(len(EMOTIONS), 0.5)
    for k in range(len(EMOTIONS)):
        pos = y[:, k] == 1
        if not pos.any():
            continue
        pred = s[:, k][None, :] >= grid[:, None]  # (len(grid), N)
        tp, fp, fn = (pred & pos).sum(1), (pred & ~pos).sum(1), (~pred & pos).sum(1)
        f1 = _ratio(2 * tp, 2 * tp + fp + fn)
        tied = np.flatnonzero(f1 >= f1.max() - 1e-12)
        best[k] = grid[tied[len(tied) // 2]]
    return np.round(best, 6)  # linspace gives 0.49999999999999994 for .5


def _fmt(x) -> str:
    return "   -  " if x is None else f"{x:6.3f}"


def format_confusion(confusion) -> str:
    """The single-label confusion matrix as a table: a row per true emotion, a column per predicted one,
    each row's recall at its end."""
    lines = ["single-label confusion (rows: true emotion, columns: arg-max prediction)",
             f"{'':<9}" + "".join(f"{e:>9}" for e in EMOTIONS) + f"{'recall':>9}"]
    for k, (e, row) in enumerate(zip(EMOTIONS, confusion)):
        total = sum(row)
        recall = f"{row[k] / total:9.2f}" if total else f"{'-':>9}"
        lines.append(f"{e:<9}" + "".join(f"{v:>9}" for v in row) + recall)
    return "\n".join(lines)


def format_report(metrics: dict) -> str:
    """A compact table: per-emotion rows, then the key figures beside the all-absent predictor's."""
    lines = [f"n = {metrics['n']}", f"{'emotion':<9} {'support':>7} {'thresh':>6} {'prec':>6} {'recall':>6} "
                                    f"{'f1':>6} {'AP':>6} {'acc':>6}"]
    for e, t in zip(EMOTIONS, metrics["thresholds"]):
        m = metrics["per_emotion"][e]
        lines.append(f"{e:<9} {m['support']:>7} {t:6.2f} {_fmt(m['precision'])} {_fmt(m['recall'])} "
                     f"{_fmt(m['f1'])} {_fmt(m['average_precision'])} {_fmt(m['accuracy'])}")
    lines.append(f"\n{'':<24} {'model':>6} {'all-absent':>10}")
    for key, label in zip(KEY_FIGURES, ("paper accuracy (Eq. 2)", "macro F1", "micro F1", "mAP",
                                        "subset accuracy", "Hamming loss")):
        lines.append(f"{label:<24} {_fmt(metrics[key])} {_fmt(metrics['trivial'][key]):>10}")
    sl = metrics["single_label"]
    lines.append(f"single-label (n={sl['n']}): UA {_fmt(sl['unweighted_accuracy'])}  "
                 f"WA {_fmt(sl['weighted_accuracy'])}")
    if "confusion" in sl:
        lines += ["", format_confusion(sl["confusion"])]
    if "per_corpus" in metrics:
        lines.append(f"\n{'corpus':<10} {'n':>6} {'Eq.2':>6} {'(triv)':>6} {'macF1':>6} {'mAP':>6} "
                     f"{'(triv)':>6} {'UA':>6} {'WA':>6}")
        for c, m in metrics["per_corpus"].items():
            sl = m["single_label"]
            lines.append(f"{c:<10} {m['n']:>6} {_fmt(m['paper_accuracy'])} {_fmt(m['trivial']['paper_accuracy'])} "
                         f"{_fmt(m['macro_f1'])} {_fmt(m['mAP'])} {_fmt(m['trivial']['mAP'])} "
                         f"{_fmt(sl['unweighted_accuracy'])} {_fmt(sl['weighted_accuracy'])}")
    return "\n".join(lines)
