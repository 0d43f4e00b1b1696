"""``python -m aggregate verify``: check a shards folder end to end and name every problem."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..files import sha256_of
from ..progress import show_progress
from ..vocabulary import CLIP_COLUMNS, EMOTIONS, PLAN_FILE
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

    try:
        manifest = folder.manifest().clips
    except InputError as err:
        problems.append(str(err))
        manifest = None
    seen: dict[str, str] = {}
    with show_progress(sum(s["samples"] for s in index["shards"]), "verifying", "clip", progress) as bar:
        for shard in index["shards"]:
            problems += _verify_shard(folder, shard, recipe, storage, seen)
            if manifest is not None and folder.shard_path(shard["name"]).is_file():
                problems += _compare_with_manifest(folder, shard["name"], manifest)
            bar.update(shard["samples"])

    for view, entry in folder.views.items():
        if view != "log_mel":
            problems += _verify_view(folder, view, entry)

    failed_ids = [f.get("sample_id") for f in folder.failed]
    if manifest is not None:
        expected = set(manifest["sample_id"])
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


def _compare_with_manifest(folder: ShardsFolder, name: str, manifest) -> list[str]:
    """A shard's ids, labels, speakers, corpora and splits against the manifest copy's rows: checksums
    re-sealed after an edit (a flipped label) pass every other check, not this one."""
    import pandas as pd
    try:
        columns = h5.read_columns(folder.shard_path(name))
    except (OSError, KeyError, ValueError):
        return []  # _verify_shard has named it
    rows = manifest.set_index("sample_id", drop=False)
    problems = []
    for row, sample_id in enumerate(columns["sample_id"]):
        if sample_id not in rows.index:
            continue  # counted below as not in the manifest
        clip = rows.loc[sample_id]
        labels = [int(clip[f"label_{e}"]) for e in EMOTIONS]
        if list(columns["labels"][row]) != labels:
            problems.append(f"{name}: sample {sample_id} has labels {list(columns['labels'][row])}, the manifest "
                            f"copy {labels}: the shard or the copy was edited")
        for column in CLIP_COLUMNS[1:]:
            value = "" if column not in clip or pd.isna(clip[column]) else str(clip[column])
            if str(columns[column][row]) != value:
                problems.append(f"{name}: sample {sample_id} has {column} {columns[column][row]!r}, the manifest "
                                f"copy {value!r}: the shard or the copy was edited")
        if len(problems) > 20:
            return problems + [f"{name}: more rows differ from the manifest copy"]
    return problems


def _check_plan(folder: ShardsFolder) -> list[str]:
    """plan.json says what was rendered; it must still say what the index says."""
    try:
        plan = read_json(folder.path / PLAN_FILE, "render plan")
    except InputError as err:
        return [f"{PLAN_FILE}: {err}"]
    expected = make_plan(folder.recipe, folder.storage, folder.index["manifest"]["source_sha256"])
    differs = sorted(k for k in expected if plan.get(k) != expected[k])
    views = {name: entry["config_hash"] for name, entry in folder.views.items() if name != "log_mel"}
    planned = plan.get("views", {})
    planned = {n: v.get("config_hash") if isinstance(v, dict) else None
               for n, v in (planned.items() if isinstance(planned, dict) else [("?", None)])}
    problems = []
    if set(planned) > set(views) and all(planned[n] == views[n] for n in views):
        problems.append(f"{PLAN_FILE}: plans the view {', '.join(sorted(set(planned) - set(views)))} that the index "
                        "lacks: a render adding it was stopped; run it again to finish")
    elif planned != views:
        differs.append("views")
    if differs:
        problems.append(f"{PLAN_FILE}: differs from the index in {', '.join(differs)}: it was edited")
    return problems


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


def _verify_view(folder: ShardsFolder, view: str, entry: dict) -> list[str]:
    """A view's shards: checksums, layout, the log-mel shard's rows in its order, values as promised,
    its failures listed; and nothing else in its folder."""
    import h5py

    from ..views import VIEWS
    from ..views.base import Stored
    from . import view_h5

    stored, problems = Stored.from_dict(entry["stored"]), []
    if view in VIEWS:
        try:
            if VIEWS[view](VIEWS[view].config_from_dict(entry["config"])).config_hash() != entry["config_hash"]:
                problems.append(f"index.json: the {view} view's config does not hash to its config_hash")
        except (TypeError, ValueError) as err:
            problems.append(f"index.json: the {view} view's config is invalid ({err})")
    listed = {s["name"] for s in entry["shards"]}
    for stray in sorted(p.name for p in (folder.path / view).glob("*.h5") if p.name not in listed):
        problems.append(f"{view}/{stray}: an HDF5 file that the index does not list")
    failed = {f.get("sample_id") for f in entry["failed"]}
    for shard in entry["shards"]:
        name, path = f"{view}/{shard['name']}", folder.view_shard_path(view, shard["name"])
        if not path.is_file():
            problems.append(f"{name}: listed in the index but missing; run render again")
            continue
        if path.stat().st_size != shard["bytes"] or sha256_of(path) != shard["sha256"]:
            problems.append(f"{name}: checksum differs from the index: the file changed or is corrupt")
        sidecar = path.with_name(path.name + CHECKSUM_SUFFIX)
        if not sidecar.is_file() or sidecar.read_text().strip() != shard["sha256"]:
            problems.append(f"{name + CHECKSUM_SUFFIX}: missing or not the checksum the index records")
        try:
            with h5py.File(path, "r") as f:
                view_h5.check_view_layout(f, path, view, shard["samples"], stored)
                ids = list(f["sample_id"].asstr()[:])
                if f.attrs.get("view_config_hash") != entry["config_hash"]:
                    problems.append(f"{name}: computed with another {view} config than the index says")
                base = [s for s, place in folder.places.items() if place[0] == shard["name"]]
                if sorted(base, key=lambda s: folder.places[s][1]) != ids:
                    problems.append(f"{name}: its rows are not those of the log-mel {shard['name']}")
                present = view_h5.read_present(f)
                absent = {ids[r] for r in range(len(ids)) if not present[r]}
                if absent != {i for i in ids if i in failed}:
                    problems.append(f"{name}: rows without a value are not those its failed list names")
                for start in range(0, len(ids), 64):  # block by block: memory stays small
                    rows = range(start, min(start + 64, len(ids)))
                    view_h5.check_view_values(view_h5.read_rows(f, view, rows), present[start:rows.stop], stored, name)
        except h5.ShardLayoutError as err:
            problems.append(f"{name}: {str(err).removeprefix(f'{path}: ')}")
        except (OSError, KeyError, ValueError) as err:
            problems.append(f"{name}: cannot be read as a {view} shard ({err})")
    return problems
