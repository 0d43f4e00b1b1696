"""``python -m aggregate``: build the manifest; run the demo pipeline."""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from .corpora import CORPORA
from .emotions import LabelPolicy
from .errors import InputError

DEFAULT_MANIFEST = Path("manifests", "aggregate.parquet")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; nothing half-written was left behind", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m aggregate",
        description="Turn IEMOCAP, CREMA-D, TESS and RAVDESS, as they ship, into one training set.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    build = commands.add_parser(
        "manifest", help="parse corpus folders into a Parquet manifest and a rejects table",
        description="Parse the corpora (any subset) into one Parquet manifest, one row per kept clip, "
                    "and NAME.rejects.csv beside it, one row per rejected file with its reason. "
                    "Each folder may be the one the archive unpacks to or the folder that holds it.")
    for name, module in CORPORA.items():
        build.add_argument(f"--{name}", metavar="DIR", type=Path, help=f"{module.EXPECTED}")
    build.add_argument("-o", "--output", type=Path, default=DEFAULT_MANIFEST,
                       help=f"manifest to write (default: {DEFAULT_MANIFEST})")
    _add_policy_options(build)
    build.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    build.set_defaults(run=_run_manifest)

    demo = commands.add_parser(
        "demo", help="write the built-in demo corpora and run the pipeline on them",
        description="Write small synthetic corpora in the four native layouts (defects included) "
                    "and build their manifest, printing the command each stage stands for.")
    demo.add_argument("--dir", type=Path, default=Path("demo"),
                      help="where the demo corpora go (default: demo/)")
    demo.add_argument("-o", "--output", type=Path, default=Path("manifests", "demo.parquet"),
                      help="the demo manifest (default: manifests/demo.parquet)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the synthetic corpora (default: 0)")
    demo.set_defaults(run=_run_demo)
    return parser


def _add_policy_options(parser: argparse.ArgumentParser) -> None:
    d = LabelPolicy()
    group = parser.add_argument_group("label policy (recorded in the manifest; see docs/labels.md)")
    group.add_argument("--min-votes", type=int, default=d.min_votes,
                       help=f"an emotion is present when at least this many raters named it (default: {d.min_votes})")
    group.add_argument("--max-labels", type=int, default=d.max_labels,
                       help=f"reject clips with more labels than this (default: {d.max_labels})")
    group.add_argument("--max-duration", type=float, default=d.max_duration,
                       help=f"reject files longer than this many seconds (default: {d.max_duration:g})")
    group.add_argument("--iemocap-self-evaluations", action=argparse.BooleanOptionalAction,
                       default=d.iemocap_self_evaluations,
                       help="count the IEMOCAP actors' own ratings (C-F1, C-M1) as votes")
    group.add_argument("--iemocap-excited-as-happy", action=argparse.BooleanOptionalAction,
                       default=d.iemocap_excited_as_happy, help="count IEMOCAP 'Excited' as happy")
    group.add_argument("--ravdess-calm-as-neutral", action=argparse.BooleanOptionalAction,
                       default=d.ravdess_calm_as_neutral,
                       help="label RAVDESS 'calm' clips neutral instead of rejecting them")
    group.add_argument("--ravdess-song", action=argparse.BooleanOptionalAction, default=d.ravdess_song,
                       help="keep RAVDESS sung clips (vocal channel 02)")


def _policy(args: argparse.Namespace) -> LabelPolicy:
    try:
        return LabelPolicy(
            min_votes=args.min_votes, max_labels=args.max_labels, max_duration=args.max_duration,
            iemocap_self_evaluations=args.iemocap_self_evaluations,
            iemocap_excited_as_happy=args.iemocap_excited_as_happy,
            ravdess_calm_as_neutral=args.ravdess_calm_as_neutral, ravdess_song=args.ravdess_song)
    except ValueError as err:
        raise InputError(str(err)) from None


def _build_and_write(roots: dict, policy: LabelPolicy, output: Path, progress: bool) -> None:
    from .manifest import build_manifest, rejects_path, summarize, write_manifest

    manifest = build_manifest(roots, policy, progress=progress)
    write_manifest(manifest, output)
    print(summarize(manifest))
    print(f"\nwrote {output} ({len(manifest.clips)} clips) and {rejects_path(output)} "
          f"({len(manifest.rejects)} rejects)")


def _run_manifest(args: argparse.Namespace) -> int:
    roots = {name: getattr(args, name.replace("-", "_")) for name in CORPORA}
    roots = {name: root for name, root in roots.items() if root is not None}
    if not roots:
        raise InputError("no corpus given: pass at least one of " + ", ".join(f"--{c} DIR" for c in CORPORA))
    _build_and_write(roots, _policy(args), args.output, progress=not args.quiet)
    return 0


def _run_demo(args: argparse.Namespace) -> int:
    from .synth import write_demo_corpora

    print(f"writing the demo corpora to {args.dir}/ ...")
    demo = write_demo_corpora(args.dir, seed=args.seed)
    flags = " ".join(f"--{name} {shlex.quote(str(root))}" for name, root in demo.roots.items())
    print(f"\n$ python -m aggregate manifest {flags} -o {args.output}")
    _build_and_write(demo.roots, LabelPolicy(), args.output, progress=True)
    return 0
