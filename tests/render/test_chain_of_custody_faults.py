"""The chain of custody from audio to shards (issue 17): an audio file replaced after the manifest was
built fails its clip with a reason instead of rendering under the old id and labels."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aggregate.manifest.format import Manifest, read_manifest, write_manifest
from aggregate.render.run import render_shards
from aggregate.shards.storage import StorageConfig
from aggregate.shards.verify import verify_shards


@pytest.fixture
def corpus_copy(demo, demo_manifest, tmp_path) -> tuple[Path, Path]:
    """Twelve demo RAVDESS clips, their corpus folder copied so that its files can be replaced."""
    root = tmp_path / "ravdess"
    shutil.copytree(demo.roots["ravdess"], root)
    clips = demo_manifest.clips[demo_manifest.clips["corpus"] == "ravdess"].head(12).reset_index(drop=True)
    meta = dict(demo_manifest.meta, roots={"ravdess": str(root)})
    manifest = write_manifest(Manifest(clips, demo_manifest.rejects.iloc[:0], meta), tmp_path / "m.parquet")
    return manifest, root


def test_the_manifest_records_each_files_size_and_hash(corpus_copy):
    manifest, root = corpus_copy
    clips = read_manifest(manifest).clips
    import hashlib
    for _, row in clips.iterrows():
        data = (root / row["path"]).read_bytes()
        assert row["file_bytes"] == len(data) and row["file_sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("how", ["another clip's bytes", "a different length"])
def test_a_file_replaced_after_the_manifest_fails_its_clip(corpus_copy, tmp_path, how):
    manifest, root = corpus_copy
    clips = read_manifest(manifest).clips
    victim, donor = root / clips["path"][3], root / clips["path"][7]
    if how == "another clip's bytes":
        victim.write_bytes(donor.read_bytes())
    else:
        victim.write_bytes(victim.read_bytes() + b"\0" * 64)
    out = tmp_path / "shards"
    result = render_shards(manifest, out, jobs=1, storage=StorageConfig(shard_size=8), progress=False)
    assert [f["sample_id"] for f in result.failed] == [clips["sample_id"][3]]
    assert "changed since the manifest was built" in result.failed[0]["reason"]
    assert "build the manifest again" in result.failed[0]["reason"]
    index = json.loads((out / "index.json").read_text())
    assert clips["sample_id"][3] not in index["samples"] and len(index["samples"]) == 11
    assert verify_shards(out, progress=False).ok  # counted like any failure: listed, not lost
