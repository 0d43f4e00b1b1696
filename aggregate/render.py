"""Render a manifest into log-mel shards with a pool of workers: ``python -m aggregate render``.

The manifest's rows are cut, in order, into shards of ``shard_size`` clips; one
task renders one whole shard and writes it (to a temporary name, renamed when
complete), so no two processes ever write the same file and a worker holds at
most one shard in memory. The plan is written first: running the same command
again skips the shards that exist and renders only what is missing, so an
interrupted run (Ctrl-C, kill -9, a lost node) resumes to the same result.
"""
from __future__ import annotations

import ctypes
import shutil
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from .audio import DecodeError, load_clip
from .emotions import EMOTIONS
from .errors import InputError
from .features import FeatureConfig, log_mel
from .files import atomic_write, atomic_write_json, sha256_of
from .manifest import read_manifest, rejects_path
from .shards import (INDEX_FILE, MANIFEST_FILE, PLAN_FILE, ShardContent, build_index, read_json,
                     read_shard_ids, shard_name, write_shard)

DEFAULT_SHARD_SIZE = 512  # clips: about 35 MB of float16 + lzf per shard


@dataclass
class ShardTask:
    """Everything a worker needs to render one shard; plain data, so it travels to any process."""

    path: Path
    clips: list[tuple[str, str, str, str]]  # (sample_id, absolute audio path, corpus, speaker)
    labels: np.ndarray  # (N, 7) uint8
    vote_fractions: np.ndarray  # (N, 7) float32


@dataclass
class RenderResult:
    folder: Path
    shards: int
    rendered: int  # shards written by this run
    skipped: int  # shards already complete from an earlier run
    samples: int
    failed: list[dict] = field(default_factory=list)


def render_clip(path: Path | str, corpus: str, config: FeatureConfig) -> np.ndarray:
    """Features of one clip: float32 ``config.shape`` (200 mels x 278 frames) in [-1, 1].

    Raises ``DecodeError`` for audio that cannot be decoded, so a caller can record it and go on.
    """
    return log_mel(load_clip(path, config, corpus), config)


