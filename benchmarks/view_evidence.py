"""Which view helps: each view alone with a linear model, and fusions, on speaker folds (issue 19, item 5).

    python benchmarks/view_evidence.py SHARDS_DIR --root ravdess=DIR [--cache DIR] [--fusion-runs DIR] [--folds 4]

SHARDS_DIR: a log-mel shards folder (e.g. the ravdess-dev clips: `python -m aggregate manifest --ravdess
DIR`, then `render`). Its folds are those `python -m train --split-strategy kfold --folds K --fold F`
uses (the same function, the same seed): models train on the fold's training split (8 of the 12
ravdess-dev actors), are scored on its test split (3 unseen actors); validation (1 actor) is unused.
The views are computed by the project's own view modules (aggregate/views/) from the clips the
shards' manifest names, so they are the values a render with `--views egemaps,compare` stores;
they are cached in --cache (keyed by the view's config hash and the shards' index).

Rows (test single-label UA per fold, then mean and spread = population standard deviation over folds):
* trivial: the training split's emotion rates for every clip (UA 1/7);
* `train baseline`: train.commands.baseline.baseline_scores, exactly (band mean/std, LR per emotion);
* one view, one linear model: standardised, multinomial logistic regression with balanced classes, its
  C chosen by grouped cross-validation over the training actors only (never the test actors);
  log-mel functionals are the default's (train.models.features.Functionals, 1,785 a clip);
* fusions: views side by side in one linear model, and probability averages of separate models;
  with --fusion-runs (a folder holding fold0..foldK-1 of `python -m train --split-strategy kfold`,
  the default model), the default itself and its CNN (the model's `cnn` layer) beside the views.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

C_GRID = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1)  # strong to mild L2: 88 to 8,000 features, ~400 clips


def view_values(shards, clips, name: str, cache: Path, roots: dict[str, str]) -> np.ndarray:
    """(clips, ...) float32: the view ``name`` of every clip, computed as a render would, cached."""
    from aggregate.views import DecodedClip, parse_views

    (view,) = parse_views(name)
    index = hashlib.sha256((shards.path / "index.json").read_bytes()).hexdigest()
    key = hashlib.sha256((view.config_hash() + index + ",".join(clips["sample_id"])).encode()).hexdigest()
    path = cache / f"{name}-{key[:16]}.npy"
    if path.exists():
        return np.load(path)
    manifest = shards.manifest()
    roots = {**manifest.meta["roots"], **roots}  # the copy in a shards folder names each root by its corpus
    max_duration = (manifest.meta.get("policy") or {}).get("max_duration")
    recipe = shards.recipe  # which corpora are noisy, the noise gate: as the folder was rendered
    values, start = [], time.perf_counter()
    for i, row in enumerate(clips.itertuples()):
        clip = DecodedClip(Path(roots[row.corpus]) / row.path, row.corpus, recipe,
                           (int(row.file_bytes), row.file_sha256), max_duration)
        values.append(view.compute(clip))
        if (i + 1) % 100 == 0:
            print(f"{name}: {i + 1}/{len(clips)} clips, {(i + 1) / (time.perf_counter() - start):.1f} clips/s",
                  file=sys.stderr, flush=True)
    out = np.stack(values).astype(np.float32)
    np.save(path, out)
    return out


def log_mel_functionals(log_mel: np.ndarray) -> np.ndarray:
    """The default model's functionals of the stored log-mel (its Keras layer, run eagerly)."""
    from train.models.features import Functionals

    layer = Functionals()
    return np.concatenate([np.asarray(layer(log_mel[i:i + 64, ..., None])) for i in range(0, len(log_mel), 64)])


class RowSpace:
    """Project standardised features onto the span of the training rows (a thin SVD).

    With fewer clips than features (416 against 6,373), an L2-penalised linear model's weights lie in that
    span (any part outside it adds penalty and changes no prediction), so fitting on the projection gives
    the same optimum, and the same predictions, 15 times faster. With more clips than features: unchanged."""

    def fit(self, x, y=None):
        self.basis = None
        if x.shape[0] < x.shape[1]:  # the row span's orthonormal basis, from the small Gram matrix
            w, u = np.linalg.eigh(x @ x.T)
            keep = w > 1e-9 * w.max()
            self.basis = x.T @ (u[:, keep] / np.sqrt(w[keep]))
        return self

    def transform(self, x):
        return x if self.basis is None else x @ self.basis

    def fit_transform(self, x, y=None):
        return self.fit(x).transform(x)

    def get_params(self, deep=True):  # scikit-learn's pipeline protocol
        return {}

    def set_params(self, **params):
        return self


