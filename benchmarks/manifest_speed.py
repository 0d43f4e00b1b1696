"""How long building the manifest takes for corpora of the real sizes (~22,000 files).

Writes full-size look-alikes of the four corpora with very short audio (the
manifest reads headers only, so clip length does not matter), then times
``build_manifest`` on them. Prints the figures; asserts nothing.

    python benchmarks/manifest_speed.py [--keep DIR]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from aggregate.demo.crema_d import write_crema_d
from aggregate.demo.iemocap import write_iemocap
from aggregate.demo.ravdess import write_ravdess
from aggregate.demo.tess import TESS_DIR, write_tess
from aggregate.manifest.build import build_manifest
from aggregate.manifest.format import write_manifest


def write_full_size(out: Path, seconds_scale: float) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    roots = {"ravdess": out / "ravdess", "tess": out / "tess" / TESS_DIR,
             "crema-d": out / "crema-d", "iemocap": out / "iemocap" / "IEMOCAP_full_release"}
    write_ravdess(roots["ravdess"], rng, actors=24, takes_per_emotion=8, calm_takes=8, seconds_scale=seconds_scale)
    write_tess(roots["tess"], rng, words=200, seconds_scale=seconds_scale)
    write_crema_d(roots["crema-d"], rng, actors=91, sentences=12, all_levels=True, seconds_scale=seconds_scale)
    write_iemocap(roots["iemocap"], rng, sessions=5, dialogs_per_session=30, turns_per_dialog=67,
                  seconds_scale=seconds_scale)
    return roots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, help="write the corpora here and keep them (default: a temp folder)")
    parser.add_argument("--seconds-scale", type=float, default=0.01, help="clip length factor (default 0.01)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        start = time.perf_counter()
        roots = write_full_size(out, args.seconds_scale)
        print(f"wrote the look-alike corpora in {time.perf_counter() - start:.1f} s")
        for attempt in ("first", "second"):
            start = time.perf_counter()
            manifest = build_manifest(roots, progress=False)
            write_manifest(manifest, out / "manifest.parquet")
            seconds = time.perf_counter() - start
            files = len(manifest.clips) + len(manifest.rejects)
            print(f"{attempt} build: {files} files ({len(manifest.clips)} kept) in {seconds:.2f} s "
                  f"= {files / seconds:,.0f} files/s")
        print("(the files were just written, so their headers are in the page cache; "
              "a cold disk adds its seek time, which the 8 header-reading threads overlap)")


if __name__ == "__main__":
    main()
