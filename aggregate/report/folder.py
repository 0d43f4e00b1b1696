"""The report folder: written whole or not at all, and never over files the report did not write.

Every report folder holds ``MARKER``, listing the files the report wrote there. A later report
replaces a folder only when it is empty, or holds that marker and nothing but the files it lists;
anything else (a paper's ``figures/``, a user's notes beside an old report) is refused with one
line. The new report is built in a temporary sibling folder and swapped in when complete.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import InputError
from ..files import current_umask

MARKER = ".aggregate-report"
_WRITER = "python -m aggregate report"


def check_replaceable(output: Path) -> None:
    """Raise InputError unless ``output`` is absent, an empty folder, or a report folder holding only
    the files its marker lists."""
    if output.is_symlink():
        raise InputError(f"{output} is a symbolic link; pass the folder it points to, or a new folder, as -o")
    if not output.exists():
        return
    if not output.is_dir():
        raise InputError(f"{output} exists and is not a folder; the report needs a folder (-o DIR)")
    entries = sorted(output.iterdir())
    if not entries:
        return
    listed = _listed(output / MARKER)
    if listed is None:
        raise InputError(f"{output} is not empty and was not written by `{_WRITER}` (it has no valid {MARKER}); "
                         "choose a new or empty folder for -o: the report replaces only its own folders")
    foreign = [p.name for p in entries
               if p.name != MARKER and (p.name not in listed or p.is_symlink() or not p.is_file())]
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise InputError(f"{output} holds files the report did not write ({shown}); move them out of it "
                         "or choose another folder for -o")


@contextmanager
def report_folder(output: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``output`` to write the report into; when the block ends
    without error, list its files in the marker and swap it in for ``output``. On any error the
    temporary folder is removed and ``output`` is left as it was."""
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp"))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700; a report is meant to be shared
        yield tmp
        files = sorted(p.name for p in tmp.iterdir())
        (tmp / MARKER).write_text(json.dumps({"written_by": _WRITER, "files": files}, indent=1) + "\n")
        _swap(tmp, output)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _listed(marker: Path) -> set[str] | None:
    """The file names a marker lists, or None when it is missing or not one of ours."""
    if marker.is_symlink() or not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        files = data["files"] if data.get("written_by") == _WRITER else None
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return None
    if not isinstance(files, list) or not all(isinstance(f, str) and "/" not in f for f in files):
        return None
    return set(files)


def _swap(tmp: Path, output: Path) -> None:
    check_replaceable(output)  # again: files may have appeared while the report was drawn
    if not output.exists():
        os.replace(tmp, output)
        return
    old = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.", suffix=".old"))
    os.rmdir(old)
    os.replace(output, old)
    try:
        os.replace(tmp, output)
    except BaseException:
        os.replace(old, output)
        raise
    # Remove only what the old report listed: a file dropped in since the check stays, with its folder.
    for name in _listed(old / MARKER) or ():
        (old / name).unlink(missing_ok=True)
    (old / MARKER).unlink(missing_ok=True)
    try:
        old.rmdir()
    except OSError:
        pass
