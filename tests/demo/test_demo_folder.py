"""The demo's corpora folder: written again only over what an earlier demo wrote there, unchanged."""
from __future__ import annotations

import json

import pytest

from aggregate.corpora import CORPORA
from aggregate.demo.corpora import write_demo_corpora
from aggregate.errors import InputError


def test_a_demo_is_written_again_over_its_own_files(tmp_path):
    out = tmp_path / "demo"
    first = write_demo_corpora(out, clips_scale=0.3)
    marker = json.loads((out / ".aggregate-demo").read_text())
    written = {p.relative_to(out).as_posix() for name in CORPORA for p in (out / name).rglob("*") if p.is_file()}
    assert set(marker["files"]) == written and all(len(digest) == 64 for digest in marker["files"].values())
    (out / "shards").mkdir()  # the demo's other folders beside the corpora are not the corpora's to clear
    (out / "shards" / "kept.txt").write_text("not the corpora's")
    again = write_demo_corpora(out, clips_scale=0.3)
    assert [e.path for e in again.expected] == [e.path for e in first.expected]
    assert (out / "shards" / "kept.txt").read_text() == "not the corpora's"


@pytest.mark.parametrize("damage", ["a file of mine", "an edited clip", "a link"])
def test_a_corpus_folder_holding_anything_else_is_refused_and_kept(tmp_path, damage):
    out = tmp_path / "demo"
    write_demo_corpora(out, clips_scale=0.3)
    clip = next((out / "tess").rglob("*.wav"))
    if damage == "a file of mine":
        (out / "tess" / "notes.txt").write_text("mine")
        expected, kept = "did not write.*tess/notes.txt", out / "tess" / "notes.txt"
    elif damage == "an edited clip":
        clip.write_bytes(b"my own recording")
        expected, kept = "no longer matches the checksum", clip
    else:
        (tmp_path / "elsewhere.txt").write_text("mine")
        (out / "ravdess" / "link.wav").symlink_to(tmp_path / "elsewhere.txt")
        expected, kept = "did not write.*ravdess/link.wav", tmp_path / "elsewhere.txt"
    before = kept.read_bytes()
    with pytest.raises(InputError, match=expected):
        write_demo_corpora(out, clips_scale=0.3)
    assert kept.read_bytes() == before and clip.is_file()  # nothing removed, not even the demo's own clips


def test_corpus_folders_without_the_demos_marker_are_refused(tmp_path):
    out = tmp_path / "demo"
    (out / "iemocap").mkdir(parents=True)
    (out / "iemocap" / "session.wav").write_bytes(b"a real corpus")
    (out / ".synth-demo").write_text("demo corpora written by aggregate.demo\n")  # the old, unchecked marker
    with pytest.raises(InputError, match="not written by `python -m aggregate demo`"):
        write_demo_corpora(out, clips_scale=0.3)
    assert (out / "iemocap" / "session.wav").read_bytes() == b"a real corpus"


def test_the_demo_refuses_a_shards_folder_it_did_not_write_before_writing_anything(tmp_path, capsys):
    from aggregate.cli import main

    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "thesis.txt").write_text("years of work")
    status = main(["demo", "--dir", str(tmp_path / "demo"), "--output", str(tmp_path / "m.parquet"),
                   "--shards", str(shards)])
    assert status == 2 and "not written by `python -m aggregate render`" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists() and not (tmp_path / "m.parquet").exists()
    assert (shards / "thesis.txt").read_text() == "years of work"
