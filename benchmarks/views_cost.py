"""What each view costs: KB per clip on disk and clips per second, rendering it with --jobs 2.

For each view of the registry (``aggregate.views.VIEWS``): log_mel is timed as a render of a new
folder (``render MANIFEST -o DIR --views log_mel``); every other view as adding it to that folder
(``--views NAME``), which renders that view alone, so its clips/s is its own cost (the clip's bytes
read and checked, decoded, the view computed and written). Each is the whole command in a fresh
process, as a user runs it; the median of ``--repeats`` runs. KB per clip: the view's shard files
(with their checksums) over the clips. A view whose packages are missing, or that fails, is
reported as skipped with the reason.

    python benchmarks/views_cost.py --ravdess /work/data/ravdess [--jobs 2] [--repeats 3]

Issue 19, item 6: the figures go in docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ravdess", type=Path, required=True, help="a RAVDESS folder (Actor_XX/*.wav)")
    parser.add_argument("--jobs", type=int, default=2, help="render worker processes (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each view; the median is kept")
    parser.add_argument("--views", default=None, help="comma-separated views to measure (default: every registered one)")
    parser.add_argument("--view-option", action="append", default=[], metavar="VIEW.FIELD=VALUE",
                        help="passed to render for that view, e.g. embedding.model_dir=DIR (the embedding needs it)")
    args = parser.parse_args()

    from aggregate.errors import InputError
    from aggregate.views import VIEWS, check_installed, parse_views

    names = args.views.split(",") if args.views else list(VIEWS)
    env = dict(os.environ, PYTHONPATH=str(HERE))
    with tempfile.TemporaryDirectory(prefix="views_cost_") as tmp:
        tmp = Path(tmp)
        manifest = tmp / "ravdess.parquet"
        _run(["manifest", "--ravdess", str(args.ravdess.resolve()), "-o", str(manifest), "-q"], env)
        clips = _clips(manifest)
        print(f"{clips} RAVDESS clips, --jobs {args.jobs}, {os.cpu_count()} cores; "
              f"load average before: {os.getloadavg()[0]:.2f}")
        base = tmp / "log_mel"  # a finished log-mel folder the other views are added to
        _render(manifest, base, "log_mel", args.jobs, env)
        for name in ["log_mel"] + [n for n in names if n != "log_mel"]:
            if name not in names:
                continue
            options = [o for o in args.view_option if o.split(".", 1)[0] == name]
            try:
                check_installed(parse_views(name, {name: dict(o.split(".", 1)[1].split("=", 1) for o in options)}
                                            if options else None))
            except InputError as err:
                print(f"{name:>10}: skipped ({err})")
                continue
            except (TypeError, ValueError) as err:  # a view whose default config cannot be made here
                print(f"{name:>10}: skipped (its default config: {err})")
                continue
            times, size = [], None
            for _ in range(args.repeats):
                out = tmp / f"out-{name}"
                shutil.rmtree(out, ignore_errors=True)
                if name != "log_mel":
                    shutil.copytree(base, out)
                start = time.perf_counter()
                failed = _render(manifest, out, name, args.jobs, env, options)
                times.append(time.perf_counter() - start)
                if failed:
                    break
                folder = out if name == "log_mel" else out / name
                size = sum(p.stat().st_size for p in folder.glob("shard-*.h5*"))
            if failed:
                print(f"{name:>10}: skipped (render failed: {failed.strip().splitlines()[-1][:200]})")
                continue
            median = statistics.median(times)
            print(f"{name:>10}: {size / clips / 1024:8.1f} KB per clip, {clips / median:7.1f} clips/s "
                  f"(median {median:.1f} s, {min(times):.1f} to {max(times):.1f}; whole command)")
        print(f"load average after: {os.getloadavg()[0]:.2f}")


def _render(manifest: Path, out: Path, view: str, jobs: int, env: dict, options: list[str] = ()) -> str:
    """Render (or add) ``view`` (``options``: its --view-option values); '' when it went well, else its error output."""
    extra = [arg for option in options for arg in ("--view-option", option)]
    result = subprocess.run([sys.executable, "-m", "aggregate", "render", str(manifest), "-o", str(out),
                             "--views", view, "-q", "--jobs", str(jobs), *extra], capture_output=True, text=True,
                            env=env)
    return "" if result.returncode == 0 else (result.stderr or result.stdout or "failed")


def _run(args: list[str], env: dict) -> None:
    subprocess.run([sys.executable, "-m", "aggregate", *args], check=True, stdout=subprocess.DEVNULL, env=env)


def _clips(manifest: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(manifest).metadata.num_rows


if __name__ == "__main__":
    main()