def fit_linear(x_train, y_train, groups, x_test, seed: int) -> tuple[np.ndarray, float]:
    """Probabilities on ``x_test`` of a standardised multinomial LR, C chosen by grouped CV on training."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def model(c):
        return make_pipeline(StandardScaler(), RowSpace(), LogisticRegression(
            C=c, class_weight="balanced", max_iter=3000, random_state=seed))

    inner = GroupKFold(n_splits=4)
    scores = []
    for c in C_GRID:
        ua = []
        for tr, va in inner.split(x_train, y_train, groups):
            guess = model(c).fit(x_train[tr], y_train[tr]).predict(x_train[va])
            ua.append(np.mean([np.mean(guess[y_train[va] == k] == k) for k in np.unique(y_train[va])]))
        scores.append(np.mean(ua))
    best = C_GRID[int(np.argmax(scores))]
    fit = model(best).fit(x_train, y_train)
    proba = np.zeros((len(x_test), 7))
    proba[:, fit.classes_] = fit.predict_proba(x_test)
    return proba, best


def model_head(x_train, labels_train, x_test, seed: int) -> np.ndarray:
    """The logistic regression ``fusion-compare`` fits (train.models.fusion.logistic_head), on ``x_test``."""
    from train.models.fusion import COMPARE_C, logistic_head

    scale, logistic = logistic_head(x_train, labels_train, COMPARE_C, seed, balanced=True)
    return np.asarray(logistic(scale(x_test)))


def ua(labels: np.ndarray, scores: np.ndarray) -> float:
    from train.metrics import evaluate

    return evaluate(labels, scores)["single_label"]["unweighted_accuracy"]


def cnn_and_default(run: Path, log_mel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The trained default's probabilities and its CNN branch's (the layer ``cnn``) on ``log_mel``."""
    import keras

    import train.models.features  # noqa: F401  (registers the layers the saved model uses)
    import train.models.layers  # noqa: F401

    model = keras.saving.load_model(run / "model.keras", safe_mode=True)
    both = keras.Model(model.inputs, [model.output, model.get_layer("cnn").output])
    default, cnn = both.predict(log_mel[..., None], batch_size=64, verbose=0)
    return default, cnn


