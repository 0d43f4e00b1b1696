"""Rendering shards: contents, resuming after a crash, failures, verify, other roots, Dask."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from aggregate.errors import InputError
from aggregate.manifest.format import write_manifest
from aggregate.recipe import FeatureConfig
from aggregate.render.run import render_shards
from aggregate.shards.reading import ShardsFolder
from aggregate.shards.storage import StorageConfig
from aggregate.shards.verify import verify_shards
from aggregate.vocabulary import CLIP_COLUMNS, EMOTIONS
from helpers import assert_same_shard

PROJECT = Path(__file__).resolve().parents[2]


def read_index(folder: Path) -> dict:
    return ShardsFolder.open(folder).index


def test_shards_hold_what_the_manifest_says(reference, small_manifest, demo_manifest):
    index = read_index(reference)
    clips = demo_manifest.clips.set_index("sample_id")
    assert len(index["shards"]) == 5 and len(index["samples"]) == 40 and not index["failed"]
    assert index["feature_config_hash"] == FeatureConfig().hash()
    for shard in index["shards"]:
        with h5py.File(reference / shard["name"], "r") as f:  # plain h5py, no plugin
            assert f["features"].shape == (shard["samples"], 200, 278)
            assert f["features"].dtype == np.float16
            assert f.attrs["feature_config_hash"] == FeatureConfig().hash()
            assert json.loads(f.attrs["emotions"]) == list(EMOTIONS)
            assert FeatureConfig.from_dict(json.loads(f.attrs["feature_config"])) == FeatureConfig()
            ids = list(f["sample_id"].asstr()[:])
            rows = clips.loc[ids]
            assert (f["labels"][:] == rows[[f"label_{e}" for e in EMOTIONS]].to_numpy()).all()
            assert list(f["speaker"].asstr()[:]) == list(rows["speaker"])
            assert list(f["corpus"].asstr()[:]) == list(rows["corpus"])
            fractions = f["vote_fractions"][:]
            for row, (sample_id, clip) in enumerate(rows.iterrows()):
                assert index["samples"][sample_id] == [shard["name"], row]
                if clip["corpus"] in ("iemocap", "crema-d"):
                    votes = np.array([0 if pd.isna(clip[f"votes_{e}"]) else clip[f"votes_{e}"] for e in EMOTIONS])
                    assert np.allclose(fractions[row], votes / clip["n_raters"])
                else:
                    assert (fractions[row] == f["labels"][row]).all()
            features = f["features"][:].astype(np.float32)
            assert np.isfinite(features).all() and features.min() >= -1 and features.max() <= 1
    assert (reference / "manifest.parquet").is_file()
    assert verify_shards(reference, progress=False).problems == []


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_result(reference, small_manifest, tmp_path):
    out = tmp_path / "shards"
    command = [sys.executable, "-m", "aggregate", "render", str(small_manifest), "-o", str(out),
               "--jobs", "1", "--shard-size", "8", "-q"]
    process = subprocess.Popen(command, cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(PROJECT)))
    deadline = time.time() + 120
    while not (out / "shard-00001.h5.sha256").exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (out / "index.json").exists(), "the run finished before it could be killed"
    # a shard left half-written by a crash under its final name must not be trusted either
    (out / "shard-00000.h5").write_bytes(b"\x89HDF\r\n\x1a\n truncated")

    result = render_shards(small_manifest, out, jobs=2, storage=StorageConfig(shard_size=8), progress=False)
    assert result.rendered >= 3 and result.skipped >= 1
    assert read_index(out) == read_index(reference)
    assert not list(out.glob(".*.tmp"))
    again = render_shards(small_manifest, out, jobs=2, storage=StorageConfig(shard_size=8), progress=False)
    assert again.rendered == 0 and again.skipped == 5


def test_another_feature_config_is_refused(reference, small_manifest):
    before = sorted(p.name for p in reference.iterdir())
    other = replace(FeatureConfig(), n_mels=128)
    with pytest.raises(InputError, match="another feature config.*n_mels"):
        render_shards(small_manifest, reference, other, storage=StorageConfig(shard_size=8), progress=False)
    with pytest.raises(InputError, match="--shard-size"):
        render_shards(small_manifest, reference, storage=StorageConfig(shard_size=16), progress=False)
    assert sorted(p.name for p in reference.iterdir()) == before


def three_takes(tmp_path: Path) -> tuple[Path, Path]:
    """A manifest of three RAVDESS takes of one actor: (its path, the actor's folder)."""
    from helpers import write_wav

    from aggregate.manifest.build import build_manifest

    actor = tmp_path / "corpus" / "Actor_01"
    for take in range(1, 4):
        write_wav(actor / f"03-01-05-01-01-0{take}-01.wav", rate=48000)
    manifest = write_manifest(build_manifest({"ravdess": tmp_path / "corpus"}, progress=False),
                              tmp_path / "m.parquet")
    return manifest, actor


@pytest.mark.slow
def test_a_clip_that_fails_is_listed_and_the_rest_rendered(tmp_path):
    manifest, actor = three_takes(tmp_path)
    (actor / "03-01-05-01-01-02-01.wav").write_bytes(b"RIFF broken after the manifest was built")
    out = tmp_path / "shards"
    result = subprocess.run([sys.executable, "-m", "aggregate", "render", str(manifest), "-o", str(out),
                             "--jobs", "1", "-q"], cwd=tmp_path, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(PROJECT)))
    assert result.returncode == 1, result.stderr
    assert "1 clips failed" in result.stdout and "ravdess/03-01-05-01-01-02-01" in result.stdout
    index = read_index(out)
    assert [f["sample_id"] for f in index["failed"]] == ["ravdess/03-01-05-01-01-02-01"]
    assert sorted(index["samples"]) == ["ravdess/03-01-05-01-01-01-01", "ravdess/03-01-05-01-01-03-01"]
    assert verify_shards(out, progress=False).problems == []


