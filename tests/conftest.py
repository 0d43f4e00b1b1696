"""Shared fixtures: the demo corpora (always) and the real samples in ../shared/data (when present)."""
from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real corpus samples not found at {SHARED_DATA} (they live beside the project, not in it)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """The synthetic demo corpora, written once per test session."""
    from aggregate.synth import write_demo_corpora

    return write_demo_corpora(tmp_path_factory.mktemp("demo"), seed=0)


@pytest.fixture(scope="session")
def demo_manifest(demo):
    from aggregate.manifest import build_manifest

    return build_manifest(demo.roots, progress=False)


@pytest.fixture(scope="session")
def demo_shards(demo_manifest, tmp_path_factory):
    """The demo manifest rendered into shards (the default feature config)."""
    from aggregate.manifest import write_manifest
    from aggregate.render import render_shards
    from aggregate.storage import StorageConfig

    folder = tmp_path_factory.mktemp("demo-shards")
    manifest = write_manifest(demo_manifest, folder / "demo.parquet")
    render_shards(manifest, folder / "shards", jobs=2, storage=StorageConfig(shard_size=64), progress=False)
    return folder / "shards"


@pytest.fixture(scope="session")
def small_manifest(demo_manifest, tmp_path_factory) -> Path:
    """Every fifth demo clip (40 clips, all four corpora): enough for several shards, quick to render."""
    from aggregate.manifest import Manifest, write_manifest

    clips = demo_manifest.clips.iloc[:200:5].reset_index(drop=True)
    path = tmp_path_factory.mktemp("manifest") / "small.parquet"
    return write_manifest(Manifest(clips, demo_manifest.rejects, demo_manifest.meta), path)


@pytest.fixture(scope="session")
def reference(small_manifest, tmp_path_factory) -> Path:
    """The small manifest rendered without interruption by the local pool, 8 clips per shard."""
    from aggregate.render import render_shards
    from aggregate.storage import StorageConfig

    out = tmp_path_factory.mktemp("reference") / "shards"
    render_shards(small_manifest, out, jobs=2, storage=StorageConfig(shard_size=8), progress=False)
    return out


def run_module(module: str, *args: str, cwd: Path):
    """``python -m MODULE ARGS`` in a fresh process, as a user runs it (TensorFlow's chatter off)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True, env=env)


@pytest.fixture(scope="session")
def tiny_run(demo_shards, tmp_path_factory) -> Path:
    """A run folder from a two-epoch run of the small paper network: for tests of what surrounds training."""
    run = tmp_path_factory.mktemp("tiny") / "run"
    result = run_module("train", "--shards", str(demo_shards), "--out", str(run), "--model", "paper-cnn",
                        "--model-option", "small=true", "--epochs", "2", cwd=run.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    return run
