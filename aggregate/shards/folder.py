"""A shards folder, as one object: its file names, plan, index, manifest copy, readers, integrity.

Layout (docs/shards.md)::

    shard-00000.h5 ...        the features and labels (``h5.py`` knows what is inside)
    shard-00000.h5.sha256     each shard's checksum, written right after the shard itself
    plan.json                 what is being rendered: recipe, storage, the source manifest's checksum
    index.json                when complete: every shard (samples, bytes, sha256), every sample's place
    manifest.parquet          the manifest the shards were rendered from, without this machine's
                              folders (and its rejects CSV)
    .render.lock              held by the render that is writing the folder

Everything read from a folder is data received, not instructions: ``open`` checks the
index's structure, confines every shard name to the folder, and checks each shard's
SHA-256 against the index before anything is used.
"""
from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import re
import shutil
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..files import atomic_write, make_durable, open_own_file, refuse_link, sha256_of, temporary_beside
from ..owned import check_not_inside_owned
from ..progress import show_progress
from ..manifest_format import Manifest, ManifestTable, read_manifest, rejects_path, write_shareable_copy
from ..recipe import FeatureConfig
from ..storage import StorageConfig
from . import h5

INDEX_FILE = "index.json"
PLAN_FILE = "plan.json"
MANIFEST_FILE = "manifest.parquet"
LOCK_FILE = ".render.lock"
SHARD_NAME = re.compile(r"^shard-\d{5}\.h5$")
CHECKSUM_SUFFIX = ".sha256"
# Half-written files of an interrupted run: the temporary names (aggregate.files) of what this folder holds.
OWN_TEMPORARIES = (".shard-*.tmp", f".{INDEX_FILE}.*.tmp", f".{PLAN_FILE}.*.tmp", f".{MANIFEST_FILE}.*.tmp",
                   ".manifest.rejects.csv.*.tmp")


def shard_name(number: int) -> str:
    return f"shard-{number:05d}.h5"


def make_plan(recipe: FeatureConfig, storage: StorageConfig, manifest_sha256: str) -> dict:
    return {"format": h5.FORMAT, "feature_config": recipe.to_dict(), "feature_config_hash": recipe.hash(),
            "storage": storage.to_dict(), "shape": list(recipe.shape), "manifest_sha256": manifest_sha256}


