"""What a card describes: a manifest file, or a shards folder with its manifest copy and features."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..manifest import Manifest, read_manifest, rejects_path

EXPECTED = ("expected a manifest .parquet written by `python -m aggregate manifest` "
            "or a shards folder written by `python -m aggregate render`")


@dataclass
class Source:
    """The manifest, where it came from, and the shards if any."""

    manifest: Manifest
    manifest_file: Path
    crop_s: float  # the feature config's duration: every clip is cropped or padded to it
    shards: Path | None = None
    index: dict | None = None
    rejects_known: bool = True  # False when the rejects CSV was not beside the manifest


def load_source(source: Path) -> Source:
    """Read a manifest file or a shards folder, or raise InputError saying what was expected."""
    from ..features import FeatureConfig

    if not source.exists():
        raise InputError(f"{source} does not exist; {EXPECTED}")
    if not source.is_dir():
        manifest = _read(source)
        return Source(manifest, source, FeatureConfig().duration_s, rejects_known=rejects_path(source).is_file())
    from ..shards import INDEX_FILE, MANIFEST_FILE, read_index

    if not (source / INDEX_FILE).is_file():
        raise InputError(f"{source} is a folder but not a shards folder (it has no {INDEX_FILE}); {EXPECTED}")
    try:
        index = read_index(source)
    except InputError as err:
        raise InputError(f"{err}; {EXPECTED}") from None
    manifest_file = source / MANIFEST_FILE
    if not manifest_file.is_file():
        raise InputError(f"{source} is a shards folder without its {MANIFEST_FILE} copy; render it again "
                         "with `python -m aggregate render` or pass the manifest .parquet itself")
    crop = float(index.get("feature_config", {}).get("duration_s", FeatureConfig().duration_s))
    return Source(_read(manifest_file), manifest_file, crop, source, index, rejects_path(manifest_file).is_file())


def _read(path: Path) -> Manifest:
    try:
        manifest = read_manifest(path)
    except InputError as err:
        raise InputError(f"{err}; {EXPECTED}") from None
    except (KeyError, ValueError, TypeError) as err:  # a Parquet file with our key but not our columns
        raise InputError(f"{path} is not a manifest this tool can read ({err}); {EXPECTED}") from None
    missing = [c for c in ("sample_id", "corpus", "speaker", "duration", "n_labels") if c not in manifest.clips]
    if missing:
        raise InputError(f"{path} lacks the manifest column(s) {', '.join(missing)}; {EXPECTED}")
    return manifest


def read_features(src: Source, sample_ids: list[str]) -> dict[str, np.ndarray]:
    """The stored spectrogram of each of ``sample_ids`` (clips of ``src.index``), by sample id."""
    import h5py

    by_shard: dict[str, list[tuple[str, int]]] = {}
    for sample_id in sample_ids:
        shard, row = src.index["samples"][sample_id]
        by_shard.setdefault(shard, []).append((sample_id, int(row)))
    arrays = {}
    for shard, items in sorted(by_shard.items()):
        path = src.shards / shard
        try:
            with h5py.File(path, "r") as f:
                for sample_id, row in items:
                    arrays[sample_id] = np.asarray(f["features"][row], dtype=np.float32)
        except OSError as err:
            raise InputError(f"{path} cannot be read ({err}); check the folder with "
                             f"`python -m aggregate verify {src.shards}`") from None
    return arrays
