"""Writing a shards folder: claiming it (lock, plan), shards written while they render, the index.

Only ``aggregate.render`` writes a folder; everything that reads one uses ``reading.py``.
"""
from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import shutil
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import InputError
from ..files import (atomic_write, make_durable, make_folder, open_own_file, refuse_link, sha256_of, temporaries_of,
                     temporary_beside)
from ..manifest.format import ManifestTable, rejects_path, write_shareable_copy
from ..owned import (SHARDS, check_not_inside_owned, check_owned, check_owned_tree, listed_files, remove_owned,
                     write_marker)
from ..recipe import FeatureConfig
from ..views.log_mel import LogMel
from ..vocabulary import EMOTIONS, INDEX_FILE, LOCK_FILE, MANIFEST_FILE, PLAN_FILE
from . import h5, view_h5
from .reading import CHECKSUM_SUFFIX, VIEW_NAME, ShardsFolder, read_json, shard_name
from .storage import StorageConfig

# Half-written files of an interrupted run: the temporary names (aggregate.files) of what this folder holds.
OWN_TEMPORARIES = tuple(temporaries_of(name) for name in ("shard-*", INDEX_FILE, PLAN_FILE, MANIFEST_FILE,
                                                         rejects_path(MANIFEST_FILE).name, SHARDS.marker))


