"""``python -m aggregate verify``: check a shards folder end to end and name every problem."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..files import sha256_of
from ..progress import show_progress
from ..vocabulary import PLAN_FILE
from . import h5
from .reading import CHECKSUM_SUFFIX, ShardsFolder, make_plan, read_json


@dataclass
class VerifyReport:
    problems: list[str]
    shards: int
    samples: int
    failed: int

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_shards(path: Path | str, progress: bool = True) -> VerifyReport:
    """Check every shard (checksum, shapes, dtype, values, ids), the plan, and coverage of the manifest.

    A damaged index stops the check with one line; every other problem is collected and named.
    """
    folder = ShardsFolder.open(path, check=False)
    index, problems = folder.index, []
    recipe, storage = folder.recipe, folder.storage
    if recipe.hash() != folder.recipe_hash:
        problems.append("index.json: feature_config does not hash to feature_config_hash")
    problems += _check_plan(folder)
    listed = set(folder.shard_names)
    for stray in sorted(p.name for p in folder.path.glob("*.h5") if p.name not in listed):
        problems.append(f"{stray}: an HDF5 file that the index does not list")

    seen: dict[str, str] = {}
    with show_progress(sum(s["samples"] for s in index["shards"]), "verifying", "clip", progress) as bar:
        for shard in index["shards"]:
            problems += _verify_shard(folder, shard, recipe, storage, seen)
            bar.update(shard["samples"])

    failed_ids = [f.get("sample_id") for f in folder.failed]
    try:
        expected = set(folder.manifest().clips["sample_id"])
    except InputError as err:
        problems.append(str(err))
    else:
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


def _check_plan(folder: ShardsFolder) -> list[str]:
    """plan.json says what was rendered; it must still say what the index says."""
    try:
        plan = read_json(folder.path / PLAN_FILE, "render plan")
    except InputError as err:
        return [f"{PLAN_FILE}: {err}"]
    expected = make_plan(folder.recipe, folder.storage, folder.index["manifest"]["source_sha256"])
    differs = sorted(k for k in expected if plan.get(k) != expected[k])
    return [f"{PLAN_FILE}: differs from the index in {', '.join(differs)}: it was edited"] if differs else []


def _verify_shard(folder: ShardsFolder, shard: dict, recipe, storage, seen: dict) -> list[str]:
    name = shard["name"]
    path = folder.shard_path(name)
    if not path.is_file():
        return [f"{name}: listed in the index but missing; run render again"]
    problems = []
    digest = sha256_of(path)
    if path.stat().st_size != shard["bytes"] or digest != shard["sha256"]:
        problems.append(f"{name}: checksum differs from the index: the file changed or is corrupt")
    sidecar = path.with_name(name + CHECKSUM_SUFFIX)
    if not sidecar.is_file() or sidecar.read_text().strip() != shard["sha256"]:
        problems.append(f"{name + CHECKSUM_SUFFIX}: missing or not the checksum the index records")
    try:
        shard_problems, ids = h5.check(path, shard["samples"], recipe, storage, folder.recipe_hash)
    except (OSError, KeyError, ValueError) as err:
        return problems + [f"{name}: cannot be read as a shard ({err})"]
    problems += shard_problems
    for row, sample_id in enumerate(ids):
        if sample_id in seen:
            problems.append(f"{name}: sample {sample_id} is also in {seen[sample_id]}")
        seen[sample_id] = name
        if folder.places.get(sample_id) != [name, row]:
            problems.append(f"{name}: the index places {sample_id} at {folder.places.get(sample_id)}, not at row {row}")
    return problems
