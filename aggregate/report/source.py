"""What a card describes: a manifest file, or a shards folder with its manifest copy and features."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..manifest.format import Manifest, read_manifest, rejects_path
from ..shards.reading import ShardsFolder
from ..vocabulary import INDEX_FILE, MANIFEST_FILE

EXPECTED = ("expected a manifest .parquet written by `python -m aggregate manifest` "
            "or a shards folder written by `python -m aggregate render`")


@dataclass
class Source:
    """The manifest, where it came from, and the shards if any."""

    manifest: Manifest
    manifest_file: Path
    crop_s: float  # the feature config's duration: every clip is cropped or padded to it
    shards: ShardsFolder | None = None
    rejects_known: bool = True  # False when the rejects CSV was not beside the manifest

    @property
    def index(self) -> dict | None:
        return self.shards.index if self.shards is not None else None


def load_source(source: Path) -> Source:
    """Read a manifest file or a shards folder, or raise InputError saying what was expected."""
    from ..recipe import FeatureConfig

    if not source.exists():
        raise InputError(f"{source} does not exist; {EXPECTED}")
    if not source.is_dir():
        manifest = _read(source)
        return Source(manifest, source, FeatureConfig().duration_s, rejects_known=rejects_path(source).is_file())
    if not (source / INDEX_FILE).is_file():
        raise InputError(f"{source} is a folder but not a shards folder (it has no {INDEX_FILE}); {EXPECTED}")
    try:
        folder = ShardsFolder.open(source, progress=True)  # checksums first: a card must not describe corrupt data
        manifest = folder.manifest()
    except InputError as err:
        raise InputError(f"{err}; {EXPECTED}") from None
    manifest_file = source / MANIFEST_FILE
    return Source(manifest, manifest_file, folder.recipe.duration_s, folder, rejects_path(manifest_file).is_file())


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
