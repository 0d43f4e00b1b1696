"""docs/adding-a-view.md, done as a user does it: its module written into a copy of aggregate/, its registry
edit made, its commands run from a folder holding the demo's manifest and shards."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import fenced_blocks

from aggregate.manifest.format import write_manifest

pytestmark = pytest.mark.slow  # processes of python -m aggregate

PROJECT = Path(__file__).resolve().parents[2]
DOC = PROJECT / "docs" / "adding-a-view.md"


def doc_blocks() -> list[tuple[str, str, str]]:
    return fenced_blocks(DOC)


def test_the_walk_through_adds_a_view_that_renders_verifies_and_reads(demo_manifest, demo_shards, tmp_path):
    blocks = doc_blocks()
    [(heading, _, module)] = [b for b in blocks if "The module:" in b[0]]
    name = re.search(r"`aggregate/views/(\w+)\.py`", heading).group(1)
    [(_, _, registry)] = [b for b in blocks if "The registry" in b[0]]
    [commands] = [code for _, language, code in blocks if language == "sh"]

    package = tmp_path / "package"
    shutil.copytree(PROJECT / "aggregate", package / "aggregate", ignore=shutil.ignore_patterns("__pycache__"))
    (package / "aggregate" / "views" / f"{name}.py").write_text(module)
    init = package / "aggregate" / "views" / "__init__.py"
    text = init.read_text()
    # the doc's edit: one import line and the class appended to the registry's tuple (whatever views
    # the registry holds by now)
    [imported] = [line for line in registry.splitlines() if "mfcc" in line.lower() and line.startswith("from .")]
    [entry] = [line for line in registry.splitlines() if line.startswith("VIEWS")]
    assert entry.endswith(", MfccStats)}")
    [views_line] = [line for line in text.splitlines() if line.startswith("VIEWS")]
    init.write_text(text.replace(views_line, views_line.replace(")}", ", MfccStats)}"))
                    .replace("from .waveform import", f"{imported}\nfrom .waveform import"))

    work = tmp_path / "work"
    write_manifest(demo_manifest, work / "manifests" / "demo.parquet")
    shutil.copytree(demo_shards, work / "demo" / "shards")
    before = {p.name: p.read_bytes() for p in (work / "demo" / "shards").glob("shard-*")}
    env = dict(os.environ, PYTHONPATH=str(package))
    outputs = []
    for command in commands.strip().splitlines():
        words = shlex.split(command)
        assert words[0] == "python", command
        result = subprocess.run([sys.executable, *words[1:]], cwd=work, capture_output=True, text=True, env=env)
        assert result.returncode == 0, f"{command}\n{result.stderr[-2000:]}"
        outputs.append(result.stdout)
    assert outputs[-1].strip() == "(40,)"  # what the doc says it prints
    assert {p.name: p.read_bytes() for p in (work / "demo" / "shards").glob("shard-*")} == before
    assert len(list((work / "demo" / "shards" / name).glob("shard-*.h5"))) == len([k for k in before if k.endswith(".h5")])
