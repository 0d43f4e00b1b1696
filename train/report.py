"""Plots of a run: learning curves, per-emotion confusion matrices (the paper's Figure 2), the single-label
7x7 confusion matrix, per-corpus scores."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from aggregate.emotions import EMOTIONS


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server or in CI
    import matplotlib.pyplot as plt

    return plt


def plot_history(history: dict[str, list[float]], path: Path) -> Path:
    """Loss and every other metric, training next to validation, one panel each."""
    plt = _pyplot()
    names = [k for k in history if not k.startswith("val_") and k not in ("learning_rate", "seconds")]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = np.arange(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], label="train")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], label="validation")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")  # path may be a temporary name
    plt.close(fig)
    return path


def plot_confusions(y_true: np.ndarray, y_pred: np.ndarray, path: Path, title: str) -> Path:
    """One 2x2 matrix per emotion (absent/present, true x predicted), as in the paper's Figure 2."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 4, figsize=(13, 6.4))
    for i, ax in enumerate(axes.flat):
        if i >= len(EMOTIONS):
            ax.axis("off")
            continue
        t, p = y_true[:, i].astype(bool), y_pred[:, i].astype(bool)
        matrix = np.array([[np.sum(~t & ~p), np.sum(~t & p)], [np.sum(t & ~p), np.sum(t & p)]])
        ax.imshow(matrix, cmap="Blues")
        for (r, c), value in np.ndenumerate(matrix):
            ax.text(c, r, str(value), ha="center", va="center",
                    color="white" if value > matrix.max() / 2 else "black")
        ax.set_xticks([0, 1], ["absent", "present"])
        ax.set_yticks([0, 1], ["absent", "present"])
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(EMOTIONS[i])
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")  # path may be a temporary name
    plt.close(fig)
    return path


def plot_confusion_matrix(confusion, path: Path, title: str) -> Path:
    """The single-label confusion matrix: counts, a row per true emotion, a column per arg-max prediction;
    colour by the share of the row, so a rare emotion's row reads as clearly as a common one's."""
    plt = _pyplot()
    counts = np.asarray(confusion)
    totals = counts.sum(1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    fig, ax = plt.subplots(figsize=(6.6, 5.6))
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (r, c), value in np.ndenumerate(counts):
        ax.text(c, r, str(value), ha="center", va="center", color="white" if shares[r, c] > 0.5 else "black")
    ax.set_xticks(range(len(EMOTIONS)), EMOTIONS, rotation=45, ha="right")
    ax.set_yticks(range(len(EMOTIONS)), [f"{e} ({n})" for e, n in zip(EMOTIONS, totals[:, 0])])
    ax.set_xlabel("predicted (arg-max)")
    ax.set_ylabel("true emotion (clips)")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="share of the row")
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")  # path may be a temporary name
    plt.close(fig)
    return path


def plot_per_corpus(metrics: dict, path: Path, title: str) -> Path:
    """Macro F1, mAP and the paper's accuracy per corpus; over each corpus's bars, the all-absent
    predictor's mAP and paper accuracy on that corpus (its emotion rates differ, so do they)."""
    plt = _pyplot()
    corpora = list(metrics.get("per_corpus", {}))
    keys = ["macro_f1", "mAP", "paper_accuracy"]
    fig, ax = plt.subplots(figsize=(2.2 + 1.8 * max(1, len(corpora)), 3.6))
    width = 0.8 / len(keys)
    for k, key in enumerate(keys):
        values = [metrics["per_corpus"][c].get(key) or 0.0 for c in corpora]
        ax.bar(np.arange(len(corpora)) + k * width, values, width, label=key)
    ax.set_xticks(np.arange(len(corpora)) + width, corpora)
    ax.set_ylim(0, 1)
    for i, c in enumerate(corpora):
        trivial = metrics["per_corpus"][c]["trivial"]
        left, right = i - width / 2, i + (len(keys) - 0.5) * width
        for key, style in [("mAP", ":"), ("paper_accuracy", "--")]:
            ax.hlines(trivial[key] or 0.0, left, right, colors="grey", linestyles=style, linewidth=1.2,
                      label=f"{key} of all-absent" if i == 0 else None)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")  # path may be a temporary name
    plt.close(fig)
    return path
