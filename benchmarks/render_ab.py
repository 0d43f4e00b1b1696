"""This tree's ``render --jobs 2`` against another checkout's (A/B), and its own 1 -> 2 jobs.

Two manifests: the demo corpora at ``--clips-scale`` (10: about 2,000 clips of all four
corpora) and, with ``--ravdess DIR``, real RAVDESS speech (actors 01-12: the ravdess-dev
clips). Each checkout builds its own manifest of the same corpus folders with its own
``python -m aggregate manifest``, then each run is ``python -m aggregate render MANIFEST -o
DIR -q --jobs N``, a fresh process (imports and exit included). The runs take turns
(base, this tree, this tree with --jobs 1, then the next manifest, ...), so a slow spell of
a shared machine slows both sides alike; one untimed run of each comes first. It prints
each side's median and range, the median of the run-by-run ratios, and whether both sides
wrote byte-identical shards.

    python benchmarks/render_ab.py --base ../base [--clips-scale 10] [--ravdess DIR] [--repeats 5]

Targets (issue 18): this tree within 5 % of the base at --jobs 2 on both manifests, and at
least 1.7x from --jobs 1 to --jobs 2 on the 2,000 clips.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))

from benchmarks.render_jobs import _digest  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True, help="the other checkout (its root folder)")
    parser.add_argument("--clips-scale", type=float, default=10.0, help="demo size factor (default 10: ~2,000 clips)")
    parser.add_argument("--ravdess", type=Path, help="a RAVDESS folder (Actor_XX/*.wav) to render as well")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each kind; the median is kept")
    args = parser.parse_args()
    sides = {"base": args.base.resolve(), "this": HERE}
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory(prefix="render_ab_") as tmp:
        tmp = Path(tmp)
        from aggregate.demo.corpora import write_demo_corpora

        corpora = {f"demo x{args.clips_scale:g}": write_demo_corpora(tmp / "demo", clips_scale=args.clips_scale).roots}
        if args.ravdess:
            corpora["ravdess"] = {"ravdess": args.ravdess.resolve()}
        manifests = {(name, side): _manifest(root, roots, tmp / f"{name}-{side}.parquet".replace(" ", "_"), env)
                     for name, roots in corpora.items() for side, root in sides.items()}
        kinds = [(name, side, 2) for name in corpora for side in sides]
        kinds.insert(2, (next(iter(corpora)), "this", 1))  # 1 -> 2 jobs on the demo manifest, this tree
        times = {kind: [] for kind in kinds}
        digests = {}
        print(f"{os.cpu_count()} cores; load average before: {os.getloadavg()[0]:.2f}")
        for repeat in range(-1, args.repeats):  # repeat -1: untimed (bytecode cached, audio in the page cache)
            for number, (name, side, jobs) in enumerate(kinds):
                out = tmp / f"out-{number}-{repeat}"
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "aggregate", "render", str(manifests[name, side]), "-o",
                                str(out), "-q", "--jobs", str(jobs)], check=True, stdout=subprocess.DEVNULL,
                               cwd=sides[side], env=dict(env, PYTHONPATH=str(sides[side])))
                if repeat >= 0:
                    times[name, side, jobs].append(time.perf_counter() - start)
                digests.setdefault((name, side, jobs), _digest(out))
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        for name in corpora:
            base, this = times[name, "base", 2], times[name, "this", 2]
            print(f"{name} ({_clips(manifests[name, 'this'])} clips), --jobs 2: base {_line(base)}; this {_line(this)}; "
                  f"this/base {statistics.median(t / b for t, b in zip(this, base)):.3f} (median run by run)")
            print(f"  shards byte-identical, base and this: {digests[name, 'base', 2] == digests[name, 'this', 2]}")
        name = next(iter(corpora))
        one, two = times[name, "this", 1], times[name, "this", 2]
        print(f"{name}, this tree: --jobs 1 {_line(one)}; speed-up 1 -> 2 jobs {statistics.median(one) / statistics.median(two):.2f}x "
              f"(run by run {statistics.median(a / b for a, b in zip(one, two)):.2f}x); "
              f"shards byte-identical: {digests[name, 'this', 1] == digests[name, 'this', 2]}")


def _manifest(root: Path, roots: dict[str, Path], out: Path, env: dict) -> Path:
    flags = [arg for corpus, folder in roots.items() for arg in (f"--{corpus}", str(folder))]
    subprocess.run([sys.executable, "-m", "aggregate", "manifest", *flags, "-o", str(out), "-q"], check=True,
                   stdout=subprocess.DEVNULL, cwd=root, env=dict(env, PYTHONPATH=str(root)))
    return out


def _clips(manifest: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(manifest).metadata.num_rows


def _line(times: list[float]) -> str:
    return f"{statistics.median(times):.2f} s ({min(times):.2f} to {max(times):.2f})"


if __name__ == "__main__":
    main()