class ShardsFolder:
    """One shards folder. ``ShardsFolder.open(path)`` for reading; ``ShardsFolder(path).claim(...)`` to render."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.index: dict = {}
        self._lock = None

    # -- reading -------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | str, check: bool = True, progress: bool = False) -> ShardsFolder:
        """Open a finished folder: its index, checked for structure, and (``check``) every shard's checksum."""
        folder = cls(path)
        if not folder.path.is_dir():
            raise InputError(_not_a_folder(folder.path))
        folder.index = read_json(folder.path / INDEX_FILE, "shard index")
        _check_index(folder.index, folder.path / INDEX_FILE)
        if check:
            folder.check_checksums(progress)
        return folder

    @property
    def recipe(self) -> FeatureConfig:
        return FeatureConfig.from_dict(self.index["feature_config"])

    @property
    def recipe_hash(self) -> str:
        return self.index["feature_config_hash"]

    @property
    def storage(self) -> StorageConfig:
        return StorageConfig.from_dict(self.index["storage"])

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.index["shape"])

    @property
    def emotions(self) -> list[str]:
        return list(self.index["emotions"])

    @property
    def shard_names(self) -> list[str]:
        return [s["name"] for s in self.index["shards"]]

    @property
    def places(self) -> dict[str, list]:
        """sample_id -> [shard name, row]."""
        return self.index["samples"]

    @property
    def failed(self) -> list[dict]:
        return self.index["failed"]

    def shard_path(self, name: str) -> Path:
        if not SHARD_NAME.match(name):  # never a path: "../elsewhere.h5" must not leave the folder
            raise InputError(f"{self.path / INDEX_FILE} names a shard {name!r} that is not a shard file name; "
                             "the folder is damaged or was edited: fetch or render it again")
        return self.path / name

    def check_checksums(self, progress: bool = False) -> None:
        """Refuse the folder if any shard differs from the checksum the index recorded for it."""
        total = sum(s["bytes"] for s in self.index["shards"])
        with show_progress(total, "checking checksums", "B", progress) as bar:
            for shard in self.index["shards"]:
                path = self.shard_path(shard["name"])
                if not path.is_file():
                    raise InputError(f"{path} is missing; fetch the whole folder again or run "
                                     f"`python -m aggregate render` on it to finish it")
                if path.stat().st_size != shard["bytes"] or sha256_of(path) != shard["sha256"]:
                    raise InputError(f"{path} does not match its checksum in {INDEX_FILE}: the file changed "
                                     f"or is corrupt; fetch it again, or re-render with `python -m aggregate render`")
                bar.update(shard["bytes"])

    def manifest(self) -> Manifest:
        """The manifest copy the shards were rendered from, checked against the index."""
        path = self.path / MANIFEST_FILE
        if not path.is_file():
            raise InputError(f"{path} is missing: the shards cannot be traced to their clips; "
                             "fetch the whole folder again")
        if sha256_of(path) != self.index["manifest"]["sha256"]:
            raise InputError(f"{path} differs from the manifest the shards were rendered from; "
                             "fetch the whole folder again")
        return read_manifest(path)

    def columns(self, name: str) -> dict:
        """A shard's per-sample columns (labels, vote fractions, ids, speakers, corpora, splits)."""
        return self._read(name, h5.read_columns)

    def open_shard(self, name: str):
        """An open h5py handle on one shard: open it in the thread or process that reads it."""
        return self._read(name, h5.open_file)

    def features_of(self, sample_ids) -> dict:
        """sample_id -> float32 features, for a few samples (examples, predictions)."""
        import numpy as np

        by_shard: dict[str, list] = {}
        for sample_id in sample_ids:
            shard, row = self.places[sample_id]
            by_shard.setdefault(shard, []).append((row, sample_id))
        out = {}
        for shard, items in sorted(by_shard.items()):
            with self.open_shard(shard) as handle:
                features = h5.features_of(handle)
                for row, sample_id in sorted(items):
                    out[sample_id] = features[row].astype(np.float32)
        return out

    def _read(self, name: str, how):
        path = self.shard_path(name)
        try:
            return how(path)
        except (OSError, KeyError) as err:
            raise InputError(f"{path} cannot be read as a shard ({err}); run "
                             f"`python -m aggregate verify {self.path}` and re-render") from None

    # -- writing (render) ------------------------------------------------------------------------
    def claim(self, plan: dict) -> None:
        """Lock the folder for this process and start it, or check that an existing one has this plan."""
        out = self.path
        refuse_link(out)
        check_not_inside_owned(out, "-o")
        if out.exists() and not out.is_dir():
            raise InputError(f"{out} is a file; pass a folder for the shards")
        links = sorted(p.name for p in out.iterdir() if p.is_symlink()) if out.is_dir() else []
        if links:  # nothing in a received folder may lead the writes outside it
            raise InputError(f"{out / links[0]} is a symbolic link; a shards folder holds none: remove "
                             f"{', '.join(links[:3])} or render into a new folder")
        plan_file = out / PLAN_FILE
        if not plan_file.exists() and out.is_dir() and any(out.iterdir()):
            raise InputError(f"{out} is not empty and is not a shards folder; pass a new or empty folder")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(f"cannot create the shards folder {out} ({err.strerror or err}); "
                             "pass a folder whose parent is a folder you can write") from None
        self._take_lock()
        if plan_file.exists():
            _same_plan(read_json(plan_file, "render plan"), plan, out)
        for pattern in OWN_TEMPORARIES:  # ours, from an interrupted run: the lock says none is in use
            for stale in out.glob(pattern):
                stale.unlink(missing_ok=True)
        if not plan_file.exists():
            _write(plan_file, lambda tmp: Path(tmp).write_text(json.dumps(plan, indent=1, sort_keys=True)))

    def write_manifest_copy(self, source: ManifestTable) -> None:
        """Keep the manifest being rendered (``claim`` first), without this machine's folders."""
        copy = self.path / MANIFEST_FILE
        if source.path.resolve() != copy.resolve():
            try:
                write_shareable_copy(source, copy)
            except OSError as err:
                raise _write_error(copy, err) from None

    def _take_lock(self) -> None:
        # Never through a link, never a file with another name (open_own_file): the lock is written in place.
        handle = os.fdopen(open_own_file(self.path / LOCK_FILE), "r+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise InputError(f"{self.path} is being rendered by process {holder}; wait for it to finish "
                             "(or stop it), then run the command again") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock = handle  # held until this process exits or release()

    def discard(self) -> None:
        """Delete a shards folder this tool wrote: its own files only; refuse if anything else is in it."""
        own = {INDEX_FILE, PLAN_FILE, MANIFEST_FILE, rejects_path(MANIFEST_FILE).name, LOCK_FILE}
        if not self.path.exists():
            return
        if not (self.path / PLAN_FILE).is_file():
            raise InputError(f"{self.path} is not a shards folder; pass another folder or move it away")
        others = [p.name for p in self.path.iterdir() if p.name not in own
                  and not SHARD_NAME.match(p.name.removesuffix(CHECKSUM_SUFFIX))]
        if others:
            raise InputError(f"{self.path} holds files this tool did not write ({', '.join(sorted(others)[:3])}); "
                             "move them away or pass another folder")
        for path in self.path.iterdir():
            path.unlink()
        self.path.rmdir()

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def shard_is_complete(self, number: int, planned_ids: list[str], recipe_hash: str,
                          retry_failed: bool = False) -> bool:
        """An earlier run's shard counts only if its bytes match the checksum recorded when it was
        written, and it holds exactly the planned clips (and, with ``retry_failed``, none failed)."""
        path = self.path / shard_name(number)
        checksum = path.with_name(path.name + CHECKSUM_SUFFIX)
        if not path.is_file() or not checksum.is_file():
            return False
        if sha256_of(path) != checksum.read_text().strip():
            return False  # changed since it was written: render it again
        try:
            ids, config_hash, failed = h5.read_header(path)
        except (OSError, KeyError, ValueError):
            return False
        if retry_failed and failed:
            return False
        return config_hash == recipe_hash and sorted(ids + [f["sample_id"] for f in failed]) == sorted(planned_ids)

    def start_shard(self, number: int, rows: int, recipe: FeatureConfig, storage: StorageConfig) -> ShardDraft:
        """A shard of ``rows`` samples to write while it renders; see ``ShardDraft``."""
        # HDF5 can crash, not raise, when the disk fills mid-write: look before writing.
        if shutil.disk_usage(self.path).free < rows * math.prod(recipe.shape) * np.dtype(storage.dtype).itemsize + (16 << 20):
            raise InputError(f"disk full at {self.path}: free space and run the same command again")
        path = self.path / shard_name(number)
        try:
            return ShardDraft(path, rows, recipe, storage)
        except OSError as err:
            raise _write_error(path, err) from None

    def write_index(self, plan: dict, n_shards: int) -> None:
        """The index of a finished folder, from each shard's header and the checksum written with it."""
        from .. import __version__
        from ..emotions import EMOTIONS

        shards, samples, failed = [], {}, []
        for number in range(n_shards):
            path = self.path / shard_name(number)
            ids, _, shard_failed = h5.read_header(path)
            digest = path.with_name(path.name + CHECKSUM_SUFFIX).read_text().strip()
            shards.append({"name": path.name, "samples": len(ids), "bytes": path.stat().st_size, "sha256": digest})
            samples.update({sample_id: [path.name, row] for row, sample_id in enumerate(ids)})
            failed += [dict(item, shard=path.name) for item in shard_failed]
        self.index = {
            "format": h5.FORMAT, "tool_version": __version__, "emotions": list(EMOTIONS),
            "feature_config": plan["feature_config"], "feature_config_hash": plan["feature_config_hash"],
            "storage": plan["storage"], "shape": plan["shape"],
            # the copy is checked by readers; the source's checksum ties the folder to the plan (resume)
            "manifest": {"file": MANIFEST_FILE, "sha256": sha256_of(self.path / MANIFEST_FILE),
                         "source_sha256": plan["manifest_sha256"]},
            "shards": shards, "samples": samples, "failed": failed,
        }
        _write(self.path / INDEX_FILE, lambda tmp: Path(tmp).write_text(json.dumps(self.index, indent=1, sort_keys=True)))


