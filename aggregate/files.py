"""Writing files so that they appear whole or not at all, and checksums."""
from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable

from .errors import InputError


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_name)`` beside ``path``, then rename: a crash, Ctrl-C or kill -9 leaves the
    old file or none, never half of one (the temporary file is named ``.<name>.*.tmp``)."""
    atomic_write_all([(path, write)])


def atomic_write_all(files: list[tuple[Path, Callable[[str], None]]]) -> None:
    """``atomic_write`` for files that belong together: every one is written whole to its temporary
    name first, and only then are they all renamed, so a failure while writing (disk full, Ctrl-C)
    leaves every previous file as it was."""
    temporaries = []
    try:
        for path, write in files:
            temporaries.append(temporary_beside(path))
            write(temporaries[-1])
            make_durable(temporaries[-1])
        for (path, _), tmp in zip(files, temporaries):
            os.replace(tmp, path)
    except BaseException:
        for tmp in temporaries:
            Path(tmp).unlink(missing_ok=True)
        raise


# Creating a file never follows a symbolic link and never opens one that is already there (mkstemp:
# O_CREAT | O_EXCL | O_NOFOLLOW): a folder received from someone else may hold
# `.render.lock -> ~/precious.txt` (docs/trust.md).


def temporaries_of(name: str) -> str:
    """The glob pattern of the temporary files ``temporary_beside`` makes for a file called ``name``."""
    return f".{name}.*.tmp"


def temporary_beside(path: Path) -> str:
    """A new empty file beside ``path``, named ``.<name>.*.tmp`` (``temporaries_of``), for a writer that
    renames it into place (mkstemp creates it with O_EXCL and O_NOFOLLOW: never through a link, never an
    existing file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    refuse_link(path.parent)
    prefix, suffix = temporaries_of(path.name).split("*")
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
    os.close(handle)
    return tmp


def make_folder(path: Path, what: str, option: str) -> None:
    """Create ``path`` (and its parents) or raise one line: ``what`` names the folder, ``option`` what chose it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create {what} {path} ({err.strerror or err}); "
                         f"pass {option} whose parent is a folder you can write") from None


def refuse_link(path: Path, what: str = "folder") -> None:
    """Refuse a path that is a symbolic link before the tool writes through it."""
    if os.path.islink(path):
        raise InputError(f"{path} is a symbolic link; this tool writes only into real {what}s it can check "
                         f"(pass the {what} it points to, or another one)")


def open_own_file(path: Path) -> int:
    """A file the tool keeps in its folder and writes in place (the render lock), opened read-write and
    created if absent, never through a symbolic link, and refused unless it is a plain file with one
    name (a hard link to another file would be truncated too)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError:
        if os.path.islink(path):
            raise InputError(f"{path} is a symbolic link; the tool never writes through one: remove it "
                             "and run the command again") from None
        raise
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        os.close(fd)
        raise InputError(f"{path} is not a plain file of its own (a link or a special file); the tool never "
                         "writes through one: remove it and run the command again")
    return fd


def make_durable(tmp: str) -> None:
    """Ready a written temporary file for its rename: readable as any output, and on disk."""
    fd = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp makes 0600; shared outputs must stay readable
        os.fsync(fd)  # the rename must not reach the disk before the data
    finally:
        os.close(fd)


def atomic_write_json(path: Path, data: dict) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=1, sort_keys=True)))


def current_umask() -> int:
    """The process umask (reading it means setting it, so set it back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
