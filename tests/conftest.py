"""Shared fixtures: the demo corpora (always) and the real samples in ../shared/data (when present)."""
from __future__ import annotations

from pathlib import Path

import pytest
from helpers import run_module

try:  # before any test imports TensorFlow: openSMILE's library crashes in a process that loaded it first
    import opensmile  # noqa: F401
except ImportError:  # the opensmile extra is not installed: its tests skip
    pass

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real corpus samples not found at {SHARED_DATA} (they live beside the project, not in it)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """The synthetic demo corpora, written once per test session."""
    from aggregate.demo.corpora import write_demo_corpora

    return write_demo_corpora(tmp_path_factory.mktemp("demo"), seed=0)


@pytest.fixture(scope="session")
def demo_manifest(demo):
    from aggregate.manifest.build import build_manifest

    return build_manifest(demo.roots, progress=False)


@pytest.fixture(scope="session")
def demo_shards(demo_manifest, tmp_path_factory):
    """The demo manifest rendered into shards (the default feature config)."""
    from aggregate.manifest.format import write_manifest
    from aggregate.render.run import render_shards
    from aggregate.shards.storage import StorageConfig

    folder = tmp_path_factory.mktemp("demo-shards")
    manifest = write_manifest(demo_manifest, folder / "demo.parquet")
    render_shards(manifest, folder / "shards", jobs=2, storage=StorageConfig(shard_size=64), progress=False)
    return folder / "shards"


@pytest.fixture(scope="session")
def small_manifest(demo_manifest, tmp_path_factory) -> Path:
    """Every fifth demo clip (40 clips, all four corpora): enough for several shards, quick to render."""
    from aggregate.manifest.format import Manifest, write_manifest

    clips = demo_manifest.clips.iloc[:200:5].reset_index(drop=True)
    path = tmp_path_factory.mktemp("manifest") / "small.parquet"
    return write_manifest(Manifest(clips, demo_manifest.rejects, demo_manifest.meta), path)


@pytest.fixture(scope="session")
def reference(small_manifest, tmp_path_factory) -> Path:
    """The small manifest rendered without interruption by the local pool, 8 clips per shard."""
    from aggregate.render.run import render_shards
    from aggregate.shards.storage import StorageConfig

    out = tmp_path_factory.mktemp("reference") / "shards"
    render_shards(small_manifest, out, jobs=2, storage=StorageConfig(shard_size=8), progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_run(demo_shards, tmp_path_factory) -> Path:
    """A run folder from a two-epoch run of the small paper network: for tests of what surrounds training."""
    run = tmp_path_factory.mktemp("tiny") / "run"
    result = run_module("train", "--shards", str(demo_shards), "--out", str(run), "--model", "paper-cnn",
                        "--model-option", "small=true", "--epochs", "2", cwd=run.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    return run