class ShardDraft:
    """One shard being written: rows go in as they come, in row order (``write_rows``), under a
    temporary name. ``finish`` writes the rest and only then renames it into place, with its
    checksum beside it (a shard without a matching checksum is redone); ``discard`` drops it."""

    def __init__(self, path: Path, rows: int, recipe: FeatureConfig, storage: StorageConfig):
        self.path = path
        self._tmp = temporary_beside(path)
        try:
            self._writer = h5.ShardWriter(self._tmp, rows, recipe, storage)
        except BaseException:
            Path(self._tmp).unlink(missing_ok=True)
            raise

    def write_rows(self, start: int, features) -> None:
        try:
            self._writer.write_rows(start, features)
        except OSError as err:
            raise _write_error(self.path, err) from None

    def finish(self, columns: h5.ShardColumns, failed: list[dict]) -> None:
        try:
            self._writer.finish(columns, failed)
            make_durable(self._tmp)
            os.replace(self._tmp, self.path)
        except OSError as err:
            self.discard()
            raise _write_error(self.path, err) from None
        digest = sha256_of(self.path)
        checksum = self.path.with_name(self.path.name + CHECKSUM_SUFFIX)
        _write(checksum, lambda tmp: Path(tmp).write_text(digest + "\n"))

    def discard(self) -> None:
        """Close and delete the temporary file (nothing, once finished)."""
        self._writer.close()
        Path(self._tmp).unlink(missing_ok=True)


