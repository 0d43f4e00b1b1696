"""The demo corpora: every registered corpus, forged by its forger (``FORGERS``) under one folder.

``write_demo_corpora(out_dir)`` writes ``out_dir/<corpus name>/...`` for each corpus
of the registry in its native layout, with its known defects (listed in each
forger's docstring, ``aggregate/demo/<name>.py``), and returns the roots a
user would pass and ``expected``: for every .wav written, what the default label
policy must make of it. Each corpus draws from its own stream of the seed, so the
same seed gives byte-identical files, whatever other corpora are registered.

Run ``python -m aggregate.demo.corpora OUT_DIR`` to write the demo corpora.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

from ..corpora import CORPORA
from ..files import sha256_of
from ..owned import DEMO, check_owned_tree, remove_owned, write_marker
from . import crema_d, iemocap, ravdess, tess
from .forge import Expected

# Each corpus's forger, by the corpus's name: a corpus added to the registry adds its line here.
FORGERS = {"iemocap": iemocap.forge, "crema-d": crema_d.forge, "tess": tess.forge, "ravdess": ravdess.forge}


@dataclass(frozen=True)
class DemoCorpora:
    roots: dict[str, Path]  # corpus name -> the folder a user would pass
    expected: list[Expected]  # exactly one entry per .wav file written under the roots


def _prepare(out: Path) -> None:
    """Clear the corpora a previous demo wrote here: only files its marker (aggregate.owned) lists,
    each still as written; a corpus folder holding anything else refuses ``out``, and nothing is
    removed. Other entries of ``out`` (the demo's shards and report folders) are left alone."""
    remove_owned(out, check_owned_tree(out, DEMO, list(CORPORA), "--dir"), DEMO.marker)
    out.mkdir(parents=True, exist_ok=True)


def _mark(out: Path) -> None:
    """List every file written under the corpus folders, with its SHA-256, in ``out``'s marker."""
    files = {p.relative_to(out).as_posix(): sha256_of(p) for name in CORPORA
             for p in sorted((out / name).rglob("*")) if p.is_file()}
    write_marker(out, DEMO, files)


def write_demo_corpora(out_dir: Path | str, seed: int = 0, clips_scale: float = 1.0,
                       seconds_scale: float = 1.0) -> DemoCorpora:
    """Write every corpus' demo under `out_dir`; same arguments => byte-identical files."""
    out = Path(out_dir)
    _prepare(out)
    roots, expected = {}, []
    for name in CORPORA:
        roots[name], written = FORGERS[name](out / name, seed, clips_scale=clips_scale, seconds_scale=seconds_scale)
        expected += written
    _mark(out)
    return DemoCorpora(roots, expected)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m aggregate.demo.corpora",
        description="Write small deterministic demo corpora (" + ", ".join(u.TITLE for u in CORPORA.values())
                    + ") in their native layouts, with their known defects, under OUT_DIR/<corpus>.")
    parser.add_argument("out_dir", type=Path, help="folder to write the corpora into")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed => identical files)")
    parser.add_argument("--clips-scale", type=float, default=1.0, help="multiply the number of clips (about)")
    parser.add_argument("--seconds-scale", type=float, default=1.0, help="multiply every clip's duration")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    demo = write_demo_corpora(args.out_dir, args.seed, args.clips_scale, args.seconds_scale)
    for corpus, root in demo.roots.items():
        rows = [e for e in demo.expected if e.corpus == corpus]
        print(f"{corpus:8s} {len(rows):5d} files, {sum(e.kept for e in rows):5d} kept  {root}")
    print(f"written in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
