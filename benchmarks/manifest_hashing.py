"""What hashing every audio file costs the manifest (issue 17: the chain of custody from audio to shards).

The manifest records each file's size and SHA-256 so that render can refuse a file replaced since.
This prints (1) how fast SHA-256 and BLAKE2b hash on this CPU, one thread and the two threads the
manifest probes with, and (2) the bytes/s that leaves for a corpus of the real size: about 22,000
files, 3 GB, which built in 14 s before hashing and must stay under 20 s on 2 cores. For the build
itself at full size run ``python benchmarks/manifest_speed.py --seconds-scale 1`` (it writes ~3 GB of
look-alike audio first). Prints figures; asserts nothing.

    python benchmarks/manifest_hashing.py [--megabytes 256]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor

CLIP = 136 * 1024  # 3 GB / 22,000 files: the mean file of the four corpora


def rate(name: str, clips: list[bytes], threads: int) -> float:
    def digest(part):
        for data in part:
            hashlib.new(name, data).hexdigest()

    parts = [clips[i::threads] for i in range(threads)]
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(digest, parts))
    return sum(map(len, clips)) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=256, help="data hashed per figure (default 256)")
    args = parser.parse_args()
    clips = [os.urandom(CLIP) for _ in range(args.megabytes * 2**20 // CLIP)]
    print(f"{len(clips)} clips of {CLIP // 1024} KB, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    for name in ("sha256", "blake2b"):
        for threads in (1, 2):
            speed = max(rate(name, clips, threads) for _ in range(3))
            print(f"{name:8} {threads} thread(s): {speed / 1e9:5.2f} GB/s -> 3 GB in {3e9 / speed:5.2f} s")


if __name__ == "__main__":
    main()