def _write(path: Path, write) -> None:
    try:
        atomic_write(path, write)
    except OSError as err:
        raise _write_error(path, err) from None


def _write_error(path: Path, err: OSError) -> InputError:
    if err.errno in (errno.ENOSPC, errno.EDQUOT) or "No space left" in str(err):
        return InputError(f"disk full at {path}: free space and run the same command again")
    return InputError(f"cannot write {path} ({err.strerror or err}); check the folder's permissions "
                      "and free space, then run the same command again")


def _not_a_folder(path: Path) -> str:
    """What to do when a shards folder was expected: the next step for what was actually given."""
    if path.is_file() and path.suffix.lower() in (".parquet", ".pq"):  # a manifest, most likely: render it first
        return (f"{path} is a file (a manifest?), not a shards folder; render it into one with "
                f"`python -m aggregate render {path} -o shards/`, then pass shards/")
    if path.exists():
        return f"{path} is not a folder; pass the shards folder that `python -m aggregate render MANIFEST -o FOLDER` wrote"
    return f"{path} does not exist; render shards into it with `python -m aggregate render MANIFEST -o {path}`"


def read_json(path: Path, what: str) -> dict:
    if not path.is_file():
        raise InputError(f"{path} is missing: is {path.parent} a shards folder written by "
                         "`python -m aggregate render` (and finished)? Run the render again to finish it")
    try:
        data = json.loads(path.read_text())
    except (ValueError, OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path} is not a readable {what} ({err}); fetch the folder again or re-render it") from None
    if not isinstance(data, dict):
        raise InputError(f"{path} is not a {what} (a JSON object was expected); fetch the folder again or re-render it")
    return data


_INDEX_FIELDS = {"format": str, "emotions": list, "feature_config": dict, "feature_config_hash": str,
                 "storage": dict, "shape": list, "manifest": dict, "shards": list, "samples": dict, "failed": list}


def _check_index(index: dict, where: Path) -> None:
    """Refuse an index that is not what render writes, in one line, before anything trusts it."""
    def damaged(why: str) -> InputError:
        return InputError(f"{where} is damaged ({why}); fetch the shards folder again or re-render it")

    if index.get("format") != h5.FORMAT:
        raise InputError(f"{where} has format {index.get('format')!r}, expected {h5.FORMAT!r}: "
                         "render the manifest again with this version")
    for key, kind in _INDEX_FIELDS.items():
        if not isinstance(index.get(key), kind):
            raise damaged(f"'{key}' is missing or not a {kind.__name__}")
    if not all(isinstance(index["manifest"].get(k), str) for k in ("file", "sha256", "source_sha256")):
        raise damaged("'manifest' lacks its file name and checksums")
    try:
        FeatureConfig.from_dict(index["feature_config"])
        StorageConfig.from_dict(index["storage"])
    except (TypeError, ValueError) as err:
        raise damaged(f"its configs are invalid: {err}") from None
    names = set()
    for shard in index["shards"]:
        if not (isinstance(shard, dict) and isinstance(shard.get("name"), str) and SHARD_NAME.match(shard["name"])
                and isinstance(shard.get("samples"), int) and isinstance(shard.get("bytes"), int)
                and isinstance(shard.get("sha256"), str)):
            raise damaged(f"a shard entry is not a shard-NNNNN.h5 name with samples, bytes and sha256: {shard!r:.80}")
        names.add(shard["name"])
    for sample_id, place in index["samples"].items():
        if not (isinstance(place, list) and len(place) == 2 and place[0] in names and isinstance(place[1], int)):
            raise damaged(f"sample {sample_id!r:.60} is placed at {place!r:.60}, not in a listed shard")


def _same_plan(before: dict, plan: dict, out: Path) -> None:
    if before.get("feature_config_hash") != plan["feature_config_hash"]:
        changed = sorted(k for k, v in plan["feature_config"].items() if before.get("feature_config", {}).get(k) != v)
        raise InputError(f"{out} holds shards of another feature config (differs in: {', '.join(changed) or '?'}); "
                         "render into a new folder")
    if before.get("storage") != plan["storage"]:
        raise InputError(f"{out} was started with storage {before.get('storage')}; resume with the same "
                         "--shard-size and --storage options, or render into a new folder")
    if before.get("manifest_sha256") != plan["manifest_sha256"]:
        raise InputError(f"{out} holds shards of another manifest; render into a new folder")