def main(argv=None) -> int:
    from threadpoolctl import threadpool_limits

    # One BLAS thread: on 2 cores shared with other jobs, two threads spin against each other (measured:
    # a 416 x 6,373 logistic regression took 21 s with two, 5 s with one).
    threadpool_limits(limits=1)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shards", type=Path)
    parser.add_argument("--cache", type=Path, default=Path("view-evidence-cache"))
    parser.add_argument("--fusion-runs", type=Path, default=None,
                        help="folder with fold0..foldK-1: run folders of the default model on these folds")
    parser.add_argument("--root", action="append", default=[], metavar="CORPUS=DIR",
                        help="where a corpus's audio is (the shards' manifest copy keeps no folder), as for render")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from aggregate.manifest.split_config import SplitConfig
    from train.commands.baseline import baseline_scores
    from train.data import read_all
    from train.inputs import TrainOptions, load_splits, open_inputs

    args.cache.mkdir(parents=True, exist_ok=True)
    options = TrainOptions(shards=args.shards, out=args.cache / "unused", split=SplitConfig(
        strategy="kfold", folds=args.folds, fold=0, seed=args.seed), seed=args.seed)
    shards, clips, _ = open_inputs(options)
    everything = load_splits(shards, options, clips.assign(split="train"))["train"]  # sample_id order
    log_mel, labels = read_all(everything)
    order = clips.set_index("sample_id").loc[everything.sample_ids].reset_index()
    speakers = order["speaker"].to_numpy()
    y = labels.argmax(1)
    print(f"{len(order)} clips, {len(set(speakers))} speakers, {args.folds} folds; load: "
          f"{open('/proc/loadavg').read().split()[:3]}", file=sys.stderr)

    # openSMILE before TensorFlow: its library crashes (malloc) in a process that loaded TensorFlow first
    features = {name: view_values(shards, order, name, args.cache, dict(r.split("=", 1) for r in args.root))
                for name in ("egemaps", "compare")}
    features = {"log-mel functionals": log_mel_functionals(log_mel), **features}

    rows: dict[str, list[float]] = {}
    chosen: dict[str, list[float]] = {}

    def add(name, labels_test, scores):
        rows.setdefault(name, []).append(ua(labels_test, scores))

    for fold in range(args.folds):
        options = TrainOptions(shards=args.shards, out=args.cache / "unused", seed=args.seed, split=SplitConfig(
            strategy="kfold", folds=args.folds, fold=fold, seed=args.seed))
        _, fold_clips, _ = open_inputs(options)
        split = fold_clips.set_index("sample_id").loc[order["sample_id"], "split"].to_numpy()
        train, test = split == "train", split == "test"
        lt = labels[test]
        rates = labels[train].mean(0)
        add("trivial (training rates)", lt, np.tile(rates, (test.sum(), 1)))
        data = load_splits(shards, options, fold_clips)
        base = baseline_scores(data)
        add("`train baseline` (band mean/std, LR per emotion)", data["test"].labels, base["test"])

        proba = {}
        for name, x in [*features.items(),
                        ("compare + log-mel functionals", np.hstack([features["compare"], features["log-mel functionals"]])),
                        ("compare + egemaps", np.hstack([features["compare"], features["egemaps"]]))]:
            proba[name], c = fit_linear(x[train], y[train], speakers[train], x[test], args.seed)
            chosen.setdefault(name, []).append(c)
            add(f"{name}, LR" if "+" not in name else f"{name} side by side, one LR", lt, proba[name])
        add("mean of compare LR and log-mel functionals LR", lt,
            (proba["compare"] + proba["log-mel functionals"]) / 2)
        add("mean of compare LR and egemaps LR", lt, (proba["compare"] + proba["egemaps"]) / 2)
        if args.fusion_runs is not None:
            run = args.fusion_runs / f"fold{fold}"
            import pandas as pd

            used = pd.read_csv(run / "splits.csv").set_index("sample_id").loc[order["sample_id"], "split"].to_numpy()
            if not (used == split).all():
                raise SystemExit(f"error: {run}/splits.csv is not fold {fold} of these shards; train it with "
                                 f"--split-strategy kfold --folds {args.folds} --fold {fold} --seed {args.seed}")
            default, cnn = cnn_and_default(run, log_mel[test])
            add("default `fusion` (CNN + log-mel functionals LR), trained by python -m train", lt, default)
            add("its CNN alone", lt, cnn)
            add("mean of its CNN and compare LR", lt, (cnn + proba["compare"]) / 2)
            head = model_head(features["compare"][train], labels[train], features["compare"][test], args.seed)
            add("its CNN and compare LR at C = COMPARE_C (the model's head), mean", lt, (cnn + head) / 2)
            # the default's functionals LR alone: the default is the mean of it and the CNN
            add("its CNN, its log-mel functionals LR, compare LR (C = COMPARE_C): mean of the three", lt,
                (2 * default + head) / 3)
            add("the default and compare LR (C = COMPARE_C), mean", lt, (default + head) / 2)
            add("mean of its CNN and (compare + log-mel functionals) LR", lt,
                (cnn + proba["compare + log-mel functionals"]) / 2)
            add("mean of the default and compare LR", lt, (default + proba["compare"]) / 2)
            add("mean of its CNN, compare LR, egemaps LR", lt, (cnn + proba["compare"] + proba["egemaps"]) / 3)
        print(f"fold {fold} done: " + ", ".join(f"{k.split(',')[0]} {v[-1]:.3f}" for k, v in list(rows.items())[:6]),
              file=sys.stderr, flush=True)

    print(f"\nTest single-label UA on {args.folds} speaker folds of {args.shards} (train split only; mean ± "
          f"population std over folds); load {open('/proc/loadavg').read().split()[:3]}\n")
    print("| setting | " + " | ".join(f"fold {f}" for f in range(args.folds)) + " | mean | spread |")
    print("|---|" + "---|" * (args.folds + 2))
    for name, values in rows.items():
        v = np.array(values)
        print(f"| {name} | " + " | ".join(f"{x:.3f}" for x in v) + f" | {v.mean():.3f} | {v.std():.3f} |")
    print("\nC chosen per fold (grouped CV over the training actors): "
          + "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in chosen.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
