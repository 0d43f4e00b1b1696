"""`python -m aggregate select`: a subset of a manifest that every other command takes as a manifest."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from helpers import cli as run_cli

from aggregate.corpora import CORPORA
from aggregate.errors import InputError
from aggregate.files import sha256_of
from aggregate.manifest.format import read_manifest, rejects_path, write_manifest
from aggregate.manifest.select import Selection, select_file
from aggregate.render.run import render_shards
from aggregate.report import build_report
from aggregate.shards.storage import StorageConfig
from aggregate.shards.verify import verify_shards

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def source(demo_manifest, tmp_path_factory) -> Path:
    return write_manifest(demo_manifest, tmp_path_factory.mktemp("select") / "demo.parquet")


@pytest.mark.slow
def test_one_corpus_keeps_its_rows_metadata_and_rejects(source, demo_manifest, tmp_path):
    out = tmp_path / "tess.parquet"
    result = run_cli("select", str(source), "-o", str(out), "--corpus", "tess")
    assert result.returncode == 0, result.stderr
    selected = read_manifest(out)
    expected = demo_manifest.clips[demo_manifest.clips["corpus"] == "tess"].reset_index(drop=True)
    pd.testing.assert_frame_equal(selected.clips, expected)
    assert set(selected.rejects["corpus"]) == {"tess"}
    assert len(selected.rejects) == (demo_manifest.rejects["corpus"] == "tess").sum()
    assert selected.meta["counts"] == {"tess": demo_manifest.meta["counts"]["tess"]}  # recomputed, the same
    assert selected.meta["policy"] == demo_manifest.meta["policy"]
    assert selected.meta["split"] == demo_manifest.meta["split"]
    assert selected.meta["roots"] == {"tess": demo_manifest.meta["roots"]["tess"]}
    assert selected.meta["selected_from"] == {"file": source.name, "sha256": sha256_of(source),
                                              "filters": {"corpora": ["tess"]}}


def test_every_filter_holds_and_counts_follow_the_rows(source, demo_manifest, tmp_path):
    clips = demo_manifest.clips
    where = "n_labels == 1 and gender == 'female'"
    selection = Selection(corpora=("ravdess", "crema-d"), splits=("train", "test"), max_duration=3.0, where=where)
    selected = select_file(source, tmp_path / "sub.parquet", selection)
    mask = (clips["corpus"].isin(["ravdess", "crema-d"]) & clips["split"].isin(["train", "test"])
            & (clips["duration"] <= 3.0) & (clips["n_labels"] == 1) & (clips["gender"] == "female"))
    assert 0 < mask.sum() < len(clips)
    assert list(selected.clips["sample_id"]) == list(clips.loc[mask, "sample_id"])
    counts = selected.meta["counts"]
    for corpus, part in selected.clips.groupby("corpus"):
        assert counts[corpus]["kept"] == len(part)
        assert counts[corpus]["speakers"] == part["speaker"].nunique()
        assert counts[corpus]["labels"]["anger"] == part["label_anger"].sum()
    assert selected.meta["selected_from"]["filters"]["where"] == where


def test_speakers_and_a_selection_of_a_selection(source, demo_manifest, tmp_path):
    speakers = sorted(demo_manifest.clips.loc[demo_manifest.clips["corpus"] == "ravdess", "speaker"].unique())[:2]
    first = tmp_path / "ravdess.parquet"
    select_file(source, first, Selection(corpora=("ravdess",)))
    second = select_file(first, tmp_path / "two.parquet", Selection(speakers=tuple(speakers)))
    assert set(second.clips["speaker"]) == set(speakers)
    chain = second.meta["selected_from"]
    assert chain["sha256"] == sha256_of(first) and chain["selected_from"]["sha256"] == sha256_of(source)


@pytest.mark.slow
@pytest.mark.parametrize("flags, message", [
    (["--where", "duration <"], "--where 'duration <': expected a column, a number or a string, not the end"),
    (["--where", "no_such_column > 1"], "no_such_column"),
    (["--where", "duration"], "is not a condition on each row"),
    (["--corpus", "savee"], "--corpus savee: demo.parquet has none; it has crema-d, iemocap, ravdess, tess"),
    (["--split", "dev"], "--split dev: demo.parquet has none"),
    (["--max-duration", "0"], "--max-duration 0: expected a number of seconds above 0"),
    (["--max-duration", "0.01"], "no clip of demo.parquet passes the filters"),
])
def test_a_bad_filter_is_one_line(source, tmp_path, flags, message):
    out = tmp_path / "out.parquet"
    result = run_cli("select", str(source), "-o", str(out), *flags)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert not out.exists() and not rejects_path(out).exists()


@pytest.mark.slow
def test_never_overwrites_its_input_or_a_file_it_did_not_write(source, tmp_path):
    before = source.read_bytes()
    result = run_cli("select", str(source), "-o", str(source), "--corpus", "tess")
    assert result.returncode == 2 and "is the manifest being selected from" in result.stderr
    assert source.read_bytes() == before
    theirs = tmp_path / "theirs.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(theirs)
    kept = theirs.read_bytes()
    result = run_cli("select", str(source), "-o", str(theirs), "--corpus", "tess")
    assert result.returncode == 2 and "not a manifest written by this tool" in result.stderr
    assert theirs.read_bytes() == kept


def test_a_pandas_subset_is_refused_with_the_way_to_do_it(source, tmp_path):
    edited = tmp_path / "crema.parquet"
    clips = pq.read_table(source).to_pandas()
    clips[clips["corpus"] == "crema-d"].to_parquet(edited)
    with pytest.raises(InputError, match=r"not a manifest written by this tool .*python -m aggregate select"):
        read_manifest(edited)


def test_render_verify_and_report_take_a_selection(small_manifest, tmp_path):
    selected = tmp_path / "ravdess.parquet"
    select_file(small_manifest, selected, Selection(corpora=("ravdess",)))
    n = len(read_manifest(selected).clips)
    result = render_shards(selected, tmp_path / "shards", jobs=1, storage=StorageConfig(shard_size=8), progress=False)
    assert result.samples == n and not result.failed
    assert verify_shards(tmp_path / "shards", progress=False).ok
    page = build_report(tmp_path / "shards", tmp_path / "card").read_text(encoding="utf-8")
    assert CORPORA["ravdess"].TITLE in page
    for other in ("iemocap", "crema-d", "tess"):
        assert CORPORA[other].TITLE not in page, f"the card of a RAVDESS selection mentions {other}"


@pytest.mark.slow
def test_select_json(source, tmp_path):
    out = tmp_path / "j.parquet"
    result = run_cli("select", str(source), "-o", str(out), "--split", "val", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["manifest"] == str(out) and data["clips"] == len(read_manifest(out).clips)
    assert data["selected_from"]["filters"] == {"splits": ["val"]}
