"""A reader opened before another process rewrote a shard of its folder (render --retry-failed) never
mixes one clip's id and labels with another clip's features: it refuses (issue 17)."""
from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from aggregate.dataset import ShardDataset
from aggregate.errors import InputError


@pytest.mark.parametrize("check", [True, False])
def test_a_shard_rewritten_under_an_open_dataset_is_refused_not_mixed(reference, tmp_path, check):
    out = tmp_path / "shards"
    shutil.copytree(reference, out)
    ds = ShardDataset(out, split=None, check=check)
    first = [i for i, (shard, _) in enumerate(ds.places) if shard == "shard-00000.h5"]
    rewritten = [i for i, (shard, _) in enumerate(ds.places) if shard == "shard-00001.h5"]
    kept = ds[first[0]]["features"]
    # What a retry writes: another file renamed over the shard (here, another shard's bytes).
    tmp = out / ".shard-00001.h5.x.tmp"
    shutil.copy(out / "shard-00002.h5", tmp)
    os.replace(tmp, out / "shard-00001.h5")
    with pytest.raises(InputError, match="shard-00001.h5 changed after this reader checked it"):
        ds[rewritten[0]]
    np.testing.assert_array_equal(ds[first[0]]["features"], kept)  # a handle opened before stays right
    ds.close()
