"""A disk that fills while a shard is written (issue 17): once the right line was printed, the process
segfaulted (exit 139) as HDF5 retried its flush at exit, and left the half-written temporary shard.
A file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored) makes the same write fail without root or a
small file system; the check before writing sees plenty of free space, as when another process
fills the disk meanwhile."""
from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys

import pytest
from helpers import PROJECT

SCRIPT = """
import shutil, sys
from collections import namedtuple
shutil.disk_usage = lambda path: namedtuple("usage", "total used free")(1 << 40, 0, 1 << 40)
from aggregate.cli import main
sys.exit(main(["render", sys.argv[1], "-o", sys.argv[2], "-j", "1", "--shard-size", "64", "-q"]))
"""


def limit_file_size(size: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG, as with ENOSPC
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return apply


@pytest.mark.slow
@pytest.mark.parametrize("limit", [200_000, 1_000_000])
def test_a_write_that_fails_mid_shard_ends_cleanly(small_manifest, tmp_path, limit):
    out = tmp_path / "shards"
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(small_manifest), str(out)], capture_output=True,
                            text=True, env=dict(os.environ, PYTHONPATH=str(PROJECT)), preexec_fn=limit_file_size(limit))
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])  # not 139
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot write {out / 'shard-00000.h5'}"), result.stderr
    assert sorted(p.name for p in out.iterdir()) == [".aggregate-shards", ".render.lock", "manifest.parquet",
                                                     "manifest.rejects.csv", "plan.json"]  # nothing half-written
    rerun = subprocess.run([sys.executable, "-m", "aggregate", "render", str(small_manifest), "-o", str(out), "-j", "1",
                            "--shard-size", "64", "-q"], capture_output=True, text=True,
                           env=dict(os.environ, PYTHONPATH=str(PROJECT)))
    assert rerun.returncode == 0, rerun.stderr  # room again: the same command finishes the folder
