"""``python -m aggregate``: build, select, render, verify and describe; run the demo pipeline.

With ``--json``, a command prints one JSON object on stdout and nothing else there: its
human-readable text goes to stderr (``_human``), as progress always does."""
from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shlex
import sys
from pathlib import Path

from . import __version__
from .corpora import CORPORA, OPTIONS
from .corpora.base import option_key
from .corpora.policy import LabelPolicy
from .errors import InputError, run_command
from .manifest.split_config import SplitConfig
from .options import add_options, from_options
from .shards.storage import StorageConfig
from .vocabulary import INDEX_FILE

DEFAULT_MANIFEST = Path("manifests", "aggregate.parquet")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        _unrecognized(parser, args, unknown)  # exits
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    return run_command(args.handler, args)


def _unrecognized(parser: argparse.ArgumentParser, args: argparse.Namespace, unknown: list[str]) -> None:
    """A mistyped flag: the command's own usage (not the top level's) and the nearest flag it has."""
    command = getattr(args, "command_parser", None)
    message = f"unrecognized arguments: {' '.join(unknown)}"
    flags = [a for a in unknown if a.startswith("-")]
    if command is not None:
        near = difflib.get_close_matches(flags[0].partition("=")[0], _flags(command), n=1) if flags else []
        command.error(message + (f"; did you mean {near[0]}?" if near else f"; see {command.prog} --help"))
    parser.error(message + "; the command comes first, e.g. `python -m aggregate manifest --ravdess DIR` "
                           "(python -m aggregate --help lists the commands)")