class ShardsFolderWriter(ShardsFolder):
    """A shards folder being rendered: ``ShardsFolderWriter(path).claim(plan)``, then its shards, then its index."""

    def __init__(self, path: Path | str):
        super().__init__(path)
        self._lock = None
        self.owned: dict[str, str | None] = {}  # what its marker lists (aggregate.owned): file -> SHA-256

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
        make_folder(out, "the shards folder", "a folder")
        self._take_lock()
        if plan_file.exists():
            before = read_json(plan_file, "render plan")
            _same_plan(before, plan, out)
            # A folder never loses a view: those an earlier render planned stay planned (and are resumed).
            plan["views"] = {**_planned_views(before, plan_file), **plan.get("views", {})}
            for name, view in _planned_views(before, plan_file).items():
                if view["config_hash"] != plan["views"][name]["config_hash"]:
                    raise InputError(f"{out} holds the view {name} with another config; render into a new folder")
        # an earlier run's list (view shards are listed by their path, VIEW/shard-NNNNN.h5), resumed
        self.owned = listed_files(out, SHARDS.marker, SHARDS.writer, nested=True) or {}
        self._own(LOCK_FILE)
        for folder in [out] + [out / name for name in plan.get("views", {})]:
            for pattern in OWN_TEMPORARIES:  # ours, from an interrupted run: the lock says none is in use
                for stale in folder.glob(pattern):
                    stale.unlink(missing_ok=True)
        if not plan_file.exists() or read_json(plan_file, "render plan") != plan:
            _write(plan_file, lambda tmp: Path(tmp).write_text(json.dumps(plan, indent=1, sort_keys=True)))
            self._own(PLAN_FILE)

    def write_manifest_copy(self, source: ManifestTable) -> None:
        """Keep the manifest being rendered (``claim`` first), without this machine's folders."""
        copy = self.path / MANIFEST_FILE
        if source.path.resolve() != copy.resolve():
            try:
                write_shareable_copy(source, copy)
            except OSError as err:
                raise _write_error(copy, err) from None
            self._own(MANIFEST_FILE, rejects_path(MANIFEST_FILE).name)

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

    def discard(self, option: str = "--shards") -> None:
        """Delete a shards folder this tool wrote (the demo's, to start afresh): only the files its marker
        lists, each still as written, its views' subfolders included; anything else in it refuses it,
        named, and nothing is removed."""
        listed = check_owned(self.path, SHARDS.marker, SHARDS.writer, option, subfolders=True, nested=True)
        views = [p.name for p in self.path.iterdir() if p.is_dir() and not p.is_symlink()] if self.path.is_dir() else []
        below = check_owned_tree(self.path, SHARDS, views, option)  # every file in a view folder listed, unchanged
        remove_owned(self.path, {**{k: v for k, v in listed.items() if "/" not in k}, **below}, SHARDS.marker)

    def _own(self, *names: str, known: dict[str, str] | None = None) -> None:
        """Record files just written here in the folder's marker with their SHA-256 (``known``: name ->
        SHA-256 already computed), in one write of the marker. Names are relative to the folder."""
        self.owned.update({name: sha256_of(self.path / name) for name in names}, **(known or {}))
        try:
            write_marker(self.path, SHARDS, self.owned)
        except OSError as err:
            raise _write_error(self.path / SHARDS.marker, err) from None

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
            failed_ids = [f["sample_id"] for f in failed]  # a forged attribute (not a list of records): redo it
        except (OSError, KeyError, ValueError, TypeError):
            return False
        if retry_failed and failed:
            return False
        return config_hash == recipe_hash and sorted(ids + failed_ids) == sorted(planned_ids)

    def view_shard_is_complete(self, view: str, number: int, ids: list[str], config_hash: str) -> bool:
        """A view's shard from an earlier run counts if its bytes match its checksum, it holds exactly the
        rows ``ids`` of the log-mel shard of its number, and was computed with this config."""
        path = self.view_shard_path(view, shard_name(number))
        checksum = path.with_name(path.name + CHECKSUM_SUFFIX)
        if not path.is_file() or not checksum.is_file() or sha256_of(path) != checksum.read_text().strip():
            return False
        try:
            found, found_hash, _ = view_h5.read_view_header(path)
        except (OSError, KeyError, ValueError, TypeError):
            return False
        return found_hash == config_hash and found == list(ids)

    def write_view_shard(self, view: str, number: int, write) -> None:
        """Write a view's shard through ``write(tmp)``, then put it in place with its checksum beside it."""
        path = self.view_shard_path(view, shard_name(number))
        if shutil.disk_usage(self.path).free < (64 << 20):
            raise InputError(f"disk full at {self.path}: free space and run the same command again")
        try:
            atomic_write(path, write)
        except OSError as err:
            raise _write_error(path, err) from None
        digest = sha256_of(path)
        _write(path.with_name(path.name + CHECKSUM_SUFFIX), lambda tmp: Path(tmp).write_text(digest + "\n"))
        self._own(f"{view}/{path.name}{CHECKSUM_SUFFIX}", known={f"{view}/{path.name}": digest})

    def start_shard(self, number: int, rows: int, recipe: FeatureConfig, storage: StorageConfig) -> ShardDraft:
        """A shard of ``rows`` samples to write while it renders; see ``ShardDraft``."""
        # HDF5 can crash, not raise, when the disk fills mid-write: look before writing.
        if shutil.disk_usage(self.path).free < rows * math.prod(recipe.shape) * np.dtype(storage.dtype).itemsize + (16 << 20):
            raise InputError(f"disk full at {self.path}: free space and run the same command again")
        path = self.path / shard_name(number)
        try:
            return ShardDraft(path, rows, recipe, storage, written=self._own)
        except OSError as err:
            raise _write_error(path, err) from None

    def write_index(self, plan: dict, n_shards: int) -> None:
        """The index of a finished folder, from each shard's header and the checksum written with it."""
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
            # log_mel's config is feature_config and its shards the top-level ones (where every reader looks)
            "views": {"log_mel": {"config_hash": plan["feature_config_hash"], "folder": ".",
                                  "stored": LogMel(FeatureConfig.from_dict(plan["feature_config"])).stored(
                                      StorageConfig.from_dict(plan["storage"])).to_dict()}},
        }
        for name, view in plan.get("views", {}).items():
            entries, view_failed = [], []
            for number in range(n_shards):
                path = self.view_shard_path(name, shard_name(number))
                _, _, shard_failed = view_h5.read_view_header(path)
                digest = path.with_name(path.name + CHECKSUM_SUFFIX).read_text().strip()
                entries.append({"name": path.name, "samples": shards[number]["samples"], "bytes": path.stat().st_size,
                                "sha256": digest})
                view_failed += [dict(item, shard=path.name) for item in shard_failed]
            self.index["views"][name] = {**view, "folder": name, "shards": entries, "failed": view_failed}
        _write(self.path / INDEX_FILE, lambda tmp: Path(tmp).write_text(json.dumps(self.index, indent=1, sort_keys=True)))
        self._own(INDEX_FILE)


class ShardDraft:
    """One shard being written: rows go in as they come, in row order (``write_rows``), under a
    temporary name. ``finish`` writes the rest and only then renames it into place, with its
    checksum beside it (a shard without a matching checksum is redone); ``discard`` drops it."""

    def __init__(self, path: Path, rows: int, recipe: FeatureConfig, storage: StorageConfig, written=None):
        self.path = path
        self._written = written  # told each file put in place (the folder's marker)
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
            self.discard()  # at once: nothing half-written stays, and HDF5 holds nothing it could flush later
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
        if self._written is not None:
            self._written(checksum.name, known={self.path.name: digest})

    def discard(self) -> None:
        """Drop the shard: its file closed without writing anything more, the temporary file deleted
        (nothing, once finished)."""
        self._writer.abandon()
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




def _planned_views(plan: dict, where: Path) -> dict:
    views = plan.get("views", {})
    if not isinstance(views, dict) or not all(isinstance(v, dict) and isinstance(v.get("config_hash"), str)
                                              and VIEW_NAME.match(k) for k, v in views.items()):
        raise InputError(f"{where} lists views that are not what render writes; render into a new folder")
    return views


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
