"""The figures of a training run (train/report.py): what they show can be read."""
from __future__ import annotations

import numpy as np


def test_the_per_corpus_legend_covers_no_bar(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from train.metrics import evaluate
    from train.report import plot_per_corpus

    rng = np.random.default_rng(0)
    y = np.zeros((60, 7), int)
    y[np.arange(60), rng.integers(0, 7, 60)] = 1
    scores = np.clip(y * 0.9 + rng.random((60, 7)) * 0.2, 0, 1)  # a good model: bars near the top
    metrics = evaluate(y, scores, 0.5, ["a"] * 20 + ["b"] * 20 + ["c"] * 20)
    closed = []
    close = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: (closed.append((fig, fig.canvas.get_renderer())), close(fig)))
    assert plot_per_corpus(metrics, tmp_path / "plot.png", "t").is_file()
    [(fig, renderer)] = closed  # as saved
    [ax] = fig.axes
    legend = ax.get_legend().get_window_extent(renderer)
    bars = [patch.get_window_extent(renderer) for patch in ax.patches if patch.get_height() > 0]
    assert len(bars) == 9 and min(bar.height for bar in bars) > 0.5 * max(bar.height for bar in bars)
    assert not [bar for bar in bars if legend.overlaps(bar)], "the legend covers bars"
    assert fig.bbox.contains(legend.x0, legend.y0) and fig.bbox.contains(legend.x1, legend.y1)  # and is seen