def _flags(parser: argparse.ArgumentParser) -> list[str]:
    """The flags a parser takes, as its usage line lists them."""
    return sorted(set(re.findall(r"(?<![\w-])--?[A-Za-z][\w-]*", parser.format_usage())))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m aggregate",
        description=f"Turn {', '.join(m.TITLE for m in CORPORA.values())} (as they ship) and corpora listed "
                    "in tables into one training set.",
    )
    parser.add_argument("--version", action="version", version=f"aggregate {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    build = commands.add_parser(
        "manifest", help="parse corpus folders into a Parquet manifest and a rejects table",
        description="Parse the corpora (any subset) into one Parquet manifest, one row per kept clip, "
                    "and NAME.rejects.csv beside it, one row per rejected file with its reason. "
                    "Each folder may be the one the archive unpacks to or the folder that holds it.")
    for name, module in CORPORA.items():
        build.add_argument(f"--{name}", metavar="DIR", type=Path, help=f"{module.EXPECTED}")
    build.add_argument("--table", action="append", default=[], metavar="NAME=PATH",
                       help="a corpus without a module: a CSV or Parquet table with columns path, speaker, "
                            "emotion | labels | votes_<emotion> (and n_raters), optional gender; its speakers "
                            "and ids are prefixed with NAME (repeatable; see docs/adding-a-corpus.md)")
    build.add_argument("-o", "--output", type=Path, default=DEFAULT_MANIFEST,
                       help=f"manifest to write (default: {DEFAULT_MANIFEST})")
    _add_policy_options(build)
    build.add_argument("--split-seed", type=int, default=SplitConfig().seed,
                       help="seed of the speaker-disjoint 80/10/10 split written in the manifest's split column "
                            "(default: %(default)s; other strategies are chosen at training time)")
    _add_output_options(build)
    build.set_defaults(command_parser=build, handler=_run_manifest)

    select = commands.add_parser(
        "select", help="keep part of a manifest (corpora, splits, speakers, a condition) as a manifest",
        description="Write the rows of MANIFEST that pass every filter given as a manifest of its own, with its "
                    "metadata (label policy, split config, corpus roots), the counts recomputed, the rejects of "
                    "the corpora kept, and a record of the selection (selected_from: the source's SHA-256 and "
                    "the filters). render, verify, report and train take it like any manifest.")
    select.add_argument("manifest", type=Path, help="a manifest written by `python -m aggregate manifest` or select")
    select.add_argument("-o", "--output", type=Path, required=True,
                        help="the manifest to write (a new file, or a manifest this tool wrote; never the input)")
    select.add_argument("--corpus", action="append", default=[], metavar="NAME",
                        help="keep this corpus (repeatable: any of them)")
    select.add_argument("--split", action="append", default=[], metavar="SPLIT",
                        help="keep this split: train, val or test (repeatable)")
    select.add_argument("--speaker", action="append", default=[], metavar="ID",
                        help="keep this speaker, e.g. ravdess:01 (repeatable)")
    select.add_argument("--max-duration", type=float, metavar="SECONDS", help="keep clips at most this long")
    select.add_argument("--where", metavar="CONDITION",
                        help="keep the rows where this condition holds, e.g. \"n_labels > 1 and gender == 'female'\": "
                             "columns, numbers, 'strings', true/false, == != < <= > >=, in [...], not in [...], "
                             "and/or/not, parentheses, + - * / %% between numbers; nothing else is read, nothing is "
                             "run (columns and the language: docs/manifest.md)")
    _add_output_options(select)
    select.set_defaults(command_parser=select, handler=_run_select)

    render = commands.add_parser(
        "render", help="render a manifest's clips into log-mel HDF5 shards with a worker pool",
        description="Render every clip of MANIFEST into log-mel spectrograms (the paper's recipe), and any other "
                    "views asked for (--views), in sharded "
                    "HDF5 files, with an index and a copy of the manifest: one folder is everything a "
                    "collaborator needs. Running the same command again resumes an interrupted run.")
    render.add_argument("manifest", type=Path, help="a manifest written by `python -m aggregate manifest`")
    render.add_argument("-o", "--output", type=Path, required=True, help="the shards folder (new, or one to resume)")
    render.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1,
                        help="worker processes (default: all cores, here %(default)s)")
    render.add_argument("--root", action="append", default=[], metavar="CORPUS=DIR",
                        help="where a corpus lives on this machine, if not where the manifest was built "
                             "(repeatable)")
    render.add_argument("--feature", action="append", default=[], metavar="NAME=VALUE",
                        help="change one field of the feature recipe, e.g. duration_s=3 (repeatable; "
                             "see docs/shards.md for the fields)")
    render.add_argument("--views", default="log_mel", metavar="NAME,NAME",
                        help="the views of each clip to store, comma-separated: log_mel (always rendered: the "
                             "rows every view follows), waveform (16 kHz, whole clip), and the optional "
                             "egemaps, compare, embedding where installed. A view missing from an existing folder "
                             "is added, rendering only it (docs/shards.md)")
    render.add_argument("--view-option", action="append", default=[], metavar="VIEW.FIELD=VALUE",
                        help="set one field of a view's config, e.g. waveform.sample_rate=8000 or "
                             "embedding.model_dir=DIR (repeatable; a wrong field is refused naming the view's "
                             "fields; docs/shards.md, Views)")
    render.add_argument("--retry-failed", action="store_true",
                        help="render again the shards whose clips failed last time (e.g. a file since restored)")
    add_options(render.add_argument_group("storage (not part of the recipe: see docs/shards.md; left at the "
                                          "defaults, an existing folder keeps its own)"), StorageConfig)
    render.add_argument("--backend", choices=["loky", "dask"], default="loky",
                        help="loky: a local process pool (default); dask: the workers of a Dask cluster, "
                             "which must all see the corpus and output folders")
    render.add_argument("--scheduler", metavar="ADDRESS", help="the Dask scheduler, e.g. tcp://10.0.0.5:8786")
    _add_output_options(render)
    render.set_defaults(command_parser=render, handler=_run_render)

    verify = commands.add_parser(
        "verify", help="check a shards folder: checksums, shapes, values, ids, coverage of the manifest",
        description="Check every shard against the index (size, SHA-256), shapes and dtype, finite values in "
                    "[-1, 1], one feature config, no duplicate ids, and that every manifest row is in a "
                    "shard or listed as failed. Exits 1 and names each problem if anything is wrong.")
    verify.add_argument("shards", type=Path, help="the shards folder")
    _add_output_options(verify)
    verify.set_defaults(command_parser=verify, handler=_run_verify)

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
    report.add_argument("--title", help="the page's title (default: 'Data card: ', the corpora and the number of "
                                        "clips and speakers, e.g. 'Data card: TESS and RAVDESS, 2,024 clips from "
                                        "13 speakers')")
    report.set_defaults(command_parser=report, handler=_run_report)

    demo = commands.add_parser(
        "demo", help="write the built-in demo corpora and run the pipeline on them",
        description="Write small synthetic corpora in the native layouts of the built-in corpora (defects included) "
                    "and build their manifest, printing the command each stage stands for.")
    demo.add_argument("--dir", type=Path, default=Path("demo"),
                      help="where the demo corpora go (default: demo/)")
    demo.add_argument("-o", "--output", type=Path, default=Path("manifests", "demo.parquet"),
                      help="the demo manifest (default: manifests/demo.parquet)")
    demo.add_argument("--shards", type=Path, default=Path("demo", "shards"),
                      help="the demo shards folder (default: demo/shards)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the synthetic corpora (default: 0)")
    demo.set_defaults(command_parser=demo, handler=_run_demo)
    return parser


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress (a bar on a terminal, else a line every 10 s or 10%%, on stderr) "
                             "and no summary: only warnings and errors, on stderr")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object with the results on stdout (text goes to stderr)")