def render_shards(manifest_path: Path | str, out_dir: Path | str, config: FeatureConfig = FeatureConfig(),
                  jobs: int = 1, shard_size: int = DEFAULT_SHARD_SIZE, roots: dict[str, str] | None = None,
                  backend: str = "loky", scheduler: str | None = None, progress: bool = True) -> RenderResult:
    """Render every row of the manifest into ``out_dir``; see the module docstring."""
    if shard_size < 1 or jobs < 1:
        raise InputError("--shard-size and --jobs must be at least 1")
    manifest_path, out = Path(manifest_path), Path(out_dir)
    manifest = read_manifest(manifest_path)
    if manifest.clips.empty:
        raise InputError(f"{manifest_path} has no clips to render")
    corpus_roots = _corpus_roots(manifest, roots or {})
    plan = _plan(manifest_path, config, shard_size)
    _claim_folder(out, plan, manifest_path)

    tasks, done_clips = [], 0
    clips = manifest.clips
    for number, start in enumerate(range(0, len(clips), shard_size)):
        rows = clips.iloc[start:start + shard_size]
        path = out / shard_name(number)
        if _complete(path, list(rows["sample_id"]), config):
            done_clips += len(rows)
        else:
            tasks.append(_task(path, rows, corpus_roots))
    total_shards = -(-len(clips) // shard_size)
    with tqdm(total=len(clips), initial=done_clips, desc="rendering", unit="clip",
              disable=None if progress else True, smoothing=0.1) as bar:
        for _, n_clips in _run(tasks, config, jobs, backend, scheduler):
            bar.update(n_clips)

    shard_files = [out / shard_name(n) for n in range(total_shards)]
    index = build_index(out, plan, shard_files)
    atomic_write_json(out / INDEX_FILE, index)
    return RenderResult(out, total_shards, len(tasks), total_shards - len(tasks),
                        len(index["samples"]), index["failed"])


def _corpus_roots(manifest, overrides: dict[str, str]) -> dict[str, Path]:
    """Where each corpus lives on this machine: the manifest's roots, unless overridden."""
    recorded = manifest.meta.get("roots", {})
    unknown = sorted(set(overrides) - set(recorded))
    if unknown:
        raise InputError(f"--root {unknown[0]}=...: the manifest has no corpus {unknown[0]} "
                         f"(it has {', '.join(recorded)})")
    roots = {name: Path(overrides.get(name, root)).expanduser() for name, root in recorded.items()}
    for name in sorted(set(manifest.clips["corpus"])):
        if not roots.get(name, Path("/nonexistent")).is_dir():
            raise InputError(f"{name}: the corpus folder {roots.get(name)} recorded in the manifest is not here; "
                             f"pass --root {name}=DIR with your copy of it")
    return roots


def _plan(manifest_path: Path, config: FeatureConfig, shard_size: int) -> dict:
    return {"feature_config": config.to_dict(), "feature_config_hash": config.hash(),
            "shape": list(config.shape), "shard_size": shard_size,
            "manifest_sha256": sha256_of(manifest_path)}


def _claim_folder(out: Path, plan: dict, manifest_path: Path) -> None:
    """Start a folder, or check that an existing one was started with the same plan."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file; pass a folder for the shards")
    plan_file = out / PLAN_FILE
    if plan_file.exists():
        before = read_json(plan_file, "render plan")
        if before.get("feature_config_hash") != plan["feature_config_hash"]:
            changed = sorted(k for k, v in plan["feature_config"].items()
                             if before.get("feature_config", {}).get(k) != v)
            raise InputError(f"{out} holds shards of another feature config (differs in: {', '.join(changed)}); "
                             "render into a new folder, or delete this one to start over")
        if before.get("manifest_sha256") != plan["manifest_sha256"]:
            raise InputError(f"{out} holds shards of another manifest; render into a new folder, "
                             "or delete this one to start over")
        if before.get("shard_size") != plan["shard_size"]:
            raise InputError(f"{out} was started with --shard-size {before.get('shard_size')}; "
                             "resume with the same size or use a new folder")
    elif out.is_dir() and any(out.iterdir()):
        raise InputError(f"{out} is not empty and is not a shards folder; pass a new or empty folder")
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".*.tmp"):  # half-written files of an interrupted run
        stale.unlink(missing_ok=True)
    copy = out / MANIFEST_FILE
    if manifest_path.resolve() != copy.resolve():
        atomic_write(copy, lambda tmp: shutil.copyfile(manifest_path, tmp))
        if rejects_path(manifest_path).is_file():
            atomic_write(rejects_path(copy), lambda tmp: shutil.copyfile(rejects_path(manifest_path), tmp))
    if not plan_file.exists():
        atomic_write_json(plan_file, plan)


def _complete(path: Path, sample_ids: list[str], config: FeatureConfig) -> bool:
    """A shard left by an earlier run counts only if it is whole and is the shard planned here."""
    if not path.is_file():
        return False
    try:
        ids, config_hash, failed = read_shard_ids(path)
    except (OSError, KeyError, ValueError):
        return False  # unreadable: render it again
    return config_hash == config.hash() and sorted(ids + [f["sample_id"] for f in failed]) == sorted(sample_ids)


def _task(path: Path, rows, roots: dict[str, Path]) -> ShardTask:
    labels = rows[[f"label_{e}" for e in EMOTIONS]].to_numpy(np.uint8)
    votes = rows[[f"votes_{e}" for e in EMOTIONS]].astype("float64").fillna(0).to_numpy()
    raters = rows["n_raters"].astype("float64").to_numpy()
    voted = ~np.isnan(raters) & (raters > 0)
    fractions = labels.astype(np.float32)  # acted corpora: the acted label is the whole truth
    fractions[voted] = (votes[voted] / raters[voted, None]).astype(np.float32)
    clips = [(sid, str(roots[corpus] / rel), corpus, speaker)
             for sid, rel, corpus, speaker in zip(rows["sample_id"], rows["path"], rows["corpus"], rows["speaker"])]
    return ShardTask(path, clips, labels, fractions)


def _run(tasks: list[ShardTask], config: FeatureConfig, jobs: int, backend: str, scheduler: str | None):
    """Yield (shard path, clips) as shards finish, in any order."""
    if not tasks:
        return
    if jobs == 1 and backend == "loky":
        for task in tasks:
            yield render_shard(task, config)
        return
    from joblib import Parallel, delayed, parallel_config

    with _dask_client(scheduler) if backend == "dask" else nullcontext():
        with parallel_config(backend=backend, n_jobs=-1 if backend == "dask" else jobs):
            yield from Parallel(return_as="generator_unordered")(delayed(render_shard)(t, config) for t in tasks)


def _dask_client(scheduler: str | None):
    if not scheduler:
        raise InputError("--backend dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
    try:
        from dask.distributed import Client
    except ImportError:
        raise InputError("--backend dask needs dask.distributed: pip install 'dask[distributed]'") from None
    try:
        return Client(scheduler, timeout=30)
    except (OSError, TimeoutError) as err:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({err})") from None


def render_shard(task: ShardTask, config: FeatureConfig) -> tuple[Path, int]:
    """Render and write one shard (runs in a worker). Clips that fail are recorded, not raised."""
    keep_freed_memory()
    features, kept, failed = [], [], []
    # One BLAS thread, in every kind of worker: a second only spins here, and a multi-threaded
    # matrix product sums in another order, which would make shards depend on the machine.
    with threadpool_limits(limits=1):
        for row, (sample_id, path, corpus, _) in enumerate(task.clips):
            try:
                features.append(render_clip(path, corpus, config))
                kept.append(row)
            except DecodeError as err:
                failed.append({"sample_id": sample_id, "path": path, "reason": str(err)})
    content = ShardContent(
        features=np.stack(features) if features else np.zeros((0, *config.shape), np.float32),
        labels=task.labels[kept], vote_fractions=task.vote_fractions[kept],
        sample_ids=[task.clips[r][0] for r in kept], speakers=[task.clips[r][3] for r in kept],
        corpora=[task.clips[r][2] for r in kept])
    write_shard(task.path, content, config, failed)
    return task.path, len(task.clips)


_MEMORY_KEPT = False


def keep_freed_memory() -> bool:
    """Make glibc keep freed memory in this worker rather than hand it back to the OS.

    A clip allocates and frees a dozen arrays of 1-4 MB. By default glibc unmaps or trims
    such blocks on free, and the next clip page-faults them all back in: measured here,
    that is about half the time of ``render_clip``. It keeps the worker's peak (a few tens
    of MB) resident. Returns False where it does nothing (not glibc).
    """
    global _MEMORY_KEPT
    if _MEMORY_KEPT:
        return True
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from <malloc.h>
    _MEMORY_KEPT = bool(mallopt(m_mmap_threshold, 32 << 20)) and bool(mallopt(m_trim_threshold, 1 << 30))
    return _MEMORY_KEPT
