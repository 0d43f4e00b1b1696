"""A manifest edited by hand is refused before render writes anything (issue 17): a duplicated row,
a label column that disagrees with labels/n_labels, an empty or null sample_id, null labels. Each
once rendered with exit 0, or ended in a traceback that left a 10 MB .tmp shard."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aggregate.manifest.format import METADATA_KEY

PROJECT = Path(__file__).resolve().parents[2]


def edit(source: Path, out: Path, change) -> Path:
    """The manifest ``source`` with its rows edited by ``change`` (a DataFrame -> DataFrame), its metadata
    kept and its rejects beside it: what a user gets by editing the Parquet file with pandas and pyarrow."""
    table = pq.read_table(source)
    frame = change(table.to_pandas())
    edited = pa.Table.from_pandas(frame, preserve_index=False)
    edited = edited.replace_schema_metadata({METADATA_KEY: table.schema.metadata[METADATA_KEY]})
    pq.write_table(edited, out)
    (out.with_name(out.stem + ".rejects.csv")).write_bytes(source.with_name(source.stem + ".rejects.csv").read_bytes())
    return out


def first_label_flipped(frame):
    row = frame.index[frame["label_anger"] == 0][0]
    frame.loc[row, "label_anger"] = 1
    return frame


CASES = {
    "a duplicated row": (lambda f: f.iloc[[0, 1, 2, 2, 3]], "repeats the sample_id"),
    "a flipped label column": (first_label_flipped, "but label_anger=1"),
    "n_labels off by one": (lambda f: f.assign(n_labels=f["n_labels"] + 1), "has labels"),
    "an empty sample_id": (lambda f: f.assign(sample_id=["", *f["sample_id"][1:]]), "has an empty sample_id"),
    "a null sample_id": (lambda f: f.assign(sample_id=[None, *f["sample_id"][1:]]), "has an empty sample_id"),
    "null labels": (lambda f: f.assign(labels=[None, *f["labels"][1:]]), "has no labels"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_a_hand_edited_manifest_is_refused_before_render_writes(small_manifest, tmp_path, case):
    change, why = CASES[case]
    manifest = edit(small_manifest, tmp_path / "edited.parquet", change)
    out = tmp_path / "shards"
    result = subprocess.run([sys.executable, "-m", "aggregate", "render", str(manifest), "-o", str(out), "-j", "1",
                             "--json"], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(PROJECT)))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {manifest}: row ") and why in lines[0], result.stderr
    assert not out.exists()  # nothing written: no folder, no temporary shard
    answer = json.loads(result.stdout)
    assert answer["ok"] is False and why in answer["error"]
