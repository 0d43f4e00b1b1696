"""The manifest's format: its columns, the Parquet file with its metadata, and the rejects CSV beside it.

``write_manifest`` stores the rows as Parquet (the policy, roots and counts in the
file's metadata) and the rejects as CSV beside it, as one checked pair;
``read_manifest`` reads them back as pandas frames. ``read_manifest_table`` reads the
file once, with pyarrow alone, for the render: it sends its workers their first clips
from that, and converts to pandas only while they work. How rows are made is
``aggregate.manifest``; the columns are documented in docs/manifest.md.
"""
from __future__ import annotations

import copy
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from ..corpora import CORPORA
from ..errors import InputError
from ..files import atomic_write_all
from ..owned import check_not_inside_owned
from ..vocabulary import EMOTIONS, INDEX_FILE, MANIFEST_FILE, PLAN_FILE

if TYPE_CHECKING:
    import pandas as pd

METADATA_KEY = b"aggregate"

# The columns every row has, in order. Nullable dtypes (capitalised) where a corpus may lack the value.
SHARED_COLUMNS: dict[str, str] = {
    "sample_id": "string", "corpus": "string", "path": "string",
    "speaker": "string", "gender": "string",
    "duration": "float64", "sample_rate": "int32", "channels": "int16", "frames": "int64", "format": "string",
    "file_bytes": "int64", "file_sha256": "string",  # what the manifest read of each file; render checks it
    "labels": "string", "n_labels": "int8",
    **{f"label_{e}": "int8" for e in EMOTIONS},
    **{f"votes_{e}": "Int16" for e in EMOTIONS},
    "n_raters": "Int16", "acted_label": "string",
}


def _schema() -> dict[str, str]:
    """The shared columns, each corpus' own (as its unit declares them, in registry order), then split."""
    columns = dict(SHARED_COLUMNS)
    for name, unit in CORPORA.items():
        for column, dtype in unit.COLUMNS.items():
            if columns.setdefault(column, dtype) != dtype:
                raise TypeError(f"corpus {name} declares column {column} as {dtype}, an earlier one as {columns[column]}")
    columns["split"] = "string"  # speaker-disjoint train/val/test (aggregate.manifest.split_assign; its config is in the metadata)
    return columns


COLUMNS: dict[str, str] = _schema()
REJECT_COLUMNS = ["corpus", "path", "reason", "detail", "sample_id"]


@dataclass
class Manifest:
    clips: pd.DataFrame
    rejects: pd.DataFrame
    meta: dict = field(default_factory=dict)


def rejects_path(manifest_path: Path | str) -> Path:
    """Where the rejects of a manifest live: ``name.parquet`` -> ``name.rejects.csv``."""
    path = Path(manifest_path)
    return path.with_name(path.stem + ".rejects.csv")


def check_output(path: Path | str) -> Path:
    """Refuse, before any work, a manifest output this tool must not write: a folder, a path under a
    file, or a file it did not write itself (a manifest it wrote is replaced)."""
    path = Path(path)
    check_not_inside_owned(path, "-o")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise InputError(f"-o {path}: {parent} is a file, not a folder; pass a path inside a folder")
    rejects = rejects_path(path)
    if path.is_dir() or rejects.is_dir():
        raise InputError(f"-o {path}: {path if path.is_dir() else rejects} is a folder; "
                         f"pass a file name for the manifest, e.g. {path / 'aggregate.parquet'}")
    if path.exists() and not _is_manifest(path):
        raise InputError(f"-o {path}: the file exists and is not a manifest written by this tool; "
                         "pass a new file name (it is never overwritten)")
    if rejects.exists() and not _is_rejects_table(rejects):
        raise InputError(f"-o {path}: {rejects} exists and is not a rejects table written by this tool; "
                         "move it away or pass another file name")
    return path


def _is_manifest(path: Path) -> bool:
    try:
        return METADATA_KEY in (pq.read_schema(path).metadata or {})
    except (pa.ArrowException, OSError):
        return False


