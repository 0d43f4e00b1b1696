"""The Python examples in docs/ run as written, against the demo's outputs."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aggregate.manifest import write_manifest

PROJECT = Path(__file__).resolve().parents[1]
OPTIONAL_FRAMEWORKS = ("torch", "datasets", "jax")
EXAMPLES = [(doc.name, i, code) for doc in sorted((PROJECT / "docs").glob("*.md"))
            for i, code in enumerate(re.findall(r"```python\n(.*?)```", doc.read_text(), re.S))]


@pytest.fixture(scope="module")
def demo_folder(demo_manifest, demo_shards, tmp_path_factory) -> Path:
    """A folder laid out as `python -m aggregate demo` leaves the project folder."""
    folder = tmp_path_factory.mktemp("docs")
    write_manifest(demo_manifest, folder / "manifests" / "demo.parquet")
    shutil.copytree(demo_shards, folder / "demo" / "shards")
    return folder


def test_there_are_examples_to_run():
    assert {name for name, _, _ in EXAMPLES} >= {"manifest.md", "shards.md"}


@pytest.mark.parametrize("doc, number, code", EXAMPLES, ids=[f"{d}#{i}" for d, i, _ in EXAMPLES])
def test_example_runs(demo_folder, doc, number, code):
    result = subprocess.run([sys.executable, "-c", code], cwd=demo_folder, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(PROJECT)))
    for optional in OPTIONAL_FRAMEWORKS:  # examples for frameworks this project does not install
        if f"No module named '{optional}'" in result.stderr:
            pytest.skip(f"{doc} example {number} needs {optional}, which is not installed")
    assert result.returncode == 0, f"{doc} example {number} failed:\n{result.stderr[-2000:]}"
    assert result.stdout.strip(), f"{doc} example {number} printed nothing"
