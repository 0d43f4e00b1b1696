"""A shards folder, read: its layout, plan, index, manifest copy, readers, integrity.

Writing one is ``writing.py``'s (``ShardsFolderWriter``, used by ``aggregate.render``).

Layout (docs/shards.md)::

    shard-00000.h5 ...        the features and labels (``h5.py`` knows what is inside)
    shard-00000.h5.sha256     each shard's checksum, written right after the shard itself
    plan.json                 what is being rendered: recipe, storage, the source manifest's checksum
    index.json                when complete: every shard (samples, bytes, sha256), every sample's place
    manifest.parquet          the manifest the shards were rendered from, without this machine's
                              folders (and its rejects CSV)
    .render.lock              held by the render that is writing the folder
    .aggregate-shards         the files the render wrote, each with its SHA-256 (``aggregate.owned``)

Everything read from a folder is data received, not instructions: ``open`` checks the
index's structure, confines every shard name to the folder, and checks each shard's
SHA-256 against the index before anything is used.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError
from ..files import sha256_of
from ..progress import show_progress
from ..recipe import FeatureConfig
from ..vocabulary import EMOTIONS, INDEX_FILE, MANIFEST_FILE
from . import h5, view_h5
from .storage import StorageConfig

if TYPE_CHECKING:
    from ..manifest.format import Manifest

SHARD_NAME = re.compile(r"^shard-\d{5}\.h5$")
VIEW_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")  # a view's subfolder: never a path
CHECKSUM_SUFFIX = ".sha256"



def shard_name(number: int) -> str:
    return f"shard-{number:05d}.h5"


def make_plan(recipe: FeatureConfig, storage: StorageConfig, manifest_sha256: str) -> dict:
    return {"format": h5.FORMAT, "feature_config": recipe.to_dict(), "feature_config_hash": recipe.hash(),
            "storage": storage.to_dict(), "shape": list(recipe.shape), "manifest_sha256": manifest_sha256}


class ShardsFolder:
    """One finished shards folder, opened with ``ShardsFolder.open(path)``."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.index: dict = {}
        self._seen: dict[str, tuple] = {}  # shard name -> the file's identity when it was checked (_identity)

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
        else:
            folder._seen = {_key(view, s["name"]): _identity(folder.view_shard_path(view, s["name"]))
                            for view, entry in folder.views.items()
                            for s in (folder.index["shards"] if view == "log_mel" else entry["shards"])
                            if folder.view_shard_path(view, s["name"]).is_file()}  # a missing one is verify's
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

    @property
    def views(self) -> dict[str, dict]:
        """The views the folder holds: name -> its index entry (config, config_hash, stored, folder, shards,
        failed). log_mel's config is ``recipe`` and its shards ``shard_names``; a folder written before
        views existed holds log_mel alone."""
        return self.index.get("views") or {"log_mel": {"config_hash": self.recipe_hash, "folder": "."}}

    def view_shard_path(self, view: str, name: str) -> Path:
        """Shard ``name`` of ``view`` (log_mel's are the top-level shards)."""
        if view == "log_mel":
            return self.shard_path(name)
        if not VIEW_NAME.match(view):
            raise InputError(f"{self.path / INDEX_FILE} names a view {view!r} that is not a view name; "
                             "the folder is damaged or was edited: fetch or render it again")
        return self.shard_path(name).parent / view / name

    def require_views(self, names, reader: str = "") -> None:
        """Refuse, in one line, a folder that lacks one of the views ``names`` (``reader``: who needs them)."""
        missing = [name for name in names if name not in self.views]
        if missing:
            who = f"{reader} reads the view {', '.join(missing)}, but " if reader else ""
            raise InputError(f"{who}{self.path} has no {', '.join(missing)} view (it holds {', '.join(self.views)}); "
                             f"add it with `python -m aggregate render MANIFEST -o {self.path} --views "
                             f"{','.join(missing)}` (renders only what is missing)")

    def open_view_shard(self, view: str, name: str):
        """An open h5py handle on a view's shard, its layout checked (``open_shard`` for log_mel)."""
        if view == "log_mel":
            return self.open_shard(name)
        from ..views.base import Stored

        entry = self.views[view]
        stored = Stored.from_dict(entry["stored"])
        samples = next(s["samples"] for s in entry["shards"] if s["name"] == name)

        def opened(path):
            handle = h5.open_file(path)
            try:
                view_h5.check_view_layout(handle, path, view, samples, stored)
            except BaseException:
                handle.close()
                raise
            return handle
        return self._read(name, opened, view)

    def shard_path(self, name: str) -> Path:
        if not SHARD_NAME.match(name):  # never a path: "../elsewhere.h5" must not leave the folder
            raise InputError(f"{self.path / INDEX_FILE} names a shard {name!r} that is not a shard file name; "
                             "the folder is damaged or was edited: fetch or render it again")
        return self.path / name

    def check_checksums(self, progress: bool = False) -> None:
        """Refuse the folder if any shard differs from the checksum the index recorded for it."""
        listed = [(view, shard) for view, entry in self.views.items()
                  for shard in (self.index["shards"] if view == "log_mel" else entry["shards"])]
        total = sum(s["bytes"] for _, s in listed)
        with show_progress(total, "checking checksums", "B", progress) as bar:
            for view, shard in listed:
                path = self.view_shard_path(view, shard["name"])
                if not path.is_file():
                    raise InputError(f"{path} is missing; fetch the whole folder again or run "
                                     f"`python -m aggregate render` on it to finish it")
                seen = _identity(path)
                if seen[3] != shard["bytes"] or sha256_of(path) != shard["sha256"] or _identity(path) != seen:
                    raise InputError(f"{path} does not match its checksum in {INDEX_FILE}: the file changed "
                                     f"or is corrupt; fetch it again, or re-render with `python -m aggregate render`")
                self._seen[_key(view, shard["name"])] = seen
                bar.update(shard["bytes"])

    def manifest(self) -> Manifest:
        """The manifest copy the shards were rendered from, checked against the index."""
        # Imported here: reading features never needs the manifest, whose format imports the corpus
        # units (for their columns), and ShardDataset imports this module (tests/test_layout.py).
        from ..manifest.format import read_manifest

        path = self.path / MANIFEST_FILE
        if not path.is_file():
            raise InputError(f"{path} is missing: the shards cannot be traced to their clips; "
                             "fetch the whole folder again")
        if sha256_of(path) != self.index["manifest"]["sha256"]:
            raise InputError(f"{path} differs from the manifest the shards were rendered from; "
                             "fetch the whole folder again")
        return read_manifest(path)

    def columns(self, name: str) -> dict:
        """A shard's per-sample columns (labels, vote fractions, ids, speakers, corpora, splits), its layout checked."""
        return self._read(name, lambda path: h5.read_columns(path, self.expected_layout(name)))

    def open_shard(self, name: str):
        """An open h5py handle on one shard, its layout checked: open it in the thread or process that reads it."""
        return self._read(name, lambda path: h5.open_file(path, self.expected_layout(name)))

    def expected_layout(self, name: str) -> dict:
        """What the index says a shard holds: its samples, the features' shape and dtype."""
        samples = next(s["samples"] for s in self.index["shards"] if s["name"] == name)
        return {"samples": samples, "shape": tuple(self.shape), "dtype": self.storage.dtype}

    def check_features(self, name: str, features) -> None:
        """Refuse features just read from shard ``name`` that are not finite values in the recipe's range."""
        if not hasattr(self, "_range"):
            self._range = (self.recipe.scale_min, self.recipe.scale_max)
        try:
            h5.check_values(features, self.path / name, *self._range)
        except h5.ShardLayoutError as err:
            raise InputError(str(err)) from None

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
                    self.check_features(shard, out[sample_id])
        return out

    def _read(self, name: str, how, view: str = "log_mel"):
        path = self.view_shard_path(view, name)
        try:
            result = how(path)
        except h5.ShardLayoutError as err:
            raise InputError(str(err)) from None
        except (OSError, KeyError) as err:
            raise InputError(f"{path} cannot be read as a shard ({err}); run "
                             f"`python -m aggregate verify {self.path}` and re-render") from None
        # A reader opened before another process rewrote a shard (render --retry-failed) would mix the
        # old rows' ids and labels with the new file's features: the file opened must be the one checked.
        if _key(view, name) in self._seen and _identity(path) != self._seen[_key(view, name)]:
            if hasattr(result, "close"):
                result.close()
            raise InputError(f"{path} changed after this reader checked it (rewritten by another process, "
                             "e.g. render --retry-failed); open the shards folder again")
        return result


