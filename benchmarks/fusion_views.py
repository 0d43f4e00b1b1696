"""Each view of a trained ``fusion`` model on its own: the CNN, the functionals' regression, and their mean.

The default model averages two probability vectors (``train/models/fusion.py``); a run's
report gives only their mean. This prints, per run folder, the single-label UA of the test
split's clips of ``--corpus`` (default: every corpus) for the CNN's softmax (layer ``cnn``),
the regression on functionals (layer ``logistic``) and the model's output, so that a change
can be traced to the view it moved (docs/benchmarks.md, cross-corpus). Figures are printed.

    python benchmarks/fusion_views.py SHARDS_DIR RUN_DIR [RUN_DIR ...] [--corpus ravdess]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shards", type=Path)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("--corpus", help="only the test clips of this corpus")
    args = parser.parse_args()

    import keras
    import pandas as pd
    from sklearn.metrics import recall_score

    from aggregate.shards.reading import ShardsFolder
    from train.data import load_split, read_all
    from train.run_folder import RunFolder

    folder = ShardsFolder.open(args.shards)
    for path in args.runs:
        run = RunFolder.open(path)
        splits = pd.read_csv(run.path / RunFolder.SPLITS)
        test = splits[(splits["split"] == "test") & ((splits["corpus"] == args.corpus) if args.corpus else True)]
        x, y = read_all(load_split(folder, test["sample_id"]))
        single = y.sum(1) == 1
        model = run.load_model()
        names = [name for name in ("cnn", "logistic") if name in {layer.name for layer in model.layers}]
        views = keras.Model(model.input, [model.get_layer(n).output for n in names] + [model.output])
        outputs = views.predict(x[..., None], verbose=0, batch_size=64)
        truth = y[single].argmax(1)
        print(f"{path}: " + "  ".join(
            f"{name} UA {recall_score(truth, np.asarray(out)[single].argmax(1), average='macro'):.3f}"
            for name, out in zip(names + ["fusion"], outputs)) + f"  ({int(single.sum())} clips)", flush=True)


if __name__ == "__main__":
    main()
