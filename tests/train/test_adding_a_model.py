"""docs/adding-a-model.md, done as a user does it: its module written into a copy of train/, its registry
edit made, its commands run from a folder holding the demo's shards, its error line compared."""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import fenced_blocks

pytestmark = pytest.mark.slow  # TensorFlow, in processes of python -m train

PROJECT = Path(__file__).resolve().parents[2]
DOC = PROJECT / "docs" / "adding-a-model.md"


def doc_blocks() -> list[tuple[str, str, str]]:
    return fenced_blocks(DOC)


def run(command: str, cwd: Path, pythonpath: str) -> subprocess.CompletedProcess:
    words = shlex.split(command)
    assert words[0] == "python", command
    return subprocess.run([sys.executable, *words[1:]], cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=pythonpath, TF_CPP_MIN_LOG_LEVEL="3"))


def test_the_walk_through_adds_a_model_that_trains(demo_shards, tmp_path):
    blocks = doc_blocks()
    [(heading, _, module)] = [b for b in blocks if "The module:" in b[0]]
    name = re.search(r"`train/models/(\w+)\.py`", heading).group(1)
    [(_, _, registry)] = [b for b in blocks if "The registry line" in b[0]]
    [good, bad] = [code for _, language, code in blocks if language == "sh"]
    [(_, _, error)] = [b for b in blocks if b[1] == "text" and "Train it" in b[0]]

    package = tmp_path / "package"
    shutil.copytree(PROJECT / "train", package / "train", ignore=shutil.ignore_patterns("__pycache__"))
    (package / "train" / "models" / f"{name}.py").write_text(module)
    init = package / "train" / "models" / "__init__.py"
    text = init.read_text()
    start = text.index("from . import ")
    end = text.index(")}\n", start) + 3
    # the doc's registry is today's, plus the new model: it shows exactly the edit to make
    assert registry.replace(f", {name}.MODEL", "").replace(f", {name}\n", "\n") == text[start:end]
    init.write_text(text[:start] + registry + text[end:])

    user = tmp_path / "project"
    shutil.copytree(demo_shards, user / "demo" / "shards")
    pythonpath = f"{package}{os.pathsep}{PROJECT}"  # the copy's train/, the project's aggregate/
    for command in good.strip().splitlines():
        result = run(command, user, pythonpath)
        assert result.returncode == 0, f"{command}\n{result.stderr[-3000:]}"
    config = json.loads((user / "runs" / "tiny" / "config.json").read_text())
    assert config["model"]["name"] == "tiny-cnn" and config["model"]["options"] == {"dropout": 0.2, "width": 4}
    assert config["trained"]["epochs_run"] == 2 and (user / "runs" / "tiny" / "metrics_test.json").is_file()

    [command] = bad.strip().splitlines()
    result = run(command, user, pythonpath)
    assert result.returncode == 2 and result.stderr == error, result.stderr
    assert not (user / "runs" / "tiny2").exists()
