"""``select --where`` runs nothing: a pandas query once let a condition run a shell command or
overwrite any file. Each hostile condition is recreated here; the language's rules are checked
on a small frame whose answer is known, and the docs' examples run as a user runs them."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import cli

from aggregate.errors import InputError
from aggregate.manifest.format import read_manifest, write_manifest
from aggregate.manifest.where import MAX_DEPTH, MAX_LENGTH, MAX_NODES, where_mask

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def source(demo_manifest, tmp_path_factory) -> Path:
    return write_manifest(demo_manifest, tmp_path_factory.mktemp("where") / "demo.parquet")


@pytest.mark.slow
@pytest.mark.parametrize("template", [
    "@clips.__class__.__init__.__globals__['sys'].modules['os'].system('touch {target}') == 0",
    "@clips.to_csv('{target}') == 0",
    "duration > 0 and @pd.io.common.os.system('touch {target}') == 0",
    "__import__('os').system('touch {target}') == 0",
    "duration.__class__.__mro__[1].__subclasses__() == 0",
    "`duration`.to_csv('{target}') == 0",
])
def test_a_condition_that_would_run_code_runs_nothing(source, tmp_path, template):
    """The issue's own two conditions and their cousins: refused in one line, and no file appears
    (a victim file keeps its bytes)."""
    target = tmp_path / "victim.txt"
    target.write_text("precious")
    out = tmp_path / "out.parquet"
    result = cli("select", str(source), "-o", str(out), "--where", template.format(target=target), cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --where ") and "Traceback" not in result.stderr
    assert target.read_text() == "precious" and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim.txt"]


FRAME = pd.DataFrame({
    "duration": [1.0, 2.5, np.nan, 4.0, 3.0],
    "n_labels": pd.array([1, 2, 1, None, 3], dtype="Int8"),
    "gender": pd.array(["female", "male", None, "female", "male"], dtype="string"),
    "corpus": ["tess", "ravdess", "tess", "crema-d", "iemocap"],
    "flag": [True, False, True, False, True],
})


@pytest.mark.parametrize("condition, kept", [
    ("duration < 3", [0, 1]),
    ("n_labels == 1 and gender == 'female'", [0]),
    ("not (gender == 'female')", [1, 4]),  # a null gender is unknown, and stays unknown under not
    ("gender != 'male'", [0, 3]),
    ("corpus in ['tess', 'crema-d']", [0, 2, 3]),
    ("corpus not in ['tess']", [1, 3, 4]),
    ("duration * 2 > n_labels + 2", [1, 4]),  # 2 > 3, 5 > 4, nan, 8 > null, 6 > 5
    ("duration / 0 > 1", []),  # a division by zero is unknown
    ("n_labels % 2 == 1", [0, 2, 4]),
    ("flag and not (duration >= 2)", [0]),
    ("gender == 'female' or duration > 3.5", [0, 3]),
    ("duration > 3.5 or n_labels == 1", [0, 2, 3]),  # true or unknown is true
    ("-duration <= -3 and n_labels in [-1, 3]", [4]),
    ("`corpus` == \"ravdess\" or FALSE", [1]),
    ("1e0 == 1", [0, 1, 2, 3, 4]),
])
def test_the_language_keeps_the_rows_where_the_condition_is_known_to_hold(condition, kept):
    assert list(np.flatnonzero(where_mask(FRAME, condition))) == kept


@pytest.mark.parametrize("condition, why", [
    ("duration <", "expected a column, a number or a string, not the end (at the end)"),
    ("no_such > 1", "no column 'no_such'; the columns are duration, n_labels, gender, corpus, flag"),
    ("duration", "is not a condition on each row"),
    ("gender < 'm'", "'<' orders numbers, not strings"),
    ("duration == 'long'", "'==' compares a number with a string"),
    ("corpus in [1, 2]", "'in' compares a string with 1.0, a number"),
    ("corpus in 'tess'", "'in' takes a list of values"),
    ("corpus in [duration]", "a list after 'in' holds numbers, strings or true/false"),
    ("duration = 1", "'=' is not part of the condition language; write '=='"),
    ("duration > 1 & flag", "'&' is not part of the condition language; write 'and'"),
    ("1 < duration < 3", "chained comparisons are not read"),
    ("duration + flag > 1", "'+' takes two numbers, not a number and a boolean"),
    ("duration and flag", "'and' joins conditions, not a number"),
    ("gender == 'female", "a string is not closed"),
    ("(duration > 1", "expected ')'"),
    ("duration > 1)", "unexpected ')'"),
    ("2x > 1", "unexpected 'x' in the number"),
    ("duration > 1;", "';' is not part of the condition language"),
])
def test_anything_else_is_refused_naming_what_is_wrong(condition, why):
    with pytest.raises(InputError) as caught:
        where_mask(FRAME, condition)
    message = str(caught.value)
    assert why in message and "\n" not in message and message.startswith("--where")


def test_cost_is_bounded_before_anything_is_evaluated():
    frame = FRAME.rename(columns={"duration": "d"})
    with pytest.raises(InputError, match=f"at most {MAX_LENGTH} are read"):
        where_mask(frame, "d > 1 or " * 200 + "d > 1")
    with pytest.raises(InputError, match=f"deeper than {MAX_DEPTH} levels"):
        where_mask(frame, "(" * (MAX_DEPTH + 1) + "d > 1" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(InputError, match=f"more than {MAX_NODES} parts"):
        where_mask(frame, "d in [" + ",".join("1" for _ in range(MAX_NODES + 1)) + "]")
    assert where_mask(frame, "(" * (MAX_DEPTH - 1) + "d > 1" + ")" * (MAX_DEPTH - 1)).sum() == 3


@pytest.mark.slow
def test_the_docs_select_examples_run_as_written(source, tmp_path):
    """docs/manifest.md's select examples, as a user types them (the manifest path swapped for the demo's)."""
    text = (PROJECT / "docs" / "manifest.md").read_text()
    commands = [block.replace("\\\n", " ") for block in re.findall(r"```bash\n(.*?)```", text, re.S)]
    selects = [line for block in commands for line in block.splitlines() if "aggregate select" in line]
    assert any("--where" in line for line in selects)
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "aggregate.parquet").write_bytes(source.read_bytes())
    (tmp_path / "manifests" / "aggregate.rejects.csv").write_bytes(source.with_name("demo.rejects.csv").read_bytes())
    for line in selects:
        result = subprocess.run(line.replace("python", sys.executable, 1), shell=True, cwd=tmp_path,
                                capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(PROJECT)))
        assert result.returncode == 0, (line, result.stderr)
        output = tmp_path / line.split(" -o ")[1].split()[0]
        assert 0 < len(read_manifest(output).clips) < len(read_manifest(tmp_path / "manifests" / "aggregate.parquet").clips)


@pytest.mark.slow
def test_select_takes_quiet_as_every_command_does(source, tmp_path):
    result = cli("select", str(source), "-o", str(tmp_path / "t.parquet"), "--corpus", "tess", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "t.parquet").is_file()
