"""Does ``--jobs 2`` keep two workers busy on a small manifest? Whole processes, imports included.

Writes demo corpora (``--clips-scale 2``: about 400 clips of all four corpora), builds
their manifest, then times ``python -m aggregate render MANIFEST -o DIR -q --jobs N``
as a fresh process for each N, checks that every N wrote byte-identical shards, and
prints the speed-up over ``--jobs 1``. The runs take turns (1, 2, 1, 2, ...), so a
machine that slows down for a while (a shared VM) slows every N alike; each N's time is
the median of ``--repeats`` runs, printed with their range and the CPU seconds they used.
One untimed run of each N comes first, and the runs may write Python's bytecode cache
even where PYTHONDONTWRITEBYTECODE is set (as in some sandboxes and CI images): without
it every run would compile the package's modules again (about 0.05 s), which an
installed package does not do.

    python benchmarks/render_jobs.py [--clips-scale 2] [--jobs 1 2] [--repeats 7]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aggregate.demo.corpora import write_demo_corpora  # noqa: E402
from aggregate.manifest.build import build_manifest  # noqa: E402
from aggregate.manifest.format import write_manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips-scale", type=float, default=2.0, help="demo size factor (default 2: ~400 clips)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="--jobs values to time (default: 1 2)")
    parser.add_argument("--repeats", type=int, default=7, help="runs per --jobs value; the median is kept")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="render_jobs_") as tmp:
        tmp = Path(tmp)
        demo = write_demo_corpora(tmp / "corpora", clips_scale=args.clips_scale)
        manifest = build_manifest(demo.roots, progress=False)
        path = write_manifest(manifest, tmp / "manifest.parquet")
        print(f"{len(manifest.clips)} clips ({', '.join(f'{c} {n}' for c, n in manifest.clips.corpus.value_counts().items())}), "
              f"{os.cpu_count()} cores")
        env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
        for jobs in args.jobs:  # untimed: bytecode cached, audio in the page cache
            _render(path, tmp / f"warm-{jobs}", jobs, env)
        runs = {jobs: [] for jobs in args.jobs}
        cpu = {jobs: [] for jobs in args.jobs}
        digests = {}
        for repeat in range(args.repeats):
            for jobs in args.jobs:
                out = tmp / f"shards-{jobs}-{repeat}"
                used = _children_cpu()
                start = time.perf_counter()
                _render(path, out, jobs, env)
                runs[jobs].append(time.perf_counter() - start)
                cpu[jobs].append(_children_cpu() - used)
                digests.setdefault(jobs, _digest(out))
        seconds = {jobs: statistics.median(times) for jobs, times in runs.items()}
        for jobs in args.jobs:
            print(f"--jobs {jobs}: {seconds[jobs]:6.2f} s  ({len(manifest.clips) / seconds[jobs]:6.1f} clips/s; "
                  f"runs {min(runs[jobs]):.2f} to {max(runs[jobs]):.2f} s; "
                  f"CPU {statistics.median(cpu[jobs]):.2f} s)")
        base = args.jobs[0]
        for jobs in args.jobs[1:]:
            ratios = sorted(a / b for a, b in zip(runs[base], runs[jobs]))
            print(f"speed-up --jobs {jobs} over --jobs {base}: {seconds[base] / seconds[jobs]:.2f}x "
                  f"(run by run: {ratios[0]:.2f}x to {ratios[-1]:.2f}x)")
        print("shards byte-identical across --jobs:", len(set(digests.values())) == 1)


def _render(manifest: Path, out: Path, jobs: int, env: dict) -> None:
    subprocess.run([sys.executable, "-m", "aggregate", "render", str(manifest), "-o", str(out), "-q",
                    "--jobs", str(jobs)], check=True, stdout=subprocess.DEVNULL, env=env)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for shard in sorted(folder.glob("shard-*.h5")):
        digest.update(shard.read_bytes())
    return digest.hexdigest()


if __name__ == "__main__":
    main()
