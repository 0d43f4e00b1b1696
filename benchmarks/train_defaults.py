"""The evidence behind the training defaults: a few settings side by side on the same shards and split.

Trains each setting of ``SETTINGS`` (and the logistic-regression baseline) on one
shards folder with the manifest's speaker-disjoint split, and prints test macro
F1, mAP and the paper's Eq. 2 next to the trivial all-absent predictor. Figures
are printed, not asserted.

    python benchmarks/train_defaults.py SHARDS_DIR [--out DIR] [--only small-default,full-default]

Without real corpora, build bigger demo shards first:
    python -m aggregate.synth /tmp/big --clips-scale 4
    python -m aggregate manifest --ravdess /tmp/big/ravdess ... -o /tmp/big.parquet
    python -m aggregate render /tmp/big.parquet -o /tmp/big-shards
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import time
from pathlib import Path

from train.run import TrainOptions, baseline_run, train_run

SETTINGS = {
    "small-default": {"small": True},
    "small-bn0.99": {"small": True, "batch_norm_momentum": 0.99},
    "small-lr3e-4": {"small": True, "learning_rate": 3e-4},
    "small-specaug": {"small": True, "spec_augment": True},
    "small-no-weights": {"small": True, "_class_weights": "none"},
    "small-dropout0.1": {"small": True, "dropout": 0.1},
    "full-default": {},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("shards", type=Path)
    parser.add_argument("--out", type=Path, help="keep the run folders here (default: a temp folder)")
    parser.add_argument("--only", help="comma-separated setting names")
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(SETTINGS)
    out = args.out or Path(tempfile.mkdtemp(prefix="train_defaults_"))
    rows = []
    quiet = contextlib.redirect_stdout(io.StringIO())
    with quiet:
        base = baseline_run(TrainOptions(shards=args.shards, out=out / "baseline"))["test"]
    rows.append(("baseline (logistic regression)", base, 0.0))
    for name in names:
        model = dict(SETTINGS[name])
        weights = model.pop("_class_weights", "auto")
        start = time.perf_counter()
        with quiet:
            result = train_run(TrainOptions(shards=args.shards, out=out / name, epochs=args.epochs,
                                            class_weights=weights, model=model))["test"]
        rows.append((name, result, time.perf_counter() - start))
        print(f"done {name}", flush=True)
    trivial = rows[0][1]["trivial"]
    print(f"\n{'setting':32}{'macro F1':>9}{'mAP':>7}{'Eq.2':>7}{'UA':>7}{'seconds':>9}")
    print(f"{'trivial all-absent':32}{trivial['macro_f1']:9.3f}{trivial['mAP']:7.3f}{trivial['paper_accuracy']:7.3f}")
    for name, m, seconds in rows:
        print(f"{name:32}{m['macro_f1']:9.3f}{m['mAP']:7.3f}{m['paper_accuracy']:7.3f}"
              f"{m['single_label']['unweighted_accuracy']:7.3f}{seconds:9.0f}")
    (out / "summary.json").write_text(json.dumps({n: m for n, m, _ in rows}, indent=1))
    print(f"\nrun folders in {out}")


if __name__ == "__main__":
    main()
