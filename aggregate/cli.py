"""``python -m aggregate``: build the manifest; run the demo pipeline."""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
from pathlib import Path

from .corpora import CORPORA
from .emotions import LabelPolicy
from .errors import InputError, run_command
from .render import DEFAULT_SHARD_SIZE

DEFAULT_MANIFEST = Path("manifests", "aggregate.parquet")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    return run_command(args.handler, args)


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
    build.add_argument("--split-seed", type=int, default=0,
                       help="seed of the speaker-disjoint 80/10/10 split written in the manifest's split column "
                            "(default: 0; other strategies are chosen at training time)")
    build.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    build.set_defaults(handler=_run_manifest)

    render = commands.add_parser(
        "render", help="render a manifest's clips into log-mel HDF5 shards with a worker pool",
        description="Render every clip of MANIFEST into log-mel spectrograms (the paper's recipe) in sharded "
                    "HDF5 files, with an index and a copy of the manifest: one folder is everything a "
                    "collaborator needs. Running the same command again resumes an interrupted run.")
    render.add_argument("manifest", type=Path, help="a manifest written by `python -m aggregate manifest`")
    render.add_argument("-o", "--output", type=Path, required=True, help="the shards folder (new, or one to resume)")
    render.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1,
                        help="worker processes (default: all cores, here %(default)s)")
    render.add_argument("--shard-size", type=int, default=DEFAULT_SHARD_SIZE,
                        help="clips per shard file (default: %(default)s, about 35 MB)")
    render.add_argument("--root", action="append", default=[], metavar="CORPUS=DIR",
                        help="where a corpus lives on this machine, if not where the manifest was built "
                             "(repeatable)")
    render.add_argument("--feature", action="append", default=[], metavar="NAME=VALUE",
                        help="change one field of the feature config, e.g. duration_s=3 (repeatable; "
                             "see docs/shards.md for the fields)")
    render.add_argument("--backend", choices=["loky", "dask"], default="loky",
                        help="loky: a local process pool (default); dask: the workers of a Dask cluster, "
                             "which must all see the corpus and output folders")
    render.add_argument("--scheduler", metavar="ADDRESS", help="the Dask scheduler, e.g. tcp://10.0.0.5:8786")
    render.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    render.set_defaults(handler=_run_render)

    verify = commands.add_parser(
        "verify", help="check a shards folder: checksums, shapes, values, ids, coverage of the manifest",
        description="Check every shard against the index (size, SHA-256), shapes and dtype, finite values in "
                    "[-1, 1], one feature config, no duplicate ids, and that every manifest row is in a "
                    "shard or listed as failed. Exits 1 and names each problem if anything is wrong.")
    verify.add_argument("shards", type=Path, help="the shards folder")
    verify.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    verify.set_defaults(handler=_run_verify)

    report = commands.add_parser(
        "report", help="write a data card: an offline HTML page with figures describing a manifest",
        description="Describe a manifest (or the manifest of a shards folder) in one HTML page with figures "
                    "beside it (PNG for the page, SVG for print), for a paper's appendix: each corpus's citation "
                    "and licence, corpora, speakers and rejects, the label policy, label counts and "
                    "co-occurrence, labels per clip and rater agreement, durations against the crop, the splits "
                    "(with a check that no speaker is in two), for a shards folder example spectrograms, and the "
                    "data's limitations. Readable offline: no JavaScript, no network, no date, no absolute path.")
    report.add_argument("source", type=Path, metavar="MANIFEST_OR_SHARDS_DIR",
                        help="a manifest .parquet (its rejects CSV beside it is used when present) "
                             "or a shards folder written by `python -m aggregate render`")
    report.add_argument("-o", "--output", type=Path, required=True,
                        help="the report folder: new, empty, or one an earlier report wrote (it is replaced); "
                             "any other folder is refused")
    report.add_argument("--title", help="the page's title (default: 'Data card: ' and the input's name)")
    report.set_defaults(handler=_run_report)

    demo = commands.add_parser(
        "demo", help="write the built-in demo corpora and run the pipeline on them",
        description="Write small synthetic corpora in the four native layouts (defects included) "
                    "and build their manifest, printing the command each stage stands for.")
    demo.add_argument("--dir", type=Path, default=Path("demo"),
                      help="where the demo corpora go (default: demo/)")
    demo.add_argument("-o", "--output", type=Path, default=Path("manifests", "demo.parquet"),
                      help="the demo manifest (default: manifests/demo.parquet)")
    demo.add_argument("--shards", type=Path, default=Path("demo", "shards"),
                      help="the demo shards folder (default: demo/shards)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the synthetic corpora (default: 0)")
    demo.set_defaults(handler=_run_demo)
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


def _build_and_write(roots: dict, policy: LabelPolicy, output: Path, progress: bool, split_seed: int = 0) -> None:
    from .manifest import build_manifest, rejects_path, summarize, write_manifest
    from .splits import SplitConfig

    manifest = build_manifest(roots, policy, progress=progress, split=SplitConfig(seed=split_seed))
    write_manifest(manifest, output)
    print(summarize(manifest))
    print(f"\nwrote {output} ({len(manifest.clips)} clips) and {rejects_path(output)} "
          f"({len(manifest.rejects)} rejects)")


