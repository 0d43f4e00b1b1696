"""The shard format: HDF5 files a collaborator can open with plain h5py, an index, and verify.

A shards folder holds everything needed to train or to check the data::

    shard-00000.h5 ...   features (N, n_mels, n_frames) float16 + labels, vote fractions, ids
    index.json           every shard (samples, bytes, sha256) and every sample id -> (shard, row)
    plan.json            what is being rendered: feature config, shard size, manifest checksum
    manifest.parquet     the manifest the shards were rendered from (and its rejects CSV)

The layout is documented in docs/shards.md.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from . import __version__
from .emotions import EMOTIONS
from .errors import InputError
from .features import FeatureConfig
from .files import atomic_write, sha256_of
from .manifest import read_manifest

FORMAT = "aggregate-shards/1"
INDEX_FILE = "index.json"
PLAN_FILE = "plan.json"
MANIFEST_FILE = "manifest.parquet"


def shard_name(number: int) -> str:
    return f"shard-{number:05d}.h5"


@dataclass
class ShardContent:
    """The arrays of one shard, in row order."""

    features: np.ndarray  # (N, n_mels, n_frames), in [-1, 1]
    labels: np.ndarray  # (N, 7) uint8 multi-hot, EMOTIONS order
    vote_fractions: np.ndarray  # (N, 7) float32: votes / raters; the multi-hot for acted corpora
    sample_ids: list[str]
    speakers: list[str]
    corpora: list[str]


def write_shard(path: Path, content: ShardContent, config: FeatureConfig, failed: list[dict]) -> None:
    """Write one whole shard under a temporary name, then rename: a shard that exists is complete."""
    atomic_write(path, lambda tmp: _write_hdf5(tmp, content, config, failed))


def _write_hdf5(tmp: str, content: ShardContent, config: FeatureConfig, failed: list[dict]) -> None:
    strings = h5py.string_dtype()
    with h5py.File(tmp, "w") as f:
        f.create_dataset("features", data=content.features.astype(config.dtype), compression=None if config.compression == "none" else config.compression,
                         chunks=(1, *config.shape))  # one chunk per sample: random reads touch one chunk
        f.create_dataset("labels", data=content.labels.astype(np.uint8).reshape(-1, len(EMOTIONS)))
        f.create_dataset("vote_fractions",
                         data=content.vote_fractions.astype(np.float32).reshape(-1, len(EMOTIONS)))
        for name, values in [("sample_id", content.sample_ids), ("speaker", content.speakers),
                             ("corpus", content.corpora)]:
            f.create_dataset(name, data=np.array(values, dtype=object), dtype=strings)
        f.attrs["format"] = FORMAT
        f.attrs["feature_config"] = json.dumps(config.to_dict(), sort_keys=True)
        f.attrs["feature_config_hash"] = config.hash()
        f.attrs["emotions"] = json.dumps(list(EMOTIONS))
        f.attrs["tool_version"] = __version__
        f.attrs["failed"] = json.dumps(failed)  # clips of this shard that could not be rendered


def read_shard_ids(path: Path) -> tuple[list[str], str, list[dict]]:
    """(sample ids, feature config hash, failed clips) of a complete shard."""
    with h5py.File(path, "r") as f:
        return (list(f["sample_id"].asstr()[:]), str(f.attrs["feature_config_hash"]),
                json.loads(f.attrs["failed"]))


def read_json(path: Path, what: str) -> dict:
    if not path.is_file():
        raise InputError(f"{path} is missing: is {path.parent} a shards folder written by `python -m aggregate render`?")
    try:
        return json.loads(path.read_text())
    except (ValueError, OSError) as err:
        raise InputError(f"{path} is not a readable {what} ({err})") from None


def build_index(folder: Path, plan: dict, shard_files: list[Path]) -> dict:
    """The index of a finished folder: every shard with its checksum, every sample's place."""
    shards, samples, failed = [], {}, []
    for path in shard_files:
        ids, _, shard_failed = read_shard_ids(path)
        shards.append({"name": path.name, "samples": len(ids), "bytes": path.stat().st_size,
                       "sha256": sha256_of(path)})
        samples.update({sample_id: [path.name, row] for row, sample_id in enumerate(ids)})
        failed += [dict(item, shard=path.name) for item in shard_failed]
    return {
        "format": FORMAT, "tool_version": __version__, "emotions": list(EMOTIONS),
        "feature_config": plan["feature_config"], "feature_config_hash": plan["feature_config_hash"],
        "shape": plan["shape"], "dtype": plan["feature_config"]["dtype"],
        "manifest": {"file": MANIFEST_FILE, "sha256": plan["manifest_sha256"]},
        "shard_size": plan["shard_size"], "shards": shards, "samples": samples, "failed": failed,
    }