def _is_rejects_table(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.readline().rstrip("\n") == ",".join(REJECT_COLUMNS)
    except (OSError, UnicodeDecodeError):
        return False


def write_manifest(manifest: Manifest, path: Path | str) -> Path:
    """Write the Parquet manifest and its rejects CSV as one pair: the Parquet's metadata records the
    rejects' SHA-256 (``read_manifest`` checks it), and a failed write leaves the previous pair whole."""
    path = check_output(path)
    rejects = manifest.rejects.to_csv(index=False).encode()
    meta = dict(manifest.meta, rejects_sha256=hashlib.sha256(rejects).hexdigest())
    table = pa.Table.from_pandas(manifest.clips, preserve_index=False)
    try:
        atomic_write_all([(rejects_path(path), lambda tmp: Path(tmp).write_bytes(rejects)),
                          (path, lambda tmp: pq.write_table(_with_meta(table, meta), tmp))])
    except OSError as err:
        raise InputError(f"cannot write {path} ({err.strerror or err}); check the folder's permissions "
                         "and free space, then run the command again") from None
    return path


def _with_meta(table: pa.Table, meta: dict) -> pa.Table:
    metadata = dict(table.schema.metadata or {})
    metadata[METADATA_KEY] = json.dumps(meta, sort_keys=True).encode()
    return table.replace_schema_metadata(metadata)


def write_shareable_copy(source: ManifestTable, dest: Path) -> None:
    """Copy a manifest (and its rejects) without the absolute folders of this machine: in the metadata
    each corpus root becomes the corpus' name, each table its file name, and so does a root named in a
    reject's detail (a shards folder is shared; the user's own manifest keeps its roots, which render
    needs to find the audio). The copy is of the table as read, so of the bytes ``source.sha256`` names."""
    meta = copy.deepcopy(source.meta)
    roots = meta.get("roots", {})
    meta["roots"] = {name: name for name in roots}
    if "tables" in meta:
        meta["tables"] = {name: Path(file).name for name, file in meta["tables"].items()}
    files = []
    if source.rejects_csv is not None:
        rejects = source.rejects()
        for name, root in sorted(roots.items(), key=lambda item: -len(item[1])):  # a root inside another: it first
            rejects["detail"] = rejects["detail"].str.replace(root, name, regex=False)
        data = rejects.to_csv(index=False).encode()
        meta["rejects_sha256"] = hashlib.sha256(data).hexdigest()
        files.append((rejects_path(dest), lambda tmp: Path(tmp).write_bytes(data)))
    files.append((dest, lambda tmp: pq.write_table(_with_meta(source.table, meta), tmp)))
    atomic_write_all(files)


@dataclass(frozen=True)
class ManifestTable:
    """A manifest file read once, with pyarrow alone: its table, metadata, the checksum of its bytes,
    and the bytes of the rejects CSV beside it (None if there is none), checked against the metadata."""

    path: Path
    table: pa.Table
    meta: dict
    sha256: str
    rejects_csv: bytes | None

    def column(self, name: str) -> list:
        return self.table.column(name).to_pylist()

    def clips(self) -> pd.DataFrame:
        """The rows as a DataFrame with the manifest's dtypes (this imports pandas)."""
        clips = self.table.to_pandas()
        return clips.astype({c: dtype for c, dtype in COLUMNS.items() if c in clips})

    def rejects(self) -> pd.DataFrame:
        """The rejects as a DataFrame of strings (empty if there is no CSV; this imports pandas)."""
        import pandas as pd

        if self.rejects_csv is None:
            return pd.DataFrame(columns=REJECT_COLUMNS, dtype="string")
        return pd.read_csv(io.BytesIO(self.rejects_csv), dtype="string", keep_default_na=False, na_values=[""])


def read_manifest_table(path: Path | str) -> ManifestTable:
    """Read and check a manifest written by ``write_manifest`` and its rejects, without pandas."""
    path = Path(path)
    if path.is_dir():
        raise InputError(_folder_given(path))
    if not path.is_file():
        raise InputError(f"no manifest at {path}; build one with `python -m aggregate manifest ... -o {path}`")
    try:
        data = path.read_bytes()  # one read: the checksum and the table are of the same bytes
        # ParquetFile, not pq.read_table: that one imports pyarrow.dataset first (0.3 s, a tenth of a small render).
        table = pq.ParquetFile(pa.BufferReader(data)).read()
    except (pa.ArrowException, OSError) as err:
        raise InputError(f"{path} is not a readable Parquet manifest ({err})") from None
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise InputError(f"{path} is a Parquet file but not a manifest written by this tool (a table saved by "
                         "pandas or another tool loses the manifest's metadata); to keep part of a manifest, "
                         "use `python -m aggregate select MANIFEST -o OUT` (see docs/manifest.md)")
    try:
        meta = json.loads(raw)
    except ValueError:
        meta = None
    missing = [c for c in SHARED_COLUMNS if c not in table.column_names]
    if not isinstance(meta, dict) or missing:
        why = f"it lacks the column(s) {', '.join(missing[:3])}" if missing else "its metadata is not readable"
        raise InputError(f"{path} is a damaged manifest ({why}); build it again with `python -m aggregate manifest`")
    check_rows(table, path)
    rejects_file, rejects_csv = rejects_path(path), None
    if rejects_file.is_file():
        try:
            rejects_csv = rejects_file.read_bytes()
        except OSError as err:
            raise InputError(f"cannot read {rejects_file} ({err.strerror or err})") from None
        # Manifests written before the pair was checked record no checksum: their rejects are taken as they are.
        recorded = meta.get("rejects_sha256")
        if recorded is not None and recorded != hashlib.sha256(rejects_csv).hexdigest():
            raise InputError(f"{rejects_file} is not the rejects table written with {path} (another build, "
                             "or an edit); build the manifest again with `python -m aggregate manifest`")
    return ManifestTable(path, table, meta, hashlib.sha256(data).hexdigest(), rejects_csv)


def check_rows(table: pa.Table, path: Path) -> None:
    """Refuse, before anything is rendered or described, rows a hand edit left inconsistent: an empty
    or repeated sample_id, a null where every row has a value, a label column that disagrees with
    ``labels`` and ``n_labels``. The first such row is named."""
    def refuse(row: int, why: str) -> InputError:
        return InputError(f"{path}: row {row + 1} {why}; the manifest was edited by hand: build it again with "
                          "`python -m aggregate manifest`, or keep part of it with `python -m aggregate select`")

    columns = {name: table.column(name).to_pylist()
               for name in ("sample_id", "corpus", "path", "labels", "n_labels", *(f"label_{e}" for e in EMOTIONS))}
    seen: dict[str, int] = {}
    for row, sample_id in enumerate(columns["sample_id"]):
        if not isinstance(sample_id, str) or not sample_id.strip():
            raise refuse(row, f"has an empty sample_id ({sample_id!r})")
        if sample_id in seen:
            raise refuse(row, f"repeats the sample_id {sample_id!r} of row {seen[sample_id] + 1}")
        seen[sample_id] = row
    for name in ("corpus", "path", "labels", "n_labels"):
        if None in columns[name]:
            row = columns[name].index(None)
            raise refuse(row, f"(sample_id {columns['sample_id'][row]!r}) has no {name}")
    for row, (labels, count) in enumerate(zip(columns["labels"], columns["n_labels"])):
        named = [e for e in labels.split("|") if e]
        flags = {e: columns[f"label_{e}"][row] for e in EMOTIONS}
        if sorted(named) != sorted(e for e, v in flags.items() if v == 1) or count != len(named) \
                or any(v not in (0, 1) for v in flags.values()):
            shown = ", ".join(f"label_{e}={v}" for e, v in flags.items() if v)
            raise refuse(row, f"(sample_id {columns['sample_id'][row]!r}) has labels {labels!r} and n_labels "
                              f"{count}, but {shown or 'no label_<emotion> column set'}")


def _folder_given(path: Path) -> str:
    """What to do when a folder was given for a manifest: a shards folder holds a copy of its manifest."""
    if (path / PLAN_FILE).is_file() or (path / INDEX_FILE).is_file():
        return (f"{path} is a shards folder, not a manifest; pass the manifest it was rendered from, or its copy "
                f"{path / MANIFEST_FILE} (with --root CORPUS=DIR for each corpus: the copy keeps no folder of the "
                "machine that rendered it)")
    return f"{path} is a folder, not a manifest; pass the .parquet file `python -m aggregate manifest -o` wrote"


def read_manifest(path: Path | str) -> Manifest:
    """Read a manifest written by ``write_manifest`` (rejects too, when the CSV is beside it)."""
    source = read_manifest_table(path)
    return Manifest(source.clips(), source.rejects(), source.meta)