def _run_manifest(args: argparse.Namespace) -> int:
    roots = {name: getattr(args, name.replace("-", "_")) for name in CORPORA}
    roots = {name: root for name, root in roots.items() if root is not None}
    if not roots:
        raise InputError("no corpus given: pass at least one of " + ", ".join(f"--{c} DIR" for c in CORPORA))
    _build_and_write(roots, _policy(args), args.output, progress=not args.quiet, split_seed=args.split_seed)
    return 0


def _run_demo(args: argparse.Namespace) -> int:
    from .synth import write_demo_corpora

    print(f"writing the demo corpora to {args.dir}/ ...")
    demo = write_demo_corpora(args.dir, seed=args.seed)
    flags = " ".join(f"--{name} {shlex.quote(str(root))}" for name, root in demo.roots.items())
    print(f"\n$ python -m aggregate manifest {flags} -o {args.output}")
    _build_and_write(demo.roots, LabelPolicy(), args.output, progress=True)

    from .features import FeatureConfig

    jobs = os.cpu_count() or 1
    print(f"\n$ python -m aggregate render {args.output} -o {args.shards} --jobs {jobs} --shard-size 64")
    if args.shards.exists():  # the demo corpora were just rewritten: start the shards afresh
        shutil.rmtree(args.shards)
    status = _render_and_verify(args.output, args.shards, FeatureConfig(), jobs, 64, {}, "loky", None, True)
    print(f"\n$ python -m aggregate verify {args.shards}")
    verify_status = _run_verify(argparse.Namespace(shards=args.shards, quiet=False))
    report_dir = args.dir / "report"
    print(f"\n$ python -m aggregate report {args.shards} -o {report_dir}")
    _run_report(argparse.Namespace(source=args.shards, output=report_dir, title=None), synthetic=True)
    print(f"\nthe data card: {report_dir / 'index.html'} (open it in a browser)")
    return status or verify_status


def _pairs(values: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise InputError(f"{option} {value!r}: expected NAME=VALUE")
        pairs[key.strip()] = rest.strip()
    return pairs


def _feature_config(changes: dict[str, str]):
    from .features import FeatureConfig

    data = FeatureConfig().to_dict()
    for key, value in changes.items():
        if key not in data:
            raise InputError(f"--feature {key}: no such field; the fields are {', '.join(data)}")
        default = data[key]
        if isinstance(default, bool):
            data[key] = value.lower() in ("1", "true", "yes", "on")
        elif isinstance(default, list):
            data[key] = [v for v in value.split(",") if v]
        else:
            try:
                data[key] = type(default)(value)
            except ValueError:
                raise InputError(f"--feature {key}={value}: expected a {type(default).__name__}") from None
    try:
        return FeatureConfig.from_dict(data)
    except ValueError as err:
        raise InputError(f"--feature: {err}") from None


def _render_and_verify(manifest: Path, output: Path, config, jobs: int, shard_size: int, roots: dict,
                       backend: str, scheduler: str | None, progress: bool) -> int:
    from .render import render_shards

    result = render_shards(manifest, output, config, jobs=jobs, shard_size=shard_size, roots=roots,
                           backend=backend, scheduler=scheduler, progress=progress)
    print(f"{result.samples} clips in {result.shards} shards in {result.folder} "
          f"({result.rendered} rendered now, {result.skipped} already complete)")
    if result.failed:
        print(f"{len(result.failed)} clips failed to render (listed in {result.folder / 'index.json'}):")
        for item in result.failed[:10]:
            print(f"  {item['sample_id']}: {item['reason']}")
        if len(result.failed) > 10:
            print(f"  ... and {len(result.failed) - 10} more")
        return 1
    return 0


def _run_render(args: argparse.Namespace) -> int:
    return _render_and_verify(args.manifest, args.output, _feature_config(_pairs(args.feature, "--feature")),
                              args.jobs, args.shard_size, _pairs(args.root, "--root"), args.backend,
                              args.scheduler, progress=not args.quiet)


def _run_report(args: argparse.Namespace, synthetic: bool = False) -> int:
    from .report import build_report

    page = build_report(args.source, args.output, title=args.title, synthetic=synthetic)
    figures = len(list(page.parent.glob("*.png")))
    print(f"wrote {page} ({figures} figures beside it, as PNG and SVG)")
    return 0


def _run_verify(args: argparse.Namespace) -> int:
    from .shards import verify_shards

    report = verify_shards(args.shards, progress=not args.quiet)
    for problem in report.problems:
        print(f"problem: {problem}")
    if report.problems:
        print(f"{args.shards}: {len(report.problems)} problem(s) found")
        return 1
    print(f"{args.shards}: OK: {report.samples} samples in {report.shards} shards, "
          f"{report.failed} clips listed as failed at render time")
    return 0