def read_index(folder: Path | str) -> dict:
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder; render shards with `python -m aggregate render MANIFEST -o {folder}`")
    index = read_json(folder / INDEX_FILE, "shard index")
    if index.get("format") != FORMAT:
        raise InputError(f"{folder / INDEX_FILE} has format {index.get('format')!r}, expected {FORMAT!r}")
    return index


@dataclass
class VerifyReport:
    problems: list[str]
    shards: int
    samples: int
    failed: int


def verify_shards(folder: Path | str, progress: bool = True) -> VerifyReport:
    """Check a shards folder end to end; every problem found is named, none is fatal to the check."""
    folder = Path(folder)
    index = read_index(folder)
    problems: list[str] = []
    config_hash = index["feature_config_hash"]
    config = FeatureConfig.from_dict(index["feature_config"])
    if config.hash() != config_hash:
        problems.append(f"{INDEX_FILE}: feature_config does not hash to feature_config_hash")
    listed = {s["name"] for s in index["shards"]}
    for stray in sorted(p.name for p in folder.glob("shard-*.h5") if p.name not in listed):
        problems.append(f"{stray}: a shard file that the index does not list")

    seen: dict[str, str] = {}
    total = sum(s["samples"] for s in index["shards"])
    with tqdm(total=total, desc="verifying", unit="clip", disable=None if progress else True) as bar:
        for shard in index["shards"]:
            problems += _verify_shard(folder / shard["name"], shard, index, config, seen)
            bar.update(shard["samples"])

    failed_ids = [f["sample_id"] for f in index["failed"]]
    manifest_file = folder / MANIFEST_FILE
    if not manifest_file.is_file():
        problems.append(f"{MANIFEST_FILE}: missing; the shards cannot be traced to their clips")
    else:
        if sha256_of(manifest_file) != index["manifest"]["sha256"]:
            problems.append(f"{MANIFEST_FILE}: its checksum differs from the one the shards were rendered from")
        expected = set(read_manifest(manifest_file).clips["sample_id"])
        missing = expected - set(seen) - set(failed_ids)
        if missing:
            problems.append(f"{len(missing)} manifest rows are in no shard and not listed as failed "
                            f"(e.g. {sorted(missing)[0]}); run render again to finish")
        extra = set(seen) - expected
        if extra:
            problems.append(f"{len(extra)} samples are not in the manifest (e.g. {sorted(extra)[0]})")
    both = set(seen) & set(failed_ids)
    if both:
        problems.append(f"{len(both)} samples are both in a shard and listed as failed (e.g. {sorted(both)[0]})")
    return VerifyReport(problems, len(index["shards"]), len(seen), len(failed_ids))


def _verify_shard(path: Path, shard: dict, index: dict, config: FeatureConfig, seen: dict) -> list[str]:
    name = shard["name"]
    if not path.is_file():
        return [f"{name}: listed in the index but missing; run render again"]
    problems = []
    if path.stat().st_size != shard["bytes"] or sha256_of(path) != shard["sha256"]:
        problems.append(f"{name}: checksum differs from the index: the file changed or is corrupt")
    try:
        with h5py.File(path, "r") as f:
            if f.attrs.get("feature_config_hash") != index["feature_config_hash"]:
                problems.append(f"{name}: rendered with another feature config than the index says")
            ids = list(f["sample_id"].asstr()[:])
            features = f["features"]
            if features.shape != (len(ids), *config.shape) or features.dtype != np.dtype(config.dtype):
                problems.append(f"{name}: features are {features.shape} {features.dtype}, expected "
                                f"({len(ids)}, {config.shape[0]}, {config.shape[1]}) {config.dtype}")
            for other in ("labels", "vote_fractions", "speaker", "corpus"):
                if f[other].shape[0] != len(ids):
                    problems.append(f"{name}: {other} has {f[other].shape[0]} rows for {len(ids)} samples")
            for start in range(0, len(ids), 256):  # block by block: memory stays small
                block = features[start:start + 256].astype(np.float32)
                if not np.isfinite(block).all():
                    problems.append(f"{name}: non-finite values in rows {start}..{start + len(block) - 1}")
                elif block.size and (block.min() < config.scale_min or block.max() > config.scale_max):
                    problems.append(f"{name}: values outside [{config.scale_min}, {config.scale_max}]")
    except (OSError, KeyError) as err:
        return problems + [f"{name}: cannot be read as a shard ({err})"]
    if len(ids) != shard["samples"]:
        problems.append(f"{name}: holds {len(ids)} samples, the index says {shard['samples']}")
    for row, sample_id in enumerate(ids):
        if sample_id in seen:
            problems.append(f"{name}: sample {sample_id} is also in {seen[sample_id]}")
        seen[sample_id] = name
        if index["samples"].get(sample_id) != [name, row]:
            problems.append(f"{name}: the index places {sample_id} at {index['samples'].get(sample_id)}, "
                            f"not at row {row}")
    return problems
