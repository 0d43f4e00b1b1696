"""Faults: `python -m aggregate report -o DIR` never deletes what the report did not write.

It once replaced a folder holding only PNGs (a paper's figures/) and a folder where a user had
put a file beside an old report. Now it replaces only a folder holding its marker and nothing
but the files the marker lists; anything else is refused with one line, and nothing is lost.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aggregate.cli import main
from aggregate.manifest.format import write_manifest
from aggregate.report import MARKER, build_report

PNG = b"\x89PNG\r\n\x1a\n" + b"a user's figure" * 100


@pytest.fixture(scope="module")
def manifest_file(demo_manifest, tmp_path_factory) -> Path:
    return write_manifest(demo_manifest, tmp_path_factory.mktemp("faults-report") / "demo.parquet")


@pytest.fixture(scope="module")
def old_report(manifest_file, tmp_path_factory) -> Path:
    return build_report(manifest_file, tmp_path_factory.mktemp("faults-old") / "card").parent


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _refused(manifest_file: Path, output: Path, capsys) -> str:
    """Run the CLI; it must refuse with exit 2 and one line naming ``output``; return that line."""
    assert main(["report", str(manifest_file), "-o", str(output)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and str(output) in err, err
    return err


def _no_temporary_left(parent: Path, *expected: str) -> None:
    assert sorted(p.name for p in parent.iterdir()) == sorted(expected)


def test_a_folder_of_figures_is_refused_and_kept(manifest_file, tmp_path, capsys):
    figures = tmp_path / "figures"
    figures.mkdir()
    for name in ("fig1.png", "fig2.png", "index.html"):  # even names a report would use
        (figures / name).write_bytes(PNG)
    before = _snapshot(figures)
    err = _refused(manifest_file, figures, capsys)
    assert MARKER in err and "new or empty folder" in err
    assert _snapshot(figures) == before
    _no_temporary_left(tmp_path, "figures")


def test_a_users_file_beside_an_old_report_is_refused_and_kept(manifest_file, old_report, tmp_path, capsys):
    out = tmp_path / "card"
    shutil.copytree(old_report, out)
    (out / "notes.txt").write_text("my notes on the data")
    (out / "sub").mkdir()
    (out / "sub" / "plot.png").write_bytes(PNG)
    before = _snapshot(out)
    err = _refused(manifest_file, out, capsys)
    assert "notes.txt" in err and "sub" in err
    assert _snapshot(out) == before
    _no_temporary_left(tmp_path, "card")


def test_a_png_added_to_an_old_report_is_the_users(manifest_file, old_report, tmp_path, capsys):
    """A file named like a figure but not listed in the marker was not written by the report."""
    out = tmp_path / "card"
    shutil.copytree(old_report, out)
    (out / "my-figure.png").write_bytes(PNG)
    before = _snapshot(out)
    assert "my-figure.png" in _refused(manifest_file, out, capsys)
    assert _snapshot(out) == before


@pytest.mark.parametrize("marker", ["not json", json.dumps({"written_by": "someone else", "files": ["a.png"]}),
                                    json.dumps({"written_by": "python -m aggregate report",
                                                "files": ["a.png", "../outside.png"]})])
def test_a_forged_or_foreign_marker_gives_no_licence_to_delete(manifest_file, tmp_path, capsys, marker):
    out = tmp_path / "card"
    out.mkdir()
    (out / MARKER).write_text(marker)
    (out / "a.png").write_bytes(PNG)
    (tmp_path / "outside.png").write_bytes(PNG)  # what a marker naming ../outside.png would aim at
    before = _snapshot(tmp_path)
    _refused(manifest_file, out, capsys)
    assert _snapshot(tmp_path) == before


def test_a_symlinked_output_is_refused(manifest_file, old_report, tmp_path, capsys):
    target = tmp_path / "elsewhere"
    shutil.copytree(old_report, target)
    link = tmp_path / "card"
    link.symlink_to(target, target_is_directory=True)
    before = _snapshot(target)
    _refused(manifest_file, link, capsys)
    assert link.is_symlink() and _snapshot(target) == before


def test_a_file_dropped_in_while_drawing_is_kept(manifest_file, old_report, tmp_path, monkeypatch):
    """The check is repeated at the swap: a file that appears meanwhile stops it, and nothing is lost."""
    import aggregate.report as report
    from aggregate.errors import InputError

    out = tmp_path / "card"
    shutil.copytree(old_report, out)
    before = _snapshot(out)
    draw = report.draw_all

    def draw_while_the_user_saves(*args):
        drawn = draw(*args)
        (out / "draft.txt").write_text("saved meanwhile")
        return drawn

    monkeypatch.setattr(report, "draw_all", draw_while_the_user_saves)
    with pytest.raises(InputError, match="draft.txt"):
        build_report(manifest_file, out)
    assert _snapshot(out) == {**before, "draft.txt": b"saved meanwhile"}
    _no_temporary_left(tmp_path, "card")


def test_an_old_report_and_an_empty_folder_are_written(manifest_file, old_report, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", str(manifest_file), "-o", str(empty)]) == 0
    listed = json.loads((empty / MARKER).read_text())["files"]
    assert sorted(p.name for p in empty.iterdir()) == sorted([MARKER, *listed]) and "index.html" in listed

    out = tmp_path / "card"
    shutil.copytree(old_report, out)
    assert main(["report", str(manifest_file), "-o", str(out), "--title", "Appendix B"]) == 0
    assert "<h1>Appendix B</h1>" in (out / "index.html").read_text()
    _no_temporary_left(tmp_path, "card", "empty")