def _human(args: argparse.Namespace):
    """Where text for people goes: stdout, or stderr when stdout carries the JSON result."""
    return sys.stderr if getattr(args, "json", False) else sys.stdout


def _print_json(result: dict) -> None:
    print(json.dumps({"ok": True, **result}, sort_keys=True))  # verify's own "ok" wins


def _add_policy_options(parser: argparse.ArgumentParser) -> None:
    d = LabelPolicy()
    group = parser.add_argument_group("label policy (recorded in the manifest; see docs/labels.md)")
    group.add_argument("--min-votes", type=int, default=d.min_votes,
                       help=f"an emotion is present when at least this many raters named it (default: {d.min_votes})")
    group.add_argument("--max-labels", type=int, default=d.max_labels,
                       help=f"reject clips with more labels than this (default: {d.max_labels})")
    group.add_argument("--max-duration", type=float, default=d.max_duration,
                       help=f"reject files longer than this many seconds (default: {d.max_duration:g})")
    for name, module in CORPORA.items():  # each corpus' own choices, as its unit declares them
        for option in module.OPTIONS:
            group.add_argument(f"--{name}-{option.name.replace('_', '-')}", dest=option_key(name, option.name),
                               action=argparse.BooleanOptionalAction, default=option.default, help=option.help)


def _policy(args: argparse.Namespace) -> LabelPolicy:
    try:
        return LabelPolicy(min_votes=args.min_votes, max_labels=args.max_labels, max_duration=args.max_duration,
                           options={key: vars(args)[key] for key in OPTIONS})
    except ValueError as err:
        raise InputError(str(err)) from None


def _build_and_write(roots: dict, policy: LabelPolicy, output: Path, progress: bool, split_seed: int = SplitConfig().seed,
                     tables: dict | None = None, out=None, synthetic: bool = False):
    from .manifest.build import build_manifest
    from .manifest.format import check_output, write_manifest

    check_output(output)  # before the slow part: a wrong -o fails at once
    manifest = build_manifest(roots, policy, progress=progress, split=SplitConfig(seed=split_seed), tables=tables)
    if synthetic:  # travels with the manifest into shards and data cards, which then say so
        manifest.meta["synthetic"] = True
    write_manifest(manifest, output)
    _report_written(manifest, output, out or sys.stdout, quiet=not progress)
    return manifest


