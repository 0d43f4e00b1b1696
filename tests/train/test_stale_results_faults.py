"""Nothing stale is reused: a benchmark result is reused only when everything that made it is the same,
and an edited or garbled result is refused in one line (issue 17)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aggregate.errors import InputError
from aggregate.manifest.split_config import SplitConfig
from train.commands import benchmark
from train.inputs import TrainOptions
from train.run_folder import RunFolder


@pytest.fixture
def counted(monkeypatch):
    """The trivial predictor, counting how often it is really computed."""
    calls = []
    real = benchmark._trivial

    def trivial(options):
        calls.append(options)
        return real(options)

    monkeypatch.setattr(benchmark, "_trivial", trivial)
    return calls


def options(shards: Path, out: Path, seed: int = 0, epochs: int = 20, fold: int = 0) -> TrainOptions:
    return TrainOptions(shards=shards, out=out, split=SplitConfig(strategy="kfold", folds=3, fold=fold, seed=seed),
                        seed=seed, epochs=epochs, verbose=0)


def test_a_result_is_reused_only_when_shards_split_seed_and_epochs_are_the_same(demo_shards, tmp_path, counted):
    out = tmp_path / "bench" / "trivial" / "fold0"
    first = benchmark._run("trivial", options(demo_shards, out))
    assert len(counted) == 1
    assert benchmark._run("trivial", options(demo_shards, out)) == first and len(counted) == 1  # resumed
    benchmark._run("trivial", options(demo_shards, out, seed=1))  # another --seed
    assert len(counted) == 2
    benchmark._run("trivial", options(demo_shards, out, seed=1, epochs=3))  # other --seed-epochs
    assert len(counted) == 3
    benchmark._run("trivial", options(demo_shards, out, seed=1, epochs=3, fold=1))  # another split
    assert len(counted) == 4
    other = tmp_path / "other-shards"  # the same shards, then changed: a shard of theirs re-sealed
    shutil.copytree(demo_shards, other)
    benchmark._run("trivial", options(other, out, seed=1, epochs=3, fold=1))
    assert len(counted) == 4  # the same bytes: the same result
    index = json.loads((other / "index.json").read_text())
    index["tool_version"] = "edited"
    (other / "index.json").write_text(json.dumps(index))
    benchmark._run("trivial", options(other, out, seed=1, epochs=3, fold=1))
    assert len(counted) == 5
    record = json.loads((out / RunFolder.BENCHMARK).read_text())
    assert record["key"]["options"]["seed"] == 1 and record["key"]["options"]["epochs"] == 3


def test_a_hand_edited_result_never_reaches_the_leaderboard(demo_shards, tmp_path, counted):
    out = tmp_path / "bench" / "trivial" / "fold0"
    benchmark._run("trivial", options(demo_shards, out))
    record = json.loads((out / RunFolder.BENCHMARK).read_text())
    record["test"]["single_label"]["unweighted_accuracy"] = 0.999
    (out / RunFolder.BENCHMARK).write_text(json.dumps(record))
    with pytest.raises(InputError, match="benchmark.json is not the file the benchmark wrote") as caught:
        benchmark._run("trivial", options(demo_shards, out))
    assert "\n" not in str(caught.value)
    assert json.loads((out / RunFolder.BENCHMARK).read_text())["test"]["single_label"]["unweighted_accuracy"] == 0.999


def test_a_garbled_result_is_one_line(demo_shards, tmp_path, counted):
    out = tmp_path / "bench" / "trivial" / "fold0"
    benchmark._run("trivial", options(demo_shards, out))
    run = RunFolder.join(out)  # garbled, and re-sealed in the marker as a careful forger would
    run.write_text(RunFolder.BENCHMARK, '{"test": {"single_label": ')
    with pytest.raises(InputError, match="benchmark.json is not a benchmark result") as caught:
        benchmark._run("trivial", options(demo_shards, out))
    assert "\n" not in str(caught.value)