@pytest.mark.slow
def test_verify_names_what_is_wrong(reference, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(reference, broken)
    shard = broken / "shard-00001.h5"
    data = bytearray(shard.read_bytes())
    data[-100] ^= 0xFF
    shard.write_bytes(bytes(data))
    (broken / "shard-00003.h5").unlink()
    problems = verify_shards(broken, progress=False).problems
    assert any("shard-00001.h5: checksum differs" in p for p in problems)
    assert any("shard-00003.h5: listed in the index but missing" in p for p in problems)
    assert any("manifest rows are in no shard" in p for p in problems)
    result = subprocess.run([sys.executable, "-m", "aggregate", "verify", str(broken), "-q"],
                            capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(PROJECT)))
    assert result.returncode == 1 and "problem: shard-00003.h5" in result.stdout


def test_a_collaborator_points_at_their_own_copy(small_manifest, demo, tmp_path):
    moved = tmp_path / "elsewhere"
    shutil.copytree(demo.roots["tess"], moved)
    meta_root = Path(json.loads(__import__("pyarrow.parquet", fromlist=["x"]).read_schema(small_manifest)
                                .metadata[b"aggregate"])["roots"]["tess"])
    assert meta_root == demo.roots["tess"].resolve()
    gone = tmp_path / "gone.parquet"
    from aggregate.manifest.format import read_manifest
    manifest = read_manifest(small_manifest)
    manifest.meta["roots"]["tess"] = str(tmp_path / "not-here")
    write_manifest(manifest, gone)
    with pytest.raises(InputError, match=r"tess: the corpus folder .*not-here.* --root tess=DIR"):
        render_shards(gone, tmp_path / "a", storage=StorageConfig(shard_size=8), progress=False)
    result = render_shards(gone, tmp_path / "b", storage=StorageConfig(shard_size=8), roots={"tess": str(moved)}, progress=False)
    assert not result.failed and result.samples == len(manifest.clips)


def test_dask_cluster_gives_the_same_shards(reference, small_manifest, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", processes=True,
                                  dashboard_address=None) as cluster:
        out = tmp_path / "dask"
        result = render_shards(small_manifest, out, storage=StorageConfig(shard_size=8), backend="dask", scheduler=cluster.scheduler_address,
                               progress=False)
    assert result.rendered == 5
    assert read_index(out) == read_index(reference)
    for shard in sorted(reference.glob("shard-*.h5")):  # the reference: --jobs 2, local workers
        assert_same_shard(out / shard.name, shard)


def test_jobs_change_the_tasks_not_the_bytes(reference, small_manifest, tmp_path):
    from aggregate.render.run import chunk_size
    from aggregate.render.worker import MAX_CHUNK, MIN_CHUNK

    sizes, left = [], 400
    while left:
        sizes.append(min(chunk_size(left, 2), left))
        left -= sizes[-1]
    # large tasks first, small ones last: the two workers finish together
    assert sizes[0] == MAX_CHUNK and sizes == sorted(sizes, reverse=True) and max(sizes[-3:]) <= MIN_CHUNK
    out = tmp_path / "one-job"
    render_shards(small_manifest, out, jobs=1, storage=StorageConfig(shard_size=8), progress=False)
    for shard in sorted(reference.glob("shard-*.h5")):
        assert_same_shard(out / shard.name, shard)