def _report_written(manifest, output: Path, out, quiet: bool = False) -> None:
    """The summary for people, or with ``quiet`` only its warnings (on stderr): a split that
    measures nothing is worth a line even in a script."""
    from .manifest.build import summarize, warnings_of

    if quiet:
        for line in warnings_of(manifest):
            print(line, file=sys.stderr)
        return
    from .manifest.format import rejects_path

    print(summarize(manifest), file=out)
    print(f"\nwrote {output} ({len(manifest.clips)} clips) and {rejects_path(output)} "
          f"({len(manifest.rejects)} rejects)", file=out)


def _written_json(manifest, output: Path) -> dict:
    from .manifest.format import rejects_path

    return {"manifest": str(output), "rejects": str(rejects_path(output)), "clips": len(manifest.clips),
            "rejected": len(manifest.rejects), "counts": manifest.meta["counts"]}


def _run_manifest(args: argparse.Namespace) -> int:
    roots = {name: vars(args)[name.replace("-", "_")] for name in CORPORA}
    roots = {name: root for name, root in roots.items() if root is not None}
    tables = _pairs(args.table, "--table", unique=True)
    manifest = _build_and_write(roots, _policy(args), args.output, progress=not args.quiet,
                                split_seed=args.split_seed, tables=tables, out=_human(args))
    if args.json:
        _print_json(_written_json(manifest, args.output))
    return 0


def _run_select(args: argparse.Namespace) -> int:
    from .manifest.select import Selection, select_file

    selection = Selection(tuple(args.corpus), tuple(args.split), tuple(args.speaker), args.max_duration, args.where)
    manifest = select_file(args.manifest, args.output, selection)
    _report_written(manifest, args.output, _human(args), quiet=args.quiet)
    if args.json:
        _print_json(dict(_written_json(manifest, args.output), selected_from=manifest.meta["selected_from"]))
    return 0


def _run_demo(args: argparse.Namespace) -> int:
    from .demo.corpora import write_demo_corpora
    from .recipe import FeatureConfig
    from .shards.writing import ShardsFolderWriter

    # The corpora are about to be written again: the old shards go first (only files the render wrote,
    # unchanged), so that a folder holding anything else is refused before anything is written.
    ShardsFolderWriter(args.shards).discard()
    print(f"writing the demo corpora to {args.dir}/ ...")
    demo = write_demo_corpora(args.dir, seed=args.seed)
    flags = " ".join(f"--{name} {shlex.quote(str(root))}" for name, root in demo.roots.items())
    print(f"\n$ python -m aggregate manifest {flags} -o {args.output}")
    _build_and_write(demo.roots, LabelPolicy(), args.output, progress=True, synthetic=True)

    jobs = os.cpu_count() or 1
    print(f"\n$ python -m aggregate render {args.output} -o {args.shards} --jobs {jobs} --shard-size 64")
    storage = StorageConfig(shard_size=64)
    status = _render(args.output, args.shards, FeatureConfig(), storage, jobs, {}, "loky", None, True)
    print(f"\n$ python -m aggregate verify {args.shards}")
    verify_status = _run_verify(argparse.Namespace(shards=args.shards, quiet=False, json=False))
    report_dir = args.dir / "report"
    print(f"\n$ python -m aggregate report {args.shards} -o {report_dir}")
    _run_report(argparse.Namespace(source=args.shards, output=report_dir, title=None))
    print(f"\nthe data card: {report_dir / 'index.html'} (open it in a browser)")
    return status or verify_status


def _pairs(values: list[str], option: str, unique: bool = False) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise InputError(f"{option} {value!r}: expected NAME=VALUE")
        if unique and key.strip() in pairs:
            raise InputError(f"{option} {key.strip()} is given twice; give each name once")
        pairs[key.strip()] = rest.strip()
    return pairs


def _feature_config(changes: dict[str, str]):
    from .recipe import FeatureConfig

    data = FeatureConfig().to_dict()
    for key, value in changes.items():
        if key not in data:
            where = "; it is a storage option: use --" + key.replace("_", "-") if key in vars(StorageConfig()) else ""
            raise InputError(f"--feature {key}: no such field of the recipe{where}; the fields are {', '.join(data)}")
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


