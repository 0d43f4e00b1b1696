"""Fixtures of the manifest tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from aggregate.manifest.format import write_manifest


@pytest.fixture(scope="session")
def source(demo_manifest, tmp_path_factory) -> Path:
    """The demo manifest, written as a file: the input of select and --where."""
    return write_manifest(demo_manifest, tmp_path_factory.mktemp("manifest") / "demo.parquet")
