"""The report folder: written whole or not at all, and never over files the report did not write.

Every report folder holds ``MARKER``, listing the files the report wrote there. A later report
replaces a folder only when it is empty, or holds that marker and nothing but the files it lists;
anything else (a paper's ``figures/``, a user's notes beside an old report) is refused with one
line. The new report is built in a temporary sibling folder and swapped in when complete.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..files import current_umask, sha256_of
from ..owned import REPORT, check_not_inside_owned, check_owned, listed_files, write_marker

MARKER, _WRITER = REPORT.marker, REPORT.writer


def check_replaceable(output: Path) -> None:
    """Raise InputError unless ``output`` is absent, an empty folder, or a report folder holding only
    the files its marker lists."""
    check_not_inside_owned(output, "-o")
    check_owned(output, MARKER, _WRITER, "-o")


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
        files = {p.name: sha256_of(p) for p in sorted(tmp.iterdir())}  # a later report replaces only these bytes
        write_marker(tmp, REPORT, files)
        _swap(tmp, output)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
    for name in listed_files(old, MARKER, _WRITER) or ():
        (old / name).unlink(missing_ok=True)
    (old / MARKER).unlink(missing_ok=True)
    try:
        old.rmdir()
    except OSError:
        pass
