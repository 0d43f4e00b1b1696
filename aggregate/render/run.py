"""Render a manifest into log-mel shards with a pool of workers: ``python -m aggregate render``.

Tasks and shards are decoupled. The manifest's rows are cut, in order, into
shards of ``storage.shard_size`` clips, and each shard into tasks of consecutive
clips that shrink towards the end of the run, so that the workers finish together
whatever the manifest's size (``chunk_size``). Workers (``pool.py``) only
compute features and send them back; this process writes each shard's features in
row order as they come back, so compressing it overlaps their work, under a
temporary name renamed when the shard is complete, with its checksum beside it.
So the bytes of a shard do not depend on ``--jobs``, a worker never writes a file,
and only the shards being rendered are held in memory.

The plan is written first: running the same command again keeps every shard
whose bytes still match the checksum written with it and renders only the rest,
so an interrupted run (Ctrl-C, kill -9, a lost node) resumes to the same result.
"""
from __future__ import annotations

import math
from collections import Counter
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..progress import show_progress
from ..recipe import FeatureConfig
from ..shards.storage import StorageConfig
from ..views import DEFAULT_VIEWS, check_installed, parse_views
from ..views.log_mel import LogMel
from ..vocabulary import CLIP_COLUMNS
from .assembly import AddedViews, ShardAssembly
from .pool import worker_pool
from .worker import MAX_CHUNK, MIN_CHUNK, Chunk

GUIDED_SPLIT = 2  # a task takes 1/(GUIDED_SPLIT * jobs) of the clips left: the last ones are small


@dataclass
class RenderResult:
    folder: Path
    shards: int
    rendered: int  # shards written by this run
    skipped: int  # shards already complete from an earlier run
    samples: int
    failed: list[dict] = field(default_factory=list)
    views: list[str] = field(default_factory=lambda: ["log_mel"])  # the folder's views
    view_failed: dict[str, list[dict]] = field(default_factory=dict)  # view -> clips only it lacks


