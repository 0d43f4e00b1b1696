"""The Python examples in docs/ run as written, against the demo's outputs, the way a reader runs them:
saved as a file and run with ``python example.py`` (``python -c`` would hide what only a file shows:
processes spawned by the example import the file again)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aggregate.manifest.format import write_manifest

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
    # at least one example that this project can run starts reader processes: the file-run test covers spawning
    assert any(STARTS_PROCESSES.search(code) and "torch" not in code and "datasets" not in code
               for _, _, code in EXAMPLES)


# Reader processes (ds.batches(workers=2), a DataLoader's num_workers) are spawned on some or all systems.
STARTS_PROCESSES = re.compile(r"\b(num_)?workers=(?!1\b)[1-9]\d*")
MAIN_GUARD = 'if __name__ == "__main__":'


@pytest.mark.parametrize("doc, number, code", EXAMPLES, ids=[f"{d}#{i}" for d, i, _ in EXAMPLES])
def test_example_that_starts_processes_guards_its_work(doc, number, code):
    """Spawned processes import the script again: without the guard they would start the work again, and
    Python stops it (RuntimeError ... bootstrapping phase). Checked here too for the examples whose framework
    (torch) this project does not install, so that they are not run below."""
    if STARTS_PROCESSES.search(code):
        assert MAIN_GUARD in code, f"{doc} example {number} starts processes outside `{MAIN_GUARD}`"


@pytest.mark.slow
@pytest.mark.parametrize("doc, number, code", EXAMPLES, ids=[f"{d}#{i}" for d, i, _ in EXAMPLES])
def test_example_runs(demo_folder, tmp_path, doc, number, code):
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], cwd=demo_folder, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(PROJECT)))
    for optional in OPTIONAL_FRAMEWORKS:  # examples for frameworks this project does not install
        if f"No module named '{optional}'" in result.stderr:
            pytest.skip(f"{doc} example {number} needs {optional}, which is not installed")
    assert result.returncode == 0, f"{doc} example {number} failed:\n{result.stderr[-2000:]}"
    assert result.stdout.strip(), f"{doc} example {number} printed nothing"


def test_readme_says_how_long_the_tests_take_how_to_cite_and_how_to_measure_small_corpora():
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    before_tests = readme.split("```bash\n.venv/bin/python -m pytest")[0].rstrip().rsplit("\n\n", 1)[-1]  # its intro
    assert re.search(r"\d+ minutes", before_tests), before_tests
    assert "## How to cite" in readme and "(CITATION.cff)" in readme
    real = readme.split("## On the real corpora")[1].split("\n## ")[0]
    for tool in ("fewer than 3 speakers", "train benchmark", "--split-strategy kfold", "leave-one-corpus-out"):
        assert tool in real, tool
    for link in re.findall(r"\]\(([^)#:]+)\)", readme):  # every file the README links to is there
        assert (PROJECT / link).is_file(), link


# Files a walkthrough tells the reader to create (docs/adding-a-corpus.md): not in the tree on purpose.
FILES_TO_CREATE = {"aggregate/corpora/emodb.py", "aggregate/demo/emodb.py", "train/models/tiny_cnn.py",
                   "aggregate/views/mfcc_stats.py"}  # walk-throughs create them
DOTTED = re.compile(r"\baggregate(?:\.[A-Za-z_]\w*)+")
DOTTED_FILES = (".parquet", ".csv")  # aggregate.parquet, aggregate.rejects.csv: file names, not modules


def _names_in_docs():
    for doc in [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]:
        yield doc.name, doc.read_text(encoding="utf-8")


def test_every_source_path_and_module_the_docs_name_exists():
    """A file moved or removed must not leave docs sending the reader to it: every ``x.py`` named (as
    ``aggregate/manifest/format.py`` or relative, as ``manifest/format.py``) is in the tree, and every
    ``aggregate.x.y`` imports or is an attribute of a module that does."""
    import importlib

    tree = [p.relative_to(PROJECT).as_posix() for p in PROJECT.rglob("*.py") if ".git" not in p.parts]
    stale = []
    for name, text in _names_in_docs():
        for path in set(re.findall(r"(?<![\w*/.-])[\w/.-]*\w\.py\b", text)) - FILES_TO_CREATE:
            if not any(f == path or f.endswith("/" + path) for f in tree):
                stale.append(f"{name}: {path}")
        for dotted in set(DOTTED.findall(text)):
            if dotted.endswith(DOTTED_FILES):
                continue
            parts = dotted.split(".")
            for i in range(len(parts), 0, -1):  # the longest prefix that imports, then attributes
                try:
                    found = importlib.import_module(".".join(parts[:i]))
                    break
                except ImportError:
                    continue
            try:
                for attribute in parts[i:]:
                    found = getattr(found, attribute)
            except AttributeError:
                stale.append(f"{name}: {dotted}")
    assert not stale, stale
