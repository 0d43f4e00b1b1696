"""The card's figures (matplotlib only): each drawn from the ``Card``'s numbers, written as PNG for
the page and as SVG for print (a paper's appendix), both without a date so a rebuild gives the same bytes."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pandas as pd

from ..vocabulary import EMOTIONS
from .statistics import EXAMPLES_PER_EMOTION, Card
from .style import GENDER_COLORS, OTHER_REASON_COLOR, REASON_COLORS, color, percent, title

DPI = 150  # figures are drawn at 150 dpi and shown at 100 px per inch: sharp on screens and in print
FORMATS = ("png", "svg")

_STYLE = {
    "font.size": 10, "axes.titlesize": 10.5, "axes.labelsize": 10, "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5, "legend.fontsize": 9, "axes.spines.top": False, "axes.spines.right": False,
    "figure.dpi": DPI, "savefig.dpi": DPI, "svg.hashsalt": "aggregate",
}
_METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}


def draw_all(card: Card, examples: dict[str, np.ndarray], folder: Path) -> dict[str, tuple[int, int]]:
    """Write every figure the card has data for into ``folder``; return each figure's name (no
    suffix) and its PNG size in pixels, in page order. ``examples``: spectrograms by sample id."""
    plt = _pyplot()
    drawn = {}
    with plt.rc_context(_STYLE):
        figures = []
        if len(card.reasons):
            figures.append(("rejects", lambda: plot_rejects(card.reasons, card.corpora)))
        figures.append(("labels", lambda: plot_labels(card.label_counts, card.corpora)))
        if card.multi_label:  # single-label data: the page says it in a sentence
            figures.append(("cooccurrence", lambda: plot_cooccurrence(card.cooccurrence)))
        if card.voted:
            figures.append(("agreement", lambda: plot_agreement(card.agreement, card.voted)))
        figures.append(("durations", lambda: plot_durations(card.durations, card.corpora, card.source.crop_s)))
        if card.splits is not None:
            figures.append(("splits", lambda: plot_splits(card)))
        if card.examples:
            figures.append(("examples", lambda: plot_examples(card, examples)))
        for name, draw in figures:
            drawn[name] = _save(draw(), folder, name)
    return drawn


def file_name(name: str, fmt: str) -> str:
    return f"{name}.{fmt}"


def _save(fig, folder: Path, name: str) -> tuple[int, int]:
    # Constrained layout keeps labels and legends (figure legends placed "outside ...") inside the figure;
    # bbox_inches="tight" would too, at the cost of drawing every figure twice.
    try:
        for fmt in FORMATS:
            fig.savefig(folder / file_name(name, fmt), dpi=DPI, facecolor="white", metadata=_METADATA[fmt])
    finally:
        _pyplot().close(fig)
    with open(folder / file_name(name, "png"), "rb") as handle:
        return struct.unpack(">II", handle.read(24)[16:24])


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server or in CI
    import matplotlib.pyplot as plt

    return plt


def plot_rejects(matrix: pd.DataFrame, corpora: list[str]):
    plt = _pyplot()
    height = 1.2 + 0.42 * len(corpora) + 0.24 * ((len(matrix.index) + 2) // 3)
    fig, ax = plt.subplots(figsize=(9, height), layout="constrained")
    y = np.arange(len(corpora))[::-1]
    left = np.zeros(len(corpora))
    for reason in matrix.index:
        values = matrix.loc[reason, corpora].to_numpy(dtype=float)
        ax.barh(y, values, left=left, color=REASON_COLORS.get(reason, OTHER_REASON_COLOR), edgecolor="#555555",
                linewidth=0.5, label=reason, height=0.62)
        left += values
    top = max(left.max(), 1)
    start = np.zeros(len(corpora))
    segments = (matrix.loc[:, corpora] > 0).sum(axis=0).to_numpy()  # reasons per bar
    for reason in matrix.index:  # the count inside each segment wide enough to hold it, unless it is the bar's total
        values = matrix.loc[reason, corpora].to_numpy(dtype=float)
        for yi, x0, v, n in zip(y, start, values, segments):
            if v and n > 1 and v >= top * 0.035 * len(str(int(v))):
                ax.text(x0 + v / 2, yi, f"{int(v):,}", ha="center", va="center", fontsize=8, color="#222222")
        start += values
    for yi, total in zip(y, left):
        ax.text(total + top * 0.01, yi, f"{int(total):,}", va="center", fontsize=9.5, fontweight="bold")
    ax.set_yticks(y, [title(c) for c in corpora])
    ax.set_xlim(0, top * 1.08)
    ax.set_xlabel("rejected files")
    ax.xaxis.get_major_locator().set_params(integer=True)
    fig.legend(loc="outside lower center", ncol=min(len(matrix.index), 4), frameon=False, title="reason")
    return fig


def plot_labels(counts: pd.DataFrame, corpora: list[str]):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.6), layout="constrained")
    n = len(corpora)
    width = 0.8 / max(n, 1)
    x = np.arange(len(EMOTIONS))
    top = max(int(counts.values.max()) if counts.size else 0, 1)
    for i, c in enumerate(corpora):
        values = counts[c].to_numpy()
        pos = x - 0.4 + width * (i + 0.5)
        ax.bar(pos, values, width=width * 0.92, color=color(c), label=title(c))
        for p, v in zip(pos, values):
            ax.text(p, v + top * 0.015, f"{int(v):,}", ha="center", va="bottom", fontsize=7.5,
                    rotation=90 if n > 2 else 0)
    ax.set_xticks(x, list(EMOTIONS))
    ax.set_ylabel("clips")
    ax.set_ylim(0, top * (1.22 if n > 2 else 1.12))
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.legend(loc="outside upper center", ncol=min(n, 4), frameon=False)
    return fig


def plot_cooccurrence(co: np.ndarray):
    import matplotlib.ticker

    plt = _pyplot()
    k = len(EMOTIONS)
    off = co.astype(float).copy()
    np.fill_diagonal(off, np.nan)
    vmax = max(np.nanmax(off) if np.isfinite(off).any() else 0, 1)
    fig, ax = plt.subplots(figsize=(6.4, 5.4), layout="constrained")
    image = ax.imshow(np.ma.masked_invalid(off), cmap="Blues", vmin=0, vmax=vmax)
    ax.imshow(np.where(np.eye(k, dtype=bool), 1.0, np.nan), cmap="Greys", vmin=0, vmax=5)  # the diagonal: grey
    for i in range(k):
        for j in range(k):
            value = int(co[i, j])
            dark = i != j and value > vmax * 0.6
            ax.text(j, i, f"{value}", ha="center", va="center", fontsize=9,
                    color="white" if dark else "black", fontstyle="italic" if i == j else "normal")
    ax.set_xticks(range(k), list(EMOTIONS), rotation=35, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(k), list(EMOTIONS))
    ax.spines[:].set_visible(False)
    ax.set_xticks(np.arange(k + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(k + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    bar = fig.colorbar(image, ax=ax, shrink=0.8, label="clips with both emotions")
    bar.locator = matplotlib.ticker.MaxNLocator(integer=True)
    bar.update_ticks()
    return fig


def plot_agreement(shares: dict[str, np.ndarray], voted: list[str]):
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(voted), figsize=(9 if len(voted) > 1 else 5.5, 2.9), squeeze=False,
                             layout="constrained")
    edges = np.linspace(0, 1, 11)
    for ax, c in zip(axes[0], voted):
        a = shares[c]
        counts, _ = np.histogram(a, bins=edges)
        ax.bar(edges[:-1], counts, width=0.1, align="edge", color=color(c), edgecolor="white", linewidth=0.8)
        ax.set_title(f"{title(c)}: {len(a):,} rated clips" + (f", mean {a.mean():.2f}" if len(a) else ""))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, max(counts.max() if counts.size else 0, 1) * 1.15)
        ax.set_xlabel("share of raters on the top emotion")
        ax.set_ylabel("clips")
        ax.yaxis.get_major_locator().set_params(integer=True)
        if len(a):
            ax.axvline(a.mean(), color="black", linestyle=":", linewidth=1.2, label="mean")
            ax.legend(loc="upper left", frameon=False)
        else:
            ax.text(0.5, 0.5, "no rated clips", transform=ax.transAxes, ha="center", va="center")
    return fig


def plot_durations(durations: dict[str, np.ndarray], corpora: list[str], crop: float):
    plt = _pyplot()
    longest = max((float(d.max()) for d in durations.values() if len(d)), default=crop)
    hi = max(longest, crop) * 1.03
    step = max(0.1, float(np.ceil(hi / 60 * 10) / 10))
    edges = np.arange(0, hi + step, step)
    fig, axes = plt.subplots(len(corpora), 1, figsize=(9, max(0.7 + 1.25 * len(corpora), 2.6)), sharex=True,
                             squeeze=False, layout="constrained")
    for ax, c in zip(axes[:, 0], corpora):
        d = durations[c]
        counts, _ = np.histogram(d, bins=edges)
        ax.bar(edges[:-1], counts, width=step, align="edge", color=color(c), edgecolor="white", linewidth=0.4)
        line = ax.axvline(crop, color="#D00000", linestyle="--", linewidth=1.4, label=f"{crop:g} s crop")
        ax.set_ylim(0, max(counts.max() if counts.size else 0, 1) * 1.25)
        ax.yaxis.get_major_locator().set_params(integer=True, nbins=3)
        ax.set_ylabel("clips")
        summary = (f"{title(c)}: {len(d):,} clips, {percent(int((d > crop).sum()), len(d))} cropped, "
                   f"{percent(int((d < crop).sum()), len(d))} padded") if len(d) else f"{title(c)}: 0 clips"
        ax.set_title(summary, loc="left", fontsize=9.5, pad=3)
    fig.legend(handles=[line], loc="outside upper right", frameon=False)
    axes[-1, 0].set_xlim(0, edges[-1])
    axes[-1, 0].set_xlabel("duration (s)")
    return fig


def plot_splits(card: Card):
    plt = _pyplot()
    summary, names = card.splits, card.splits.names
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    for c in card.corpora:
        values = summary.clips.loc[c, names].to_numpy(dtype=float)
        left.bar(x, values, bottom=bottom, color=color(c), label=title(c), width=0.6)
        bottom += values
    top = max(bottom.max(), 1)
    for xi, total in zip(x, bottom):
        left.text(xi, total + top * 0.02, f"{int(total):,}", ha="center", va="bottom", fontsize=9)
    left.set_xticks(x, names)
    left.set_ylim(0, top * 1.15)
    left.set_ylabel("clips")
    left.set_title("clips per split")
    left.yaxis.get_major_locator().set_params(integer=True)
    left.legend(frameon=False, fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.1),
                ncol=min(len(card.corpora), 4))

    genders = card.gender_by_split.reindex(columns=names, fill_value=0)
    width = 0.8 / len(genders)
    top = 1
    for i, g in enumerate(genders.index):
        values = genders.loc[g].to_numpy()
        pos = x - 0.4 + width * (i + 0.5)
        right.bar(pos, values, width=width * 0.92, color=GENDER_COLORS[g], edgecolor="#333333", linewidth=0.6,
                  label=g, hatch="//" if g == "unknown" else None)
        top = max(top, int(values.max()))
        for p, v in zip(pos, values):
            right.text(p, v + 0.02 * top, f"{int(v):,}", ha="center", va="bottom", fontsize=9)
    right.set_xticks(x, names)
    right.set_ylim(0, top * 1.25)
    right.set_ylabel("speakers")
    right.set_title("speakers per split, by gender")
    right.yaxis.get_major_locator().set_params(integer=True)
    right.legend(frameon=False, fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=len(genders))
    return fig


def plot_examples(card: Card, arrays: dict[str, np.ndarray]):
    plt = _pyplot()
    info = card.clips.set_index("sample_id")[["corpus", "labels"]].astype(str)
    cols = EXAMPLES_PER_EMOTION
    # A fixed grid, not constrained layout: laying out 14 axes by constraint costs seconds, this nothing.
    height = 0.75 + 1.6 * len(EMOTIONS)
    fig, axes = plt.subplots(len(EMOTIONS), cols, figsize=(9, height), squeeze=False, sharex=True, sharey=True,
                             gridspec_kw={"left": 0.1, "right": 0.86, "bottom": 0.55 / height,
                                          "top": 1 - 0.3 / height, "wspace": 0.06, "hspace": 0.42})
    image = None
    for r, e in enumerate(EMOTIONS):
        for k in range(cols):
            ax = axes[r, k]
            ids = card.examples.get(e, [])
            if k < len(ids):
                sample_id = ids[k]
                image = ax.imshow(arrays[sample_id], origin="lower", aspect="auto", cmap="magma",
                                  vmin=-1, vmax=1, interpolation="nearest")
                corpus, labels = info.at[sample_id, "corpus"], info.at[sample_id, "labels"].replace("|", "+")
                ax.set_title(f"{sample_id}  ({title(corpus)}; {labels})", fontsize=9)
            else:
                ax.set_facecolor("#F2F2F2")
                ax.text(0.5, 0.5, f"no {'other ' if k else ''}clip labelled {e}", transform=ax.transAxes,
                        ha="center", va="center", fontsize=9, color="#444444")
                ax.set_title(e, fontsize=9)
            if k == 0:
                ax.set_ylabel(f"{e}\nmel band", fontsize=9.5)
            if r == len(EMOTIONS) - 1:
                ax.set_xlabel("frame")
    if image is not None:
        bar = fig.add_axes((0.885, 0.3, 0.018, 0.4))
        fig.colorbar(image, cax=bar, label="scaled log-mel")
    return fig
