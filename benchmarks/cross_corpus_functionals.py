"""What weighs clips best when corpora are pooled: the default's functionals view, in seconds, over every fold.

The default model (``fusion``) averages a CNN with a logistic regression on functionals of
the log-mel. The regression needs no network training, so its cross-corpus behaviour can be
measured on every speaker fold in a minute: for each corpus with speaker folds (the plan of
``python -m train benchmark --cross-corpus``), the regression is fitted as ``fusion`` fits it
(C 0.03, one row per clip and emotion) on that corpus's training speakers alone, and on them
plus every other corpus, with each way of weighing the clips, and scored (single-label UA) on
the fold's test speakers. ``--clip-norm`` adds the functionals of the log-mel after
``ClipBandNorm`` (fusion's ``clip_norm=mean``). ``--standardise corpus`` first standardises each
corpus's functionals with that corpus's training clips (normalisation per corpus); ``speaker``
each speaker's with all of that speaker's clips, test speakers included (transductive: a
reference, not something ``predict`` can do on one file). Figures are printed, not asserted.

    python benchmarks/cross_corpus_functionals.py SHARDS_DIR [--folds 4] [--clip-norm]
        [--standardise none|corpus|speaker]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shards", type=Path)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clip-norm", action="store_true", help="also the functionals after ClipBandNorm")
    parser.add_argument("--standardise", choices=("none", "corpus", "speaker"), default="none",
                        help="standardise the functionals per corpus (its training clips) or per speaker first")
    args = parser.parse_args()

    from train.tf_env import import_tensorflow

    import_tensorflow()
    from sklearn.metrics import recall_score

    from aggregate.shards.reading import ShardsFolder
    from train.commands.cross_corpus import plan
    from train.data import load_split, read_all
    from train.balance import equal_shares
    from train.models.features import Functionals
    from train.models.fusion import LOGISTIC_C, fit_logistic
    from train.models.layers import ClipBandNorm

    folder = ShardsFolder.open(args.shards)
    manifest = folder.manifest().clips
    clips = manifest[manifest["sample_id"].isin(set(folder.places))].reset_index(drop=True)
    split = load_split(folder, clips["sample_id"])
    x, y = read_all(split)
    row = {s: i for i, s in enumerate(split.sample_ids)}
    people = np.array([f"{c}/{s}" for c, s in zip(split.corpora, split.speakers)])
    corpora = np.asarray(split.corpora)

    def functionals(inputs):
        layer = Functionals()
        return np.concatenate([np.asarray(layer(inputs[i:i + 128, ..., None])) for i in range(0, len(inputs), 128)])

    views = {"log-mel": functionals(x)}
    if args.clip_norm:
        norm = ClipBandNorm()
        views["clip_norm=mean"] = functionals(np.concatenate(
            [np.asarray(norm(x[i:i + 128, ..., None]))[..., 0] for i in range(0, len(x), 128)]))
    weighings = {"none": lambda i: None, "equal": lambda i: equal_shares(corpora[i]),
                 "speakers": lambda i: equal_shares(people[i])}

    def standardised(features, train):
        """Each group's features with its own reference clips' mean and deviation (``--standardise``)."""
        if args.standardise == "none":
            return features
        reference = np.zeros(len(features), bool)
        reference[train if args.standardise == "corpus" else slice(None)] = True
        groups = corpora if args.standardise == "corpus" else people
        out = features.copy()
        for group in np.unique(groups):
            mine = groups == group
            ref = features[mine & reference] if (mine & reference).any() else features[reference]
            out[mine] = (features[mine] - ref.mean(0)) / (ref.std(0) + 1e-6)
        return out

    def score(features, table, weigh) -> float:
        index = table["sample_id"].map(row)
        train, test = index[table["split"] == "train"].to_numpy(), index[table["split"] == "test"].to_numpy()
        features = standardised(features, train)
        mean, std, kernel, bias = fit_logistic(features[train], y[train], LOGISTIC_C, args.seed, weigh(train))
        single = test[y[test].sum(1) == 1]
        predicted = (((features[single] - mean) / std) @ kernel + bias).argmax(1)  # as fusion's layers
        return recall_score(y[single].argmax(1), predicted, average="macro")

    cells = [c for c in plan(clips, args.folds, args.seed) if c.fold != "whole"]
    print(f"functionals + logistic regression (fusion's second view): single-label UA on unseen speakers, "
          f"mean ± spread over {args.folds} folds (trivial 0.143)")
    for view, features in views.items():
        for name, weigh in weighings.items():
            for column in sorted({c.column for c in cells}):
                results: dict[str, list[float]] = {}
                for cell in (c for c in cells if c.column == column):
                    results.setdefault(cell.row, []).append(score(features, cell.table, weigh))
                shown = "  ".join(f"trained on {r}: {np.mean(v):.3f} ± {np.std(v):.3f} "
                                  f"({' '.join(f'{u:.3f}' for u in v)})" for r, v in results.items())
                print(f"{view:<15} balance {name:<9} tested on {column}: {shown}", flush=True)


if __name__ == "__main__":
    main()
