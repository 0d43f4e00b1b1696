"""Writing files so that they appear whole or not at all, and checksums."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Callable


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


def temporary_beside(path: Path) -> str:
    """A new empty file beside ``path``, named ``.<name>.*.tmp``, for a writer that renames it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    return tmp


def make_durable(tmp: str) -> None:
    """Ready a written temporary file for its rename: readable as any output, and on disk."""
    os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; shared outputs must stay readable
    with open(tmp, "rb") as written:
        os.fsync(written.fileno())  # the rename must not reach the disk before the data


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
