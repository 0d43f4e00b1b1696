"""Folders the tool owns: a marker file lists what the tool wrote there, with each file's SHA-256,
so that replacing a folder removes only files whose bytes are still those it wrote; anything else
in it (a file not listed, a listed file edited since, a file listed without a checksum, a link)
makes the tool refuse the folder, naming the file. A marker proves only what still matches it: one
copied from another run lists checksums the user's own files do not have.

Used by the report folder (``aggregate.report.folder``) and the run folder (``train.run_folder``);
the shards folder knows its own file names (``aggregate.vocabulary``).
"""
from __future__ import annotations

import json
from pathlib import Path

from .errors import InputError
from .files import sha256_of
from .vocabulary import INDEX_FILE, LOCK_FILE, MANIFEST_FILE

# The files that make a folder another command's: no output of another command may land inside it
# (a manifest written over a shards folder's copy breaks that folder).
OWNER_FILES = {".aggregate-run": "a run folder (python -m train)",
               ".aggregate-report": "a report folder (python -m aggregate report)",
               ".aggregate-benchmark": "a benchmark folder (python -m train benchmark)",
               LOCK_FILE: "a shards folder (python -m aggregate render)",
               f"{INDEX_FILE}+{MANIFEST_FILE}": "a shards folder (python -m aggregate render)"}


def listed_files(folder: Path, marker: str, writer: str) -> dict[str, str | None] | None:
    """The files ``marker`` in ``folder`` lists (name -> SHA-256 or None), or None when the marker is
    missing, a link, or not written by ``writer``. Names are plain file names, never paths."""
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
    if not isinstance(files, dict) or not all(isinstance(f, str) and "/" not in f and f not in ("", ".", "..")
                                              for f in files):
        return None
    return files


def marker_text(writer: str, files, **more) -> str:
    """The marker's content: who wrote the folder and which files (name -> SHA-256), and ``more``
    (the process writing it, for a second writer's message)."""
    return json.dumps({"written_by": writer, "files": files, **more}, indent=1, sort_keys=True) + "\n"


def check_owned(folder: Path, marker: str, writer: str, option: str,
                subfolders: bool = False) -> dict[str, str | None]:
    """Raise InputError unless ``folder`` is absent, empty, or holds ``marker`` and only files it lists
    (and, with ``subfolders``, folders: the owner's run folders, each checked as such when used);
    return what the marker lists ({} for an absent or empty folder). ``option`` names the flag that
    chose the folder, for the message."""
    if folder.is_symlink():
        raise InputError(f"{folder} is a symbolic link; pass the folder it points to, or a new folder, as {option}")
    if not folder.exists():
        return {}
    if not folder.is_dir():
        raise InputError(f"{folder} exists and is not a folder; {option} needs a folder")
    entries = sorted(folder.iterdir())
    if not entries:
        return {}
    listed = listed_files(folder, marker, writer)
    if listed is None:
        raise InputError(f"{folder} is not empty and was not written by `{writer}` (it has no valid {marker}); "
                         f"choose a new or empty folder for {option}: `{writer}` replaces only its own folders")
    foreign = [p.name for p in entries if p.name != marker and not (
        (p.name in listed and p.is_file() and not p.is_symlink())
        or (subfolders and p.is_dir() and not p.is_symlink()))]
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise InputError(f"{folder} holds files `{writer}` did not write ({shown}); move them out of it "
                         f"or choose another folder for {option}")
    for p in entries:
        if p.name in listed and p.is_file() and (listed[p.name] is None or sha256_of(p) != listed[p.name]):
            why = "has no checksum in" if listed[p.name] is None else "no longer matches the checksum in"
            raise InputError(f"{p} {why} {marker}: it is not a file `{writer}` wrote, or it was edited since "
                             f"(or left by an interrupted run); it is kept: move it out of {folder} or choose "
                             f"another folder for {option}")
    return listed


def check_not_inside_owned(path: Path, option: str, allowed: tuple[str, ...] = ()) -> None:
    """Refuse an output ``path`` inside a folder another command owns (its marker files, OWNER_FILES):
    ``select -o SHARDS/manifest.parquet`` would replace a shards folder's copy and break the folder.
    ``allowed``: owner files of folders this output may live in (a benchmark's runs)."""
    for parent in Path(path).absolute().parents:
        for name, what in OWNER_FILES.items():
            if name not in allowed and all((parent / part).is_file() for part in name.split("+")):
                raise InputError(f"{option} {path}: {parent} is {what}, and only that command writes there; "
                                 "pass a path outside it")