def _render(manifest: Path, output: Path, recipe, storage: StorageConfig, jobs: int, roots: dict,
            backend: str, scheduler: str | None, progress: bool, retry_failed: bool = False,
            as_json: bool = False, views: str = "log_mel") -> int:
    from .render.run import render_shards

    result = render_shards(manifest, output, recipe, storage, jobs=jobs, roots=roots, backend=backend,
                           scheduler=scheduler, progress=progress, retry_failed=retry_failed, views=views)
    out = sys.stderr if as_json else sys.stdout
    print(f"{result.samples} clips in {result.shards} shards in {result.folder} "
          f"({result.rendered} rendered now, {result.skipped} already complete)", file=out)
    if result.failed:
        print(f"{len(result.failed)} clips failed to render (listed in {result.folder / INDEX_FILE}; "
              "restore them and run again with --retry-failed):", file=out)
        for item in result.failed[:10]:
            print(f"  {item['sample_id']} ({item['path']}): {item['reason']}", file=out)
        if len(result.failed) > 10:
            print(f"  ... and {len(result.failed) - 10} more", file=out)
    for view, failed in result.view_failed.items():  # clips in the log-mel shards an added view could not compute
        print(f"{len(failed)} clips have no {view} (listed in its entry of {result.folder / INDEX_FILE}; readers of "
              f"{view} skip them), e.g. {failed[0]['sample_id']} ({failed[0]['path']}): {failed[0]['reason']}", file=out)
    if as_json:
        _print_json({"ok": not result.failed, "folder": str(result.folder), "shards": result.shards, "rendered": result.rendered,
                     "skipped": result.skipped, "samples": result.samples, "failed": result.failed,
                     "views": result.views, "view_failed": result.view_failed})
    return 1 if result.failed or result.view_failed else 0


def _views(names: str, pairs: list[str]) -> tuple:
    """--views and --view-option VIEW.FIELD=VALUE: the views to render, each with its config."""
    from .views import parse_views

    options: dict[str, dict[str, str]] = {}
    for key, value in _pairs(pairs, "--view-option").items():
        view, dot, field = key.partition(".")
        if not (dot and view and field):
            raise InputError(f"--view-option {key}={value}: write VIEW.FIELD=VALUE, e.g. waveform.sample_rate=8000")
        if view == "log_mel":
            raise InputError(f"--view-option {key}: the log-mel's config is the feature recipe: use --feature {field}=VALUE")
        options.setdefault(view, {})[field] = value
    return parse_views(names, options)


def _run_render(args: argparse.Namespace) -> int:
    storage = from_options(StorageConfig, args)
    storage = None if storage == StorageConfig() else storage  # None: an existing folder's, or the default
    return _render(args.manifest, args.output, _feature_config(_pairs(args.feature, "--feature")),
                   storage, args.jobs, _pairs(args.root, "--root"),
                   args.backend, args.scheduler, progress=not args.quiet, retry_failed=args.retry_failed,
                   as_json=args.json, views=_views(args.views, args.view_option))


def _run_report(args: argparse.Namespace) -> int:
    from .report import build_report

    page = build_report(args.source, args.output, title=args.title)
    figures = len(list(page.parent.glob("*.png")))
    print(f"wrote {page} ({figures} figures beside it, as PNG and SVG)")
    return 0


def _run_verify(args: argparse.Namespace) -> int:
    from .shards.verify import verify_shards

    report = verify_shards(args.shards, progress=not args.quiet)
    out = _human(args)
    for problem in report.problems:
        print(f"problem: {problem}", file=out)
    if report.problems:
        print(f"{args.shards}: {len(report.problems)} problem(s) found", file=out)
    else:
        print(f"{args.shards}: OK: {report.samples} samples in {report.shards} shards, "
              f"{report.failed} clips listed as failed at render time", file=out)
    if args.json:
        _print_json({"folder": str(args.shards), "ok": report.ok, "problems": report.problems,
                     "shards": report.shards, "samples": report.samples, "failed": report.failed})
    return 0 if report.ok else 1
