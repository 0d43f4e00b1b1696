"""``python -m train baseline``: the floor a network must beat, on the same shards and split.

One logistic regression per emotion (balanced classes, C = 0.1, standardised inputs)
on each clip's per-band mean and standard deviation over time. Its files go beside a
trained run in the same folder (``baseline_*``), or into a folder of their own.
"""
from __future__ import annotations

import numpy as np

from aggregate.vocabulary import EMOTIONS, HELD_OUT_SPLITS
from aggregate.manifest.split_files import split_table, write_splits

from ..data import SplitData, read_all
from ..inputs import TrainOptions, load_splits, open_inputs
from ..metrics import evaluate, format_report, tune_thresholds
from ..run_folder import RunFolder


def band_statistics(features: np.ndarray) -> np.ndarray:
    """Per clip, each mel band's mean and standard deviation over time: (N, 2 x n_mels)."""
    return np.concatenate([features.mean(axis=2), features.std(axis=2)], axis=1)


def baseline_scores(data: dict[str, SplitData]) -> dict[str, np.ndarray]:
    """Fit on ``data["train"]``; (N, 7) probabilities for every split in ``data``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    stats = {name: band_statistics(read_all(split)[0]) for name, split in data.items()}
    scores = {name: np.zeros((len(split), len(EMOTIONS))) for name, split in data.items()}
    for e in range(len(EMOTIONS)):
        y = data["train"].labels[:, e]
        if y.min() == y.max():  # one class only in training: predict its rate
            for name in scores:
                scores[name][:, e] = float(y.mean())
            continue
        fit = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced", C=0.1))
        fit.fit(stats["train"], y)
        for name in scores:
            scores[name][:, e] = fit.predict_proba(stats[name])[:, 1]
    return scores


def baseline_run(options: TrainOptions) -> dict:
    """The floor a network must beat (``baseline_scores``), on the same shards and split."""
    shards, clips, split_source = open_inputs(options)
    data = load_splits(shards, options, clips)  # each shard's layout checked before --out is touched
    run = RunFolder.join(options.out)  # beside a trained run in the same folder, or on its own
    table = split_table(clips, clips["split"])
    run.write(RunFolder.BASELINE_SPLITS, lambda tmp: write_splits(table, tmp, speaker_disjoint=options.speaker_disjoint))
    scores = baseline_scores(data)
    thresholds = tune_thresholds(data["val"].labels, scores["val"]) if options.tune_thresholds \
        else np.full(len(EMOTIONS), 0.5)
    results = {}
    for name in HELD_OUT_SPLITS:
        results[name] = evaluate(data[name].labels, scores[name], thresholds, data[name].corpora)
        run.write_json(RunFolder.BASELINE_METRICS_VAL if name == "val" else RunFolder.BASELINE_METRICS_TEST,
                       results[name])
    run.write_json(RunFolder.BASELINE_CONFIG, {"split": split_source, "shards": str(shards.path.resolve()),
                                               "model": "logistic regression on per-band mean and std"})
    text = f"baseline, validation\n{format_report(results['val'])}\n\nbaseline, test\n{format_report(results['test'])}\n"
    run.write_text(RunFolder.BASELINE_REPORT, text)
    print(text)
    return results