def render_shards(manifest_path: Path | str, out_dir: Path | str, recipe: FeatureConfig = FeatureConfig(),
                  storage: StorageConfig | None = None, jobs: int = 1, roots: dict[str, str] | None = None,
                  backend: str = "loky", scheduler: str | None = None, progress: bool = True,
                  retry_failed: bool = False, views=DEFAULT_VIEWS) -> RenderResult:
    """Render every row of the manifest into ``out_dir``; see the module docstring.

    ``retry_failed``: render again the shards holding clips that failed last time (a file since restored).
    ``views``: view names (``"log_mel,waveform"``) or View instances. log_mel, with ``recipe`` as its
    config, is always rendered: its shards decide the rows every other view follows. A view the folder
    lacks is added to it, rendering only that view's shards. ``storage`` None: an existing folder's, or
    the default for a new one.
    """
    if jobs < 1:
        raise InputError(f"--jobs must be at least 1, got {jobs}")
    # The views an earlier render of this folder planned are resumed too: a folder never loses a view.
    asked = {view.name: view for view in _views(views) if view.name != "log_mel"}
    planned, planned_storage = _existing_plan(Path(out_dir), skip=set(asked))
    storage = storage or planned_storage or StorageConfig()
    extras = {**planned, **asked}
    check_installed(extras.values())  # before anything starts: one line saying what to install
    stored = {"log_mel": LogMel(recipe).stored(storage), **{n: v.stored(storage) for n, v in extras.items()}}
    # The workers start first, before this process starts any thread (pool.py) and before it
    # imports pandas: with pyarrow alone it reads what to render, checks it and claims the folder,
    # and sends the workers their first clips; then it reads the rest while they render.
    with worker_pool(jobs, backend, scheduler, recipe, storage.dtype, views={"log_mel": LogMel(recipe), **extras},
                     stored=stored) as results:
        from ..manifest.format import read_manifest_table
        from ..shards.reading import make_plan
        from ..shards.writing import ShardsFolderWriter

        source = read_manifest_table(manifest_path)
        ids, corpora = source.column("sample_id"), source.column("corpus")
        if not ids:
            raise InputError(f"{source.path} has no clips to render")
        corpus_roots = _corpus_roots(source.meta, set(corpora), roots or {})
        paths = [str(corpus_roots[corpus] / path) for corpus, path in zip(corpora, source.column("path"))]
        max_duration = (source.meta.get("policy") or {}).get("max_duration")
        plan = make_plan(recipe, storage, source.sha256)
        if extras:  # a log_mel-only plan is the one of folders rendered before views existed
            plan["views"] = {name: {"config": view.config_dict(), "config_hash": view.config_hash(),
                                    "stored": stored[name].to_dict()} for name, view in extras.items()}
        folder = ShardsFolderWriter(out_dir)
        folder.claim(plan)  # every input is checked by now: a refused run leaves no trace
        pending: dict[int, object] = {}
        try:
            shards = [range(start, min(start + storage.shard_size, len(ids)))
                      for start in range(0, len(ids), storage.shard_size)]
            todo = [n for n, rows in enumerate(shards)
                    if not folder.shard_is_complete(n, ids[rows.start:rows.stop], recipe.hash(), retry_failed)]
            clips = list(zip(ids, paths, corpora, source.column("file_bytes"), source.column("file_sha256")))
            # Shards whose log-mel is complete but an added view is not: that view alone, on the shard's rows.
            added = _added_views(folder, [n for n in range(len(shards)) if n not in todo], extras)
            row_of = {sample_id: row for row, sample_id in enumerate(ids)} if added else {}
            work = {n: ([clips[r] for r in shards[n]], ("log_mel", *extras), True) for n in todo}
            work.update({n: ([clips[row_of[i]] for i in shard_ids], names, False)
                         for n, (shard_ids, names) in added.items()})
            chunks = _chunks(work, jobs, max_duration)
            done_before = len(ids) - sum(len(shards[n]) for n in todo)
            try:
                stream = results(chunks)
                folder.write_manifest_copy(source)
                table = source.clips()
                per_shard = Counter(chunk.shard for chunk in chunks)
                pending = {n: ShardAssembly(folder, n, table.iloc[shards[n].start:shards[n].stop], per_shard[n],
                                            recipe, storage, {e: (extras[e], stored[e]) for e in extras})
                           for n in todo}
                pending.update({n: _added_assembly(folder, n, table, row_of, shard_ids, names, per_shard[n],
                                                   storage, extras, stored)
                                for n, (shard_ids, names) in added.items()})
                total = len(ids) + sum(len(shard_ids) for shard_ids, _ in added.values())
                with show_progress(total, "rendering", "clip", progress, initial=done_before) as bar:
                    for number, first, values, failed in stream:
                        if pending[number].add(first, values, failed):
                            pending.pop(number).finish()
                        bar.update(len(next(iter(values.values()))) + len(next(iter(failed.values()))))
            except BrokenProcessPool:
                raise InputError(f"a worker process died while rendering into {folder.path} (killed, or out of "
                                 "memory?); run the same command again to resume, with fewer --jobs if memory "
                                 "is short") from None
            finally:
                for assembly in pending.values():
                    assembly.discard()
            folder.write_index(plan, len(shards))
        finally:
            folder.release()
    return RenderResult(folder.path, len(shards), len(todo), len(shards) - len(todo), len(folder.places),
                        folder.failed, list(folder.views),
                        {name: entry["failed"] for name, entry in folder.views.items() if entry.get("failed")})


def _views(views) -> tuple:
    """View instances from names (a comma-separated string or a sequence) or instances."""
    if isinstance(views, str):
        return parse_views(views)
    names = [v for v in views if isinstance(v, str)]
    return (parse_views(names) if names else ()) + tuple(v for v in views if not isinstance(v, str))


