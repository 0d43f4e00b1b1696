"""Errors a script can read (issue 17): under --json an error prints one JSON object on stdout with
"ok": false and the error, besides the one line on stderr, and the exit status is non-zero. Today's
code printed nothing on stdout."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aggregate", *args], cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(PROJECT)))


@pytest.mark.slow
@pytest.mark.parametrize("case", ["manifest on a missing folder", "verify a half-rendered folder",
                                  "verify a folder with a broken index", "select with a bad condition",
                                  "render a missing manifest"])
def test_an_error_under_json_is_one_json_object(case, small_manifest, reference, tmp_path):
    if case == "manifest on a missing folder":
        args = ["manifest", "--ravdess", str(tmp_path / "nowhere"), "-o", str(tmp_path / "m.parquet")]
    elif case.startswith("verify"):
        shards = tmp_path / "shards"
        shutil.copytree(reference, shards)
        if "half" in case:
            (shards / "index.json").unlink()
        else:
            (shards / "index.json").write_text('{"format": "aggregate-shards/2", "shards": 3}')
        args = ["verify", str(shards)]
    elif case.startswith("select"):
        args = ["select", str(small_manifest), "-o", str(tmp_path / "s.parquet"), "--where", "duration <"]
    else:
        args = ["render", str(tmp_path / "no.parquet"), "-o", str(tmp_path / "shards")]
    result = run(*args, "--json", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    answer = json.loads(result.stdout)  # one object, nothing else
    assert answer["ok"] is False and answer["error"]
    assert result.stderr.strip().splitlines()[-1] == f"error: {answer['error']}"
