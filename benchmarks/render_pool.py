"""The render command end to end: naive chain vs `render` with 1 and 2 workers, shard size, reads.

On the demo corpora written at a larger size (a four-corpus mix, real layouts),
this prints, in one run:
  (a) the seed code's chain (librosa.load, noisereduce defaults, melspectrogram,
      power_to_db, min-max), one process, clips/s;
  (b) `render_shards` with --jobs 1 and --jobs 2 (decode, features, HDF5 writing),
      clips/s, the ratios b1/a and b2/b1, and max |a - b| before float16 storage;
  (c) the float16 + lzf shard bytes per clip;
  (d) random single-sample reads from the shards per second (one process, h5py).
Figures are printed, not asserted. Targets: b1/a >= 3, b2/b1 >= 1.7, <= 75 KB/clip,
>= 5,000 reads/s.

    python benchmarks/render_pool.py [--clips-scale 3]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # the naive chain gets one thread, like a pool worker

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import h5py  # noqa: E402
import numpy as np  # noqa: E402

from aggregate.demo.corpora import write_demo_corpora  # noqa: E402
from aggregate.manifest.build import build_manifest  # noqa: E402
from aggregate.manifest.format import write_manifest
from aggregate.recipe import FeatureConfig, render_clip  # noqa: E402
from aggregate.recipe.reference import seed_chain  # noqa: E402
from aggregate.render.run import render_shards  # noqa: E402
from aggregate.shards.reading import ShardsFolder  # noqa: E402
from aggregate.shards.storage import StorageConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips-scale", type=float, default=3.0, help="demo size factor (default 3: ~600 clips)")
    parser.add_argument("--reads", type=int, default=5000, help="random reads to time (default 5000)")
    args = parser.parse_args()
    config = FeatureConfig()
    with tempfile.TemporaryDirectory(prefix="render_pool_") as tmp:
        tmp = Path(tmp)
        demo = write_demo_corpora(tmp / "corpora", clips_scale=args.clips_scale)
        manifest = build_manifest(demo.roots, progress=False)
        manifest_path = write_manifest(manifest, tmp / "manifest.parquet")
        clips = [(str(Path(manifest.meta["roots"][c]) / p), c) for c, p in zip(manifest.clips.corpus, manifest.clips.path)]
        noisy = sum(c in config.noisy_corpora for _, c in clips)
        print(f"{len(clips)} clips, {noisy} of them noisy (IEMOCAP, CREMA-D), {os.cpu_count()} cores")

        rates = {}
        # (b) before (a): the naive chain imports torch (through noisereduce). The order mattered to the
        # fork pool this was written for; joblib's loky workers (aggregate/render/pool.py) start fresh either way.
        for label, jobs in [("1", 1), ("2", 2)]:
            start = time.perf_counter()
            render_shards(manifest_path, tmp / f"shards-{label}", config, StorageConfig(shard_size=64), jobs=jobs,
                          progress=False)
            rates[label] = len(clips) / (time.perf_counter() - start)
            print(f"(b) render --jobs {label + ':':8}        {rates[label]:7.1f} clips/s")
        start = time.perf_counter()
        reference = [seed_chain(path, corpus in config.noisy_corpora) for path, corpus in clips]
        naive_rate = len(clips) / (time.perf_counter() - start)
        print(f"(a) naive chain, one process:   {naive_rate:7.1f} clips/s")

        diff = max(float(np.abs(render_clip(p, c, config) - ref).max()) for (p, c), ref in zip(clips[:60], reference))
        print(f"    render --jobs 1 / naive: {rates['1'] / naive_rate:.2f}x;  --jobs 2 / --jobs 1: "
              f"{rates['2'] / rates['1']:.2f}x;  "
              f"max |naive - render| (first 60 clips, float32): {diff:.1e}")

        folder = tmp / "shards-1"
        index = ShardsFolder.open(folder).index
        size = sum(s["bytes"] for s in index["shards"]) / len(index["samples"])
        print(f"(c) shard bytes per clip (float16 + lzf, with labels and ids): {size / 1000:.1f} KB")

        print(f"(d) random single-sample reads, one process: {random_reads(folder, index, args.reads):,.0f} samples/s "
              "(lzf)")
        plain = tmp / "uncompressed"  # the same arrays stored as --feature compression=none would
        plain.mkdir()
        for shard in index["shards"]:
            with h5py.File(folder / shard["name"], "r") as src, h5py.File(plain / shard["name"], "w") as dst:
                dst.create_dataset("features", data=src["features"][:], chunks=(1, *config.shape))
        print(f"    the same, uncompressed (111 KB per clip): {random_reads(plain, index, args.reads):,.0f} samples/s")


def random_reads(folder: Path, index: dict, n: int) -> float:
    """Samples per second, reading one spectrogram at a time at random places (open files kept)."""
    files = [h5py.File(folder / s["name"], "r") for s in index["shards"]]
    datasets = {s["name"]: f["features"] for s, f in zip(index["shards"], files)}
    places = list(index["samples"].values())
    picks = [places[i] for i in np.random.default_rng(0).integers(0, len(places), n)]
    start = time.perf_counter()
    for name, row in picks:
        datasets[name][row]
    rate = n / (time.perf_counter() - start)
    for f in files:
        f.close()
    return rate


if __name__ == "__main__":
    main()