def test_a_shard_written_while_it_renders_is_the_shard_written_at_once(reference, tmp_path):
    from aggregate.shards import h5

    with h5py.File(reference / "shard-00001.h5", "r") as f:
        features = f["features"][:]
        columns = h5.ShardColumns(labels=f["labels"][:], vote_fractions=f["vote_fractions"][:],
                                  **{name: list(f[name].asstr()[:]) for name in CLIP_COLUMNS})
    files = []
    for cuts in ([0, 8], [0, 1, 2, 5, 8], [0, 3, 8]):
        path = tmp_path / f"cut-{len(files)}.h5"
        writer = h5.ShardWriter(str(path), len(features), FeatureConfig(), StorageConfig(shard_size=8))
        for start, stop in zip(cuts, cuts[1:]):
            writer.write_rows(start, features[start:stop])
        writer.finish(columns, [])
        files.append(path.read_bytes())
    assert files[0] == (reference / "shard-00001.h5").read_bytes()
    assert all(data == files[0] for data in files)


def test_a_shard_with_a_failed_clip_is_written_whole_and_the_same_for_any_jobs(small_manifest, tmp_path):
    from aggregate.manifest.format import read_manifest
    from aggregate.render.run import chunk_size

    manifest = read_manifest(small_manifest)
    tess = manifest.clips[manifest.clips["corpus"] == "tess"]
    copy = tmp_path / "tess"
    shutil.copytree(manifest.meta["roots"]["tess"], copy)
    (copy / tess["path"].iloc[0]).write_bytes(b"RIFF broken after the manifest was built")
    sixteen = StorageConfig(shard_size=16)
    assert chunk_size(40, 1) >= 16 > chunk_size(40, 3)  # one task per shard, or several arriving in any order
    outs = []
    for jobs in (1, 3):
        out = tmp_path / f"jobs-{jobs}"
        result = render_shards(small_manifest, out, jobs=jobs, storage=sixteen, roots={"tess": str(copy)},
                               progress=False)
        assert [f["sample_id"] for f in result.failed] == [tess["sample_id"].iloc[0]]
        assert verify_shards(out, progress=False).problems == []
        outs.append(out)
    broken = f"shard-{int(tess.index[0]) // 16:05d}.h5"
    with h5py.File(outs[1] / broken, "r") as f:
        assert f["features"].shape[0] == 15 and tess["sample_id"].iloc[0] not in list(f["sample_id"].asstr()[:])
    assert sorted(p.name for p in outs[0].glob("shard-*.h5")) == ["shard-00000.h5", "shard-00001.h5", "shard-00002.h5"]
    for shard in sorted(outs[0].glob("shard-*.h5")):
        assert_same_shard(outs[1] / shard.name, shard)


def test_a_shard_whose_every_clip_failed_is_written_empty(tmp_path):
    manifest, actor = three_takes(tmp_path)
    for take in range(1, 3):
        (actor / f"03-01-05-01-01-0{take}-01.wav").write_bytes(b"RIFF broken")
    out = tmp_path / "shards"
    result = render_shards(manifest, out, jobs=2, storage=StorageConfig(shard_size=2), progress=False)
    assert len(result.failed) == 2 and result.samples == 1
    with h5py.File(out / "shard-00000.h5", "r") as f:
        assert f["features"].shape == (0, 200, 278) and len(json.loads(f.attrs["failed"])) == 2
    assert verify_shards(out, progress=False).problems == []


@pytest.mark.slow
def test_the_cli_writes_the_same_bytes_for_any_jobs(small_manifest, tmp_path):
    """`python -m aggregate render --jobs N` as a user runs it: with a failed clip inside a task,
    the shards are byte for byte those of --jobs 1."""
    from aggregate.manifest.format import read_manifest

    manifest = read_manifest(small_manifest)
    tess = manifest.clips[manifest.clips["corpus"] == "tess"]
    copy = tmp_path / "tess"
    shutil.copytree(manifest.meta["roots"]["tess"], copy)
    (copy / tess["path"].iloc[1]).write_bytes(b"RIFF broken after the manifest was built")  # inside a task
    outs = {}
    for jobs in (1, 2):
        outs[jobs] = tmp_path / f"jobs-{jobs}"
        result = subprocess.run([sys.executable, "-m", "aggregate", "render", str(small_manifest), "-o",
                                 str(outs[jobs]), "--jobs", str(jobs), "--root", f"tess={copy}", "-q"],
                                capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(PROJECT)))
        assert result.returncode == 1 and "1 clips failed" in result.stdout, result.stderr
    shards = sorted(p.name for p in outs[1].glob("shard-*.h5"))
    assert shards
    for name in shards:
        assert_same_shard(outs[2] / name, outs[1] / name)
    assert verify_shards(outs[2], progress=False).problems == []
