"""Folders the tool owns: a marker file lists what the tool wrote there, with each file's SHA-256,
so that replacing or removing a folder touches only files whose bytes are still those it wrote;
anything else in it (a file not listed, a listed file edited since, a file listed without a
checksum, a link) makes the tool refuse the folder, naming the file. A marker proves only what
still matches it: one copied from another run lists checksums the user's own files do not have.

The one mechanism for every folder the tool writes: report folders (``aggregate.report.folder``),
shards folders (``aggregate.shards.writing``), the demo's corpora (``aggregate.demo.corpora``), run
and benchmark folders (``train.run_folder``, ``train.commands.benchmark``). Each kind is an
``Owner`` below: its marker's name and the command that writes it, spelled here and nowhere else.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .files import atomic_write, sha256_of
from .vocabulary import INDEX_FILE, LOCK_FILE, MANIFEST_FILE


@dataclass(frozen=True)
class Owner:
    """A kind of folder the tool writes: the name of its marker and the command that writes it."""

    marker: str
    writer: str  # recorded in the marker (a marker of another kind is not proof) and named in messages
    what: str  # for messages: "a report folder"


REPORT = Owner(".aggregate-report", "python -m aggregate report", "a report folder")
SHARDS = Owner(".aggregate-shards", "python -m aggregate render", "a shards folder")
DEMO = Owner(".aggregate-demo", "python -m aggregate demo", "a folder of demo corpora")
RUN = Owner(".aggregate-run", "python -m train", "a run folder")
BENCHMARK = Owner(".aggregate-benchmark", "python -m train benchmark", "a benchmark folder")

# The files that make a folder another command's: no output of another command may land inside it
# (a manifest written over a shards folder's copy breaks that folder). A shards folder written before
# it had a marker is known by its lock or its index and manifest copy.
OWNER_FILES = {**{owner.marker: f"{owner.what} ({owner.writer})" for owner in (RUN, REPORT, BENCHMARK, SHARDS)},
               LOCK_FILE: f"{SHARDS.what} ({SHARDS.writer})",
               f"{INDEX_FILE}+{MANIFEST_FILE}": f"{SHARDS.what} ({SHARDS.writer})"}


def listed_files(folder: Path, marker: str, writer: str, nested: bool = False) -> dict[str, str | None] | None:
    """The files ``marker`` in ``folder`` lists (name -> SHA-256 or None), or None when the marker is
    missing, a link, or not written by ``writer``. Names are plain file names, never paths; with
    ``nested``, paths relative to ``folder`` (``a/b.wav``), never leading out of it."""
    path = folder / marker
    if path.is_symlink() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"] if data.get("written_by") == writer else None
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return None
    if isinstance(files, list):
        files = dict.fromkeys(files)
    if not isinstance(files, dict) or not all(isinstance(f, str) and _plain(f, nested) for f in files):
        return None
    return files


def _plain(name: str, nested: bool) -> bool:
    parts = name.split("/")
    return (nested or len(parts) == 1) and all(part not in ("", ".", "..") for part in parts)


def marker_text(writer: str, files, **more) -> str:
    """The marker's content: who wrote the folder and which files (name -> SHA-256), and ``more``
    (the process writing it, for a second writer's message)."""
    return json.dumps({"written_by": writer, "files": files, **more}, indent=1, sort_keys=True) + "\n"


def write_marker(folder: Path, owner: Owner, files: dict[str, str | None], **more) -> None:
    """Write (atomically) the marker of ``folder``, listing ``files`` (name -> SHA-256, None for a name
    reserved before its file is written) and ``more``."""
    atomic_write(folder / owner.marker, lambda tmp: Path(tmp).write_text(marker_text(owner.writer, files, **more)))


def check_owned(folder: Path, marker: str, writer: str, option: str,
                subfolders: bool = False, nested: bool = False) -> dict[str, str | None]:
    """Raise InputError unless ``folder`` is absent, empty, or holds ``marker`` and only files it lists
    (and, with ``subfolders``, folders: the owner's run folders, each checked as such when used);
    return what the marker lists ({} for an absent or empty folder). ``option`` names the flag that
    chose the folder, for the message. ``nested``: the marker may list paths below ``folder`` too
    (checked by ``check_owned_tree``)."""
    if not _is_folder_or_absent(folder, option):
        return {}
    entries = sorted(folder.iterdir())
    if not entries:
        return {}
    listed = _listed_or_refuse(folder, marker, writer, option, nested)
    _refuse_foreign(folder, [p.name for p in entries if p.name != marker and not (
        (p.name in listed and p.is_file() and not p.is_symlink())
        or (subfolders and p.is_dir() and not p.is_symlink()))], writer, option)
    for p in entries:
        if p.name in listed and p.is_file():
            _check_unchanged(p, listed[p.name], folder, marker, writer, option)
    return listed


def check_owned_tree(folder: Path, owner: Owner, tops: list[str], option: str) -> dict[str, str | None]:
    """``check_owned`` for the subfolders ``tops`` of ``folder``, whole trees (the demo's corpora, one
    folder each): every file below them listed in ``folder``'s marker by its path relative to
    ``folder``, still matching its checksum, and no link anywhere below them. Other entries of
    ``folder`` are not this owner's concern. Returns the files found there, each checked (name ->
    SHA-256): all that ``remove_owned`` may remove, whatever else the marker lists."""
    if not _is_folder_or_absent(folder, option):
        return {}
    present = [folder / top for top in tops if (folder / top).is_symlink() or (folder / top).exists()]
    files = [p for top in present for p in ([top] if top.is_symlink() or not top.is_dir() else sorted(top.rglob("*")))
             if p.is_symlink() or not p.is_dir()]
    if not files:
        return {}
    listed = _listed_or_refuse(folder, owner.marker, owner.writer, option, nested=True)
    names = {p: p.relative_to(folder).as_posix() for p in files}
    _refuse_foreign(folder, [name for p, name in names.items() if name not in listed or p.is_symlink()
                             or not p.is_file()], owner.writer, option)
    for p, name in names.items():
        _check_unchanged(p, listed[name], folder, owner.marker, owner.writer, option)
    return {name: listed[name] for name in names.values()}


def remove_owned(folder: Path, listed: dict[str, str | None], marker: str) -> None:
    """Remove what a check above just proved this tool's (``listed``, each file still matching), the
    marker, and the folders this leaves empty below ``folder`` and ``folder`` itself: nothing else."""
    emptied = set()
    for name in listed:
        path = folder / name
        if path.is_file() and not path.is_symlink():
            path.unlink()
            emptied.update(p for p in path.parents if folder in p.parents)
    (folder / marker).unlink(missing_ok=True)
    for path in sorted(emptied, key=lambda p: len(p.parts), reverse=True) + [folder]:
        try:
            path.rmdir()  # only when empty: a file dropped in since the check stays, with its folder
        except OSError:
            pass


def _is_folder_or_absent(folder: Path, option: str) -> bool:
    if folder.is_symlink():
        raise InputError(f"{folder} is a symbolic link; pass the folder it points to, or a new folder, as {option}")
    if not folder.exists():
        return False
    if not folder.is_dir():
        raise InputError(f"{folder} exists and is not a folder; {option} needs a folder")
    return True


def _listed_or_refuse(folder: Path, marker: str, writer: str, option: str, nested: bool = False) -> dict:
    listed = listed_files(folder, marker, writer, nested)
    if listed is None:
        raise InputError(f"{folder} is not empty and was not written by `{writer}` (it has no valid {marker}); "
                         f"choose a new or empty folder for {option}: `{writer}` replaces only its own folders")
    return listed


def _refuse_foreign(folder: Path, foreign: list[str], writer: str, option: str) -> None:
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise InputError(f"{folder} holds files `{writer}` did not write ({shown}); move them out of it "
                         f"or choose another folder for {option}")


def _check_unchanged(path: Path, digest: str | None, folder: Path, marker: str, writer: str, option: str) -> None:
    if digest is None or sha256_of(path) != digest:
        why = "has no checksum in" if digest is None else "no longer matches the checksum in"
        raise InputError(f"{path} {why} {marker}: it is not a file `{writer}` wrote, or it was edited since "
                         f"(or left by an interrupted run); it is kept: move it out of {folder} or choose "
                         f"another folder for {option}")


def check_not_inside_owned(path: Path, option: str, allowed: tuple[str, ...] = ()) -> None:
    """Refuse an output ``path`` inside a folder another command owns (its marker files, OWNER_FILES):
    ``select -o SHARDS/manifest.parquet`` would replace a shards folder's copy and break the folder.
    ``allowed``: owner files of folders this output may live in (a benchmark's runs)."""
    for parent in Path(path).absolute().parents:
        for name, what in OWNER_FILES.items():
            if name not in allowed and all((parent / part).is_file() for part in name.split("+")):
                raise InputError(f"{option} {path}: {parent} is {what}, and only that command writes there; "
                                 "pass a path outside it")