def _key(view: str, name: str) -> str:
    return name if view == "log_mel" else f"{view}/{name}"


def _identity(path: Path) -> tuple:
    """Which file ``path`` is, and its size and time: a rewritten or replaced file has another."""
    info = os.stat(path)
    return (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)


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
    if index["emotions"] != list(EMOTIONS):  # the labels' columns mean these emotions, in this order
        raise InputError(f"{where} labels the emotions {', '.join(map(str, index['emotions']))}; this version reads "
                         f"{', '.join(EMOTIONS)}: render the manifest again with this version")
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
    if "views" in index:
        _check_views(index, damaged)
    for sample_id, place in index["samples"].items():
        if not (isinstance(place, list) and len(place) == 2 and place[0] in names and isinstance(place[1], int)):
            raise damaged(f"sample {sample_id!r:.60} is placed at {place!r:.60}, not in a listed shard")


def _check_views(index: dict, damaged) -> None:
    """The index's views: names, configs, what they store, and one shard per log-mel shard, of its rows."""
    from ..views.base import Stored

    views = index["views"]
    if not isinstance(views, dict) or not isinstance(views.get("log_mel"), dict) \
            or views["log_mel"].get("config_hash") != index["feature_config_hash"]:
        raise damaged("'views' does not list log_mel with the feature config's hash")
    base = [(s["name"], s["samples"]) for s in index["shards"]]
    for name, entry in views.items():
        if name == "log_mel":
            continue
        if not (VIEW_NAME.match(str(name)) and isinstance(entry, dict) and entry.get("folder") == name
                and isinstance(entry.get("config"), dict) and isinstance(entry.get("config_hash"), str)
                and isinstance(entry.get("shards"), list) and isinstance(entry.get("failed"), list)):
            raise damaged(f"view {name!r:.40} lacks its folder, config, config_hash, shards or failed")
        try:
            Stored.from_dict(entry.get("stored"))
        except (TypeError, ValueError) as err:
            raise damaged(f"view {name} stores {entry.get('stored')!r:.60} ({err})") from None
        shards = entry["shards"]
        if not all(isinstance(s, dict) and isinstance(s.get("bytes"), int) and isinstance(s.get("sha256"), str)
                   for s in shards) or [(s.get("name"), s.get("samples")) for s in shards] != base:
            raise damaged(f"view {name}'s shards are not one per log-mel shard, of its rows")
