"""Scripts and logs: --json, --version, progress as plain lines off a terminal, -q; provenance."""
from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from helpers import cli as run_cli

from aggregate import __version__, progress
from aggregate.corpora import CORPORA
from aggregate.manifest.format import read_manifest

PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_version():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"aggregate {__version__}"


@pytest.mark.slow
def test_manifest_json_is_the_whole_stdout_and_progress_is_plain_lines(demo, tmp_path):
    out = tmp_path / "m.parquet"
    flags = [arg for name, root in demo.roots.items() for arg in (f"--{name}", str(root))]
    result = run_cli("manifest", *flags, "-o", str(out), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # one object, nothing else
    manifest = read_manifest(out)
    assert data["manifest"] == str(out) and data["rejects"] == str(tmp_path / "m.rejects.csv")
    assert data["clips"] == len(manifest.clips) and data["rejected"] == len(manifest.rejects)
    assert data["counts"] == manifest.meta["counts"] and set(data["counts"]) == set(demo.roots)
    assert "rejected, by reason:" in result.stderr  # the summary for people moved to stderr
    assert "\r" not in result.stderr  # no bar redrawn in a log (the lines themselves: the fake-clock tests)

    quiet = run_cli("manifest", *flags, "-o", str(out), "--json", "-q")
    assert "reading headers" not in quiet.stderr and json.loads(quiet.stdout)["clips"] == data["clips"]


@pytest.mark.slow
def test_render_and_verify_json(small_manifest, tmp_path):
    shards = tmp_path / "shards"
    result = run_cli("render", str(small_manifest), "-o", str(shards), "--shard-size", "16", "--jobs", "1", "--json")
    assert result.returncode == 0, result.stderr
    n = len(read_manifest(small_manifest).clips)
    assert json.loads(result.stdout) == {"ok": True, "folder": str(shards), "shards": -(-n // 16), "rendered": -(-n // 16),
                                         "skipped": 0, "samples": n, "failed": [], "views": ["log_mel"],
                                         "view_failed": {}}
    assert "\r" not in result.stderr

    verified = run_cli("verify", str(shards), "--json")
    assert verified.returncode == 0
    assert json.loads(verified.stdout) == {"folder": str(shards), "ok": True, "problems": [],
                                           "shards": -(-n // 16), "samples": n, "failed": 0}
    assert "OK: " in verified.stderr  # the line for people goes to stderr with --json

    broken = tmp_path / "broken"
    shutil.copytree(shards, broken)
    (broken / "shard-00001.h5").unlink()
    report = run_cli("verify", str(broken), "--json", "-q")
    assert report.returncode == 1 and report.stderr.startswith("problem: shard-00001.h5")
    data = json.loads(report.stdout)
    assert data["ok"] is False and any("shard-00001.h5: listed in the index but missing" in p for p in data["problems"])


@pytest.mark.slow
@pytest.mark.parametrize("command", ["manifest", "render", "verify"])
def test_bad_input_with_json_is_still_one_line_on_stderr(command, tmp_path):
    args = {"manifest": ["--ravdess", str(tmp_path / "nowhere")], "render": [str(tmp_path / "no.parquet"), "-o",
            str(tmp_path / "s")], "verify": [str(tmp_path / "no-shards")]}[command]
    result = run_cli(command, *args, "--json")
    assert result.returncode == 2 and json.loads(result.stdout)["ok"] is False  # issue 17: a script reads it
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run_lines(monkeypatch, total: int, seconds_each: float) -> list[str]:
    """Count ``total`` units, each taking ``seconds_each`` of a fake clock, with stderr not a terminal."""
    clock, err = FakeClock(), io.StringIO()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    monkeypatch.setattr(sys, "stderr", err)
    with progress.show_progress(total, "rendering", "clip") as bar:
        for _ in range(total):
            clock.now += seconds_each
            bar.update(1)
    return err.getvalue().splitlines()


def test_a_long_job_prints_a_line_every_interval(monkeypatch):
    lines = run_lines(monkeypatch, total=1000, seconds_each=1.0)  # 1000 s: the 10 s rule dominates
    assert len(lines) == 1000 // progress.INTERVAL_S  # one each 10 s before the end, then the final line
    assert lines[0] == "rendering: 10/1000 clips (1%), 1 clips/s, eta 16 min"
    assert lines[-1] == "rendering: 1000/1000 clips (100%), 1 clips/s, 17 min"


def test_a_short_job_prints_at_each_tenth_and_a_fast_one_nothing(monkeypatch):
    lines = run_lines(monkeypatch, total=100, seconds_each=0.5)  # 50 s: a line per tenth, at 5 s apart
    assert [line.split()[1] for line in lines] == [f"{n}/100" for n in range(10, 101, 10)]
    assert run_lines(monkeypatch, total=100, seconds_each=0.001) == []  # done in 0.1 s: no noise
    assert run_lines(monkeypatch, total=100, seconds_each=0.03) == [  # 3 s: quiet for 2 s, then as usual
        "rendering: 67/100 clips (67%), 33 clips/s, eta 1 s", "rendering: 100/100 clips (100%), 33 clips/s, 3 s"]


def test_quiet_prints_nothing(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    with progress.show_progress(10, "verifying", "clip", enabled=False) as bar:
        bar.update(10)
    assert err.getvalue() == ""


def test_manifest_and_select_quiet_print_only_the_warnings(demo, tmp_path, capsys):
    """-q: no summary and no progress; a split that measures nothing still gets its warning, on stderr."""
    from aggregate.cli import main

    out = tmp_path / "m.parquet"
    assert main(["manifest", "--ravdess", str(demo.roots["ravdess"]), "-o", str(out)]) == 0
    loud = capsys.readouterr()
    warnings = [line for line in loud.out.splitlines() if line.startswith("warning: ")]
    assert "rejected, by reason:" in loud.out and warnings  # the demo's few RAVDESS actors: val and test thin
    assert main(["manifest", "--ravdess", str(demo.roots["ravdess"]), "-o", str(out), "-q"]) == 0
    quiet = capsys.readouterr()
    assert quiet.out == "" and quiet.err.splitlines() == warnings
    assert main(["select", str(out), "-o", str(tmp_path / "s.parquet"), "--split", "train", "-q"]) == 0
    selected = capsys.readouterr()
    assert selected.out == "" and "rejected, by reason:" not in selected.err and (tmp_path / "s.parquet").is_file()


def test_the_shards_folder_holds_no_path_of_the_machine(demo_shards, demo_manifest, tmp_path_factory):
    """Shared with collaborators: not one byte of it names a folder of the building machine."""
    machine = str(tmp_path_factory.getbasetemp())
    assert all(root.startswith(machine) for root in demo_manifest.meta["roots"].values())
    files = [p for p in demo_shards.rglob("*") if p.is_file()]
    assert {"manifest.parquet", "manifest.rejects.csv", "index.json", "plan.json"} <= {p.name for p in files}
    for path in files:
        assert machine.encode() not in path.read_bytes(), f"{path.name} holds {machine}"
    copy = read_manifest(demo_shards / "manifest.parquet")  # still a manifest, its rejects still its own
    assert copy.meta["roots"] == {name: name for name in demo_manifest.meta["roots"]}
    assert len(copy.rejects) == len(demo_manifest.rejects)


def test_citation_file_is_cff_1_2_and_cites_the_paper():
    cff = yaml.safe_load((PROJECT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors", "type", "version", "license"):
        assert cff[key], key
    assert cff["version"] == __version__
    paper = cff["references"][0]
    assert paper["title"] == "Multi-Label Speech Emotion Recognition Using 2D Convolutional Neural Networks"
    assert paper["type"] == "conference-paper" and paper["authors"] == [{"name": "Anonymous"}]  # as the seed names them
    dois = {ref.get("doi") for ref in cff["references"]}
    for name, unit in CORPORA.items():  # every corpus the toolkit reads is cited as its unit cites it
        assert any(doi and doi in unit.CITATION for doi in dois), name
