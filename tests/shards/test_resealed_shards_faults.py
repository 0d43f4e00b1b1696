"""Shards whose checksums were re-sealed after an edit (issue 17): verify compares each shard's labels,
ids and splits with the manifest copy, and a reader checks dtype, shape, lengths and value ranges of
each shard when it opens or reads it, refusing in one line (no raw exception, no NaN reaching training)."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from aggregate.dataset import ShardDataset
from aggregate.errors import InputError
from aggregate.shards.verify import verify_shards


def reseal(folder: Path, name: str) -> None:
    """Record the edited shard's checksum in its sidecar and the index, as a careful forger would."""
    path = folder / name
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / f"{name}.sha256").write_text(digest + "\n")
    index = json.loads((folder / "index.json").read_text())
    for shard in index["shards"]:
        if shard["name"] == name:
            shard["sha256"], shard["bytes"] = digest, path.stat().st_size
    (folder / "index.json").write_text(json.dumps(index))


def edited(reference: Path, tmp_path: Path, change, name: str = "shard-00001.h5") -> Path:
    out = tmp_path / "shards"
    shutil.copytree(reference, out)
    with h5py.File(out / name, "r+") as f:
        change(f)
    reseal(out, name)
    return out


def flip_label(f):
    f["labels"][0, 0] = 1 - f["labels"][0, 0]


def test_verify_finds_a_flipped_label_and_a_moved_split(reference, tmp_path):
    out = edited(reference, tmp_path, flip_label)
    report = verify_shards(out, progress=False)
    assert not report.ok
    assert any("shard-00001.h5: sample" in p and "has labels" in p and "manifest copy" in p for p in report.problems)

    def move_split(f):
        splits = f["split"].asstr()[:]
        f["split"][0] = "train" if splits[0] != "train" else "test"

    out2 = edited(reference, tmp_path / "b", move_split)
    assert any("has split" in p for p in verify_shards(out2, progress=False).problems)


def replace_dataset(name, make):
    def change(f):
        data = f[name][:]
        del f[name]
        f.create_dataset(name, data=make(data))
    return change


@pytest.mark.parametrize("case, change, why", [
    ("int8 features", replace_dataset("features", lambda x: (x * 100).astype(np.int8)), "features holds int8"),
    ("a label value of 2", lambda f: f["labels"].__setitem__((0, 0), 2), "labels hold values other than 0 and 1"),
    ("labels one row short", replace_dataset("labels", lambda x: x[:-1]), "labels has shape"),
    ("features of another shape", replace_dataset("features", lambda x: x[:, :100]), "features has shape"),
    ("vote fractions above 1", lambda f: f["vote_fractions"].__setitem__((0, 0), 3.0), "vote_fractions hold"),
    ("strings not strings", replace_dataset("speaker", lambda x: np.arange(len(x))), "speaker does not hold strings"),
])
def test_a_reader_refuses_a_resealed_shard_of_the_wrong_kind(reference, tmp_path, case, change, why):
    out = edited(reference, tmp_path, change)
    with pytest.raises(InputError, match=why) as caught:
        ds = ShardDataset(out, split=None)
        [ds[i] for i in range(len(ds))]
    assert "shard-00001.h5" in str(caught.value) and "\n" not in str(caught.value)


def test_a_nan_in_the_features_is_refused_when_read(reference, tmp_path):
    def poison(f):
        f["features"][2, 5, 5] = np.nan
    out = edited(reference, tmp_path, poison)
    ds = ShardDataset(out, split=None)
    rows = [i for i, (shard, row) in enumerate(ds.places) if shard == "shard-00001.h5"]
    with pytest.raises(InputError, match="features hold NaN, infinite or out-of-range values"):
        ds[rows[2]]
    with pytest.raises(InputError, match="features hold NaN"):
        list(ds.batches(batch_size=8))
    ds[rows[0] - 1]  # another shard reads as before


def test_a_shard_that_reads_another_file_of_the_receiver_is_refused(reference, tmp_path):
    """HDF5 can keep a dataset's bytes in an external file: a received shard could read any file of the
    machine that opens it (its checksum covers only the shard). Refused on opening; verify names it."""
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.ones(8 * 200 * 278, np.float16).tobytes())

    def external(f):
        shape, dtype = f["features"].shape, f["features"].dtype
        del f["features"]
        f.create_dataset("features", shape=shape, dtype=dtype,
                         external=[(str(secret), 0, int(np.prod(shape)) * dtype.itemsize)])
    out = edited(reference, tmp_path, external)
    with pytest.raises(InputError, match="features is not a dataset stored in the shard itself"):
        ds = ShardDataset(out, split=None)
        [ds[i] for i in range(len(ds))]
    assert any("not a dataset stored in the shard itself" in p for p in verify_shards(out, progress=False).problems)


@pytest.mark.slow
@pytest.mark.parametrize("change, why", [(flip_label, None), (lambda f: f["labels"].__setitem__((0, 0), 2), "labels hold"),
                                          (replace_dataset("features", lambda x: (x * 100).astype(np.int8)),
                                           "features holds int8")])
def test_train_baseline_refuses_a_resealed_shard_of_the_wrong_kind(demo_shards, tmp_path, change, why):
    from helpers import run_module

    out = edited(demo_shards, tmp_path, change, name="shard-00000.h5")
    result = run_module("train", "baseline", "--shards", str(out), "--out", str(tmp_path / "run"), cwd=tmp_path)
    if why is None:  # a flipped 0/1 label is a valid shard: only verify, against the manifest copy, can tell
        assert any("has labels" in p for p in verify_shards(out, progress=False).problems)
        return
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert lines[-1].startswith("error: ") and "shard-00000.h5" in lines[-1] and why in lines[-1]
    assert not (tmp_path / "run").exists()