def _existing_plan(out: Path, skip: set[str]) -> tuple[dict, StorageConfig | None]:
    """The views (other than log_mel and those in ``skip``, asked for again) that ``out``'s plan lists, with
    their configs, and its storage; none for a new folder. Read before the folder is claimed (which checks
    the plan again, under its lock)."""
    import json

    from ..views import VIEWS
    from ..vocabulary import PLAN_FILE

    try:
        plan = json.loads((out / PLAN_FILE).read_text())
        unknown = sorted(set(plan.get("views", {})) - set(VIEWS))
        if unknown:
            raise InputError(f"{out / PLAN_FILE} plans the view {unknown[0]} that this version does not know; "
                             "render with the version that started the folder, or into a new folder")
        views = {name: VIEWS[name](VIEWS[name].config_from_dict(entry["config"]))
                 for name, entry in plan.get("views", {}).items() if name not in skip}
        return views, StorageConfig.from_dict(plan["storage"])
    except (FileNotFoundError, NotADirectoryError):
        return {}, None
    except (OSError, KeyError, ValueError, TypeError, AttributeError) as err:
        raise InputError(f"{out / PLAN_FILE} is not a render plan ({err!r}); render into a new folder") from None


def _added_views(folder, complete: list[int], extras: dict) -> dict[int, tuple[list[str], tuple[str, ...]]]:
    """Complete log-mel shards whose added views are not: number -> (the shard's sample ids, those views)."""
    from ..shards import h5
    from ..shards.reading import shard_name

    out = {}
    for number in complete if extras else []:
        shard_ids = h5.read_header(folder.path / shard_name(number))[0]
        names = tuple(name for name, view in extras.items()
                      if not folder.view_shard_is_complete(name, number, shard_ids, view.config_hash()))
        if names:
            out[number] = (shard_ids, names)
    return out


def _added_assembly(folder, number: int, table, row_of: dict, shard_ids: list[str], names: tuple, n_chunks: int,
                    storage, extras: dict, stored: dict) -> AddedViews:
    from ..shards.h5 import ShardColumns, read_columns
    from ..shards.reading import shard_name

    columns = read_columns(folder.path / shard_name(number))
    columns = ShardColumns(**{k: list(v) if k in CLIP_COLUMNS else v for k, v in columns.items()})
    rows = table.iloc[[row_of[i] for i in shard_ids]]
    return AddedViews(folder, number, rows, columns, n_chunks, storage, {n: (extras[n], stored[n]) for n in names})


def chunk_size(clips_left: int, jobs: int) -> int:
    """Clips in the next task (guided scheduling): large while many clips are left, smaller towards
    the end, so that no worker idles while another finishes a large last task."""
    return max(MIN_CHUNK, min(MAX_CHUNK, math.ceil(clips_left / (GUIDED_SPLIT * jobs))))


def _chunks(work: dict[int, tuple[list, tuple, bool]], jobs: int, max_duration: float | None = None) -> list[Chunk]:
    """The tasks, in row order: consecutive clips of one shard each, sized by ``chunk_size``. ``work``: shard
    number -> (its clips as (sample_id, audio path, corpus, bytes, SHA-256), the views to compute, whether a
    clip failing one view fails them all)."""
    chunks, left = [], sum(len(clips) for clips, _, _ in work.values())
    for number, (clips, views, whole) in work.items():
        first = 0
        while first < len(clips):
            size = min(chunk_size(left, jobs), len(clips) - first)
            chunks.append(Chunk(number, first, clips[first:first + size], views, whole, max_duration))
            first += size
            left -= size
    return chunks


def _corpus_roots(meta: dict, corpora: set[str], overrides: dict[str, str]) -> dict[str, Path]:
    """Where each corpus lives on this machine: the manifest's roots, unless overridden."""
    recorded = meta.get("roots", {})
    unknown = sorted(set(overrides) - set(recorded))
    if unknown:
        raise InputError(f"--root {unknown[0]}=...: the manifest has no corpus {unknown[0]} "
                         f"(it has {', '.join(recorded)})")
    roots = {name: Path(overrides.get(name, root)).expanduser() for name, root in recorded.items()}
    for name in sorted(corpora):
        if not roots.get(name, Path("/nonexistent")).is_dir():
            raise InputError(f"{name}: the corpus folder {roots.get(name)} recorded in the manifest is not here; "
                             f"pass --root {name}=DIR with your copy of it")
    return roots
