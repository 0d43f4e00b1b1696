"""ShardDataset: the framework-neutral reader, on the demo shards."""
from __future__ import annotations

import multiprocessing
import pickle
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from aggregate.dataset import ShardDataset
from aggregate.errors import InputError
from aggregate.shards.reading import ShardsFolder
from aggregate.vocabulary import EMOTIONS


@pytest.fixture(scope="module")
def manifest_rows(demo_shards):
    clips = ShardsFolder.open(demo_shards).manifest().clips
    return clips[clips["sample_id"].isin(set(ShardsFolder.open(demo_shards).places))].set_index("sample_id")


def test_a_split_is_what_the_manifest_says(demo_shards, manifest_rows):
    for split in ("train", "val", "test"):
        ds = ShardDataset(demo_shards, split=split)
        expected = manifest_rows[manifest_rows["split"] == split]
        assert len(ds) == len(expected) > 0
        assert set(ds.sample_ids) == set(expected.index)
    whole = ShardDataset(demo_shards, split=None)
    assert len(whole) == len(manifest_rows)


@pytest.mark.slow
def test_reading_imports_no_framework(demo_shards):
    code = ("import sys; from aggregate.dataset import ShardDataset; ds = ShardDataset(sys.argv[1], split=None); "
            "ds[0]; list(ds.batches(32)); print(sorted({'tensorflow', 'torch', 'keras'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code, str(demo_shards)], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"


def test_an_item_holds_features_labels_and_who_said_it(demo_shards, manifest_rows):
    ds = ShardDataset(demo_shards, split="test")
    assert ds.emotions == list(EMOTIONS)
    for i in (0, len(ds) - 1, -1):
        item = ds[i]
        assert item["features"].dtype == np.float32 and item["features"].shape == (200, 278)
        assert -1.0 <= item["features"].min() and item["features"].max() <= 1.0
        row = manifest_rows.loc[item["sample_id"]]
        assert item["labels"].tolist() == [float(row[f"label_{e}"]) for e in EMOTIONS]
        assert item["speaker"] == row["speaker"] and item["corpus"] == row["corpus"]
        assert item["vote_fractions"].shape == (7,)
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_features_are_the_stored_ones(demo_shards):
    ds = ShardDataset(demo_shards, split=None)
    folder = ShardsFolder.open(demo_shards)
    shard, row = folder.places[ds.sample_ids[5]]
    with h5py.File(demo_shards / shard, "r") as f:  # plain h5py, as a collaborator would
        assert np.array_equal(f["features"][row].astype(np.float32), ds[5]["features"])


def test_batches_cover_the_split_once_whatever_the_workers(demo_shards):
    ds = ShardDataset(demo_shards, split="train")
    seen, features = {}, {}
    for workers in (1, 2):
        batches = list(ds.batches(batch_size=16, shuffle=True, seed=3, workers=workers))
        index = np.concatenate([b["index"] for b in batches])
        assert sorted(index.tolist()) == list(range(len(ds)))
        assert all(len(b["index"]) == 16 for b in batches[:-1])
        for batch in batches:  # every sample, not just the first: workers reuse shared-memory slots
            assert batch["features"].dtype == np.float32
            assert np.array_equal(batch["features"], np.stack([ds[int(i)]["features"] for i in batch["index"]]))
            assert np.array_equal(batch["labels"], ds.labels[batch["index"]].astype(np.float32))
        seen[workers], features[workers] = index, np.concatenate([b["features"] for b in batches])
    assert np.array_equal(seen[1], seen[2])  # the same seeded order in one process or several
    assert np.array_equal(features[1], features[2])
    ds.close()


def test_reader_processes_hand_back_their_shared_memory(demo_shards):
    ds = ShardDataset(demo_shards, split=None)
    next(ds.batches(batch_size=8, workers=2))
    memory = ds.reader_pool(2).memory.name
    assert Path("/dev/shm", memory.lstrip("/")).exists() or sys.platform != "linux"
    ds.close()
    assert not Path("/dev/shm", memory.lstrip("/")).exists()
    assert len(list(ds.batches(batch_size=8, workers=2))) > 0  # a closed dataset starts its readers again
    ds.close()


def _first_sample(ds):
    return ds[0]["sample_id"], float(ds[0]["features"].sum())


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_it_travels_to_worker_processes_as_a_dataloader_sends_it(demo_shards, method):
    ds = ShardDataset(demo_shards, split="val")
    expected = _first_sample(ds)  # handles are open in this process now
    clone = pickle.loads(pickle.dumps(ds))
    assert clone._handles == {}
    with multiprocessing.get_context(method).Pool(2) as pool:
        assert pool.map(_first_sample, [ds, ds]) == [expected, expected]


def test_an_unknown_split_is_one_line(demo_shards):
    with pytest.raises(InputError, match="split must be one of train, val, test"):
        ShardDataset(demo_shards, split="validation")


def test_shards_name_their_emotions_and_splits_for_hdf5_only_readers(demo_shards, manifest_rows):
    folder = ShardsFolder.open(demo_shards)
    with h5py.File(demo_shards / folder.shard_names[0], "r") as f:
        ids = f["sample_id"].asstr()[:]
        assert sorted(f["emotion"].keys()) == sorted(EMOTIONS)
        for e in EMOTIONS:
            assert np.array_equal(f["emotion"][e][:], manifest_rows.loc[ids, f"label_{e}"].to_numpy())
        assert list(f["split"].asstr()[:]) == list(manifest_rows.loc[ids, "split"])


def test_pytorch_dataloader_with_workers(demo_shards):
    torch = pytest.importorskip("torch", reason="torch is not installed (optional)")
    ds = ShardDataset(demo_shards, split="train")
    loader = torch.utils.data.DataLoader(ds, batch_size=8, num_workers=2, shuffle=True)
    count = 0
    for batch in loader:
        assert batch["features"].shape[1:] == (200, 278) and batch["labels"].shape[1] == 7
        count += len(batch["sample_id"])
    assert count == len(ds)


def test_the_float16_table_gives_numpys_values_for_every_half():
    from aggregate.dataset.blocks import as_float32

    every = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    assert np.array_equal(as_float32(every), every.astype(np.float32), equal_nan=True)
    assert as_float32(every).dtype == np.float32
