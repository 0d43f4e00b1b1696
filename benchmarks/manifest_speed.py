"""How long building the manifest takes for corpora of the real sizes (~22,000 files).

Writes full-size look-alikes of the four corpora, then times ``build_manifest`` on them.
The manifest reads each file's header and hashes its bytes (``file_sha256``, issue 17), so clip
length matters: ``--seconds-scale 1`` writes clips of the real lengths (about 3 GB; the target is
under 20 s on 2 cores), the default 0.01 only the file count. ``--without-hashing`` also times the
same build with the hashing stubbed out, for the cost of hashing alone. Prints the figures; asserts nothing.

    python benchmarks/manifest_speed.py [--keep DIR] [--seconds-scale 1] [--without-hashing]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from aggregate import audio
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
    parser.add_argument("--without-hashing", action="store_true",
                        help="also time the build with the content hash stubbed out (the cost of hashing)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        start = time.perf_counter()
        roots = write_full_size(out, args.seconds_scale)
        size = sum(p.stat().st_size for p in out.rglob("*.wav"))
        print(f"wrote the look-alike corpora ({size / 1e9:.2f} GB of .wav) in {time.perf_counter() - start:.1f} s; "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
        attempts = ["first", "second"] + (["without hashing"] if args.without_hashing else [])
        for attempt in attempts:
            if attempt == "without hashing":
                audio.content_digest = lambda path: (0, "")
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
