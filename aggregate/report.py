"""A data card: one offline HTML page with PNG figures describing a manifest (``python -m aggregate report``).

``build_report(source, output)`` takes a manifest ``.parquet`` (its rejects CSV
beside it when present) or a shards folder (its ``manifest.parquet`` copy, plus
example spectrograms read from the shards) and writes ``output/index.html`` with
the figures beside it: corpora, speakers and rejects; label counts and
co-occurrence; labels per clip and rater agreement; durations against the crop
length; the train/val/test split (and a computed check that no speaker is in two
splits). The page has no JavaScript, no network access and no date, so the same
input gives the same files.

Every number is computed from the clips and rejects themselves; the manifest's
metadata gives the label policy, the split config and the tool version (and its
``counts`` are checked against the data). The page and figures are written into a
temporary folder that replaces ``output`` only when complete.
"""
from __future__ import annotations

import html
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .corpora import CORPORA
from .corpora.base import REASONS
from .emotions import EMOTIONS
from .errors import InputError
from .files import current_umask
from .manifest import Manifest, read_manifest, rejects_path

DPI = 150  # figures are drawn at 150 dpi and shown at 100 px per inch: sharp on screens and in print
SHOW_SCALE = 100 / DPI
SPLIT_NAMES = ("train", "val", "test")
VOTED = ("iemocap", "crema-d")  # the corpora whose labels come from raters' votes
EXAMPLES_PER_EMOTION = 2

# One color per corpus in every figure and table (Okabe-Ito, readable by color-blind readers).
CORPUS_COLORS = {"iemocap": "#0072B2", "crema-d": "#E69F00", "tess": "#009E73", "ravdess": "#CC79A7"}
OTHER_CORPUS_COLOR = "#777777"
# Reject reasons: pastel colors (Set3), distinct from the corpus colors, fixed per reason.
REASON_COLORS = dict(zip(REASONS, ["#8DD3C7", "#FFFFB3", "#BEBADA", "#FB8072", "#80B1D3",
                                   "#FDB462", "#B3DE69", "#FCCDE5", "#D9D9D9", "#BC80BD"]))
GENDER_COLORS = {"female": "#4D4D4D", "male": "#B3B3B3", "unknown": "#FFFFFF"}


@dataclass
class Source:
    """What the page describes: the manifest, where it came from, and the shards if any."""

    manifest: Manifest
    manifest_file: Path
    shards: Path | None = None
    index: dict | None = None
    rejects_known: bool = True  # False when the rejects CSV was not beside the manifest
    crop_s: float = 4.5


@dataclass
class Page:
    """The HTML sections and the figure files written so far."""

    folder: Path
    sections: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- entry point


def build_report(source: Path | str, output: Path | str) -> Path:
    """Write the data card of ``source`` (a manifest .parquet or a shards folder) into ``output``;
    return the path of ``output/index.html``. Raises InputError for input that is neither."""
    source, output = Path(source), Path(output)
    loaded = load_source(source)
    _check_output(output, source)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp"))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700; a report is meant to be shared
        page = Page(tmp)
        _render(loaded, page)
        (tmp / "index.html").write_text(_html(loaded, page), encoding="utf-8")
        _replace_folder(tmp, output)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return output / "index.html"


def load_source(source: Path) -> Source:
    """Read a manifest file or a shards folder, or raise InputError saying what was expected."""
    expected = ("expected a manifest .parquet written by `python -m aggregate manifest` "
                "or a shards folder written by `python -m aggregate render`")
    if not source.exists():
        raise InputError(f"{source} does not exist; {expected}")
    if source.is_dir():
        from .shards import INDEX_FILE, MANIFEST_FILE, ShardsFolder

        if not (source / INDEX_FILE).is_file():
            raise InputError(f"{source} is a folder but not a shards folder (it has no {INDEX_FILE}); {expected}")
        try:
            folder = ShardsFolder.open(source, progress=True)  # checksums first: a card must not describe corrupt data
        except InputError as err:
            raise InputError(f"{err}; {expected}") from None
        manifest = folder.manifest()
        manifest_file = source / MANIFEST_FILE
        return Source(manifest, manifest_file, source, folder.index, rejects_path(manifest_file).is_file(),
                      folder.recipe.duration_s)
    from .recipe import FeatureConfig

    manifest = _read(source, expected)
    return Source(manifest, source, rejects_known=rejects_path(source).is_file(), crop_s=FeatureConfig().duration_s)


def _read(path: Path, expected: str) -> Manifest:
    try:
        manifest = read_manifest(path)
    except InputError as err:
        raise InputError(f"{err}; {expected}") from None
    except (KeyError, ValueError, TypeError) as err:  # a Parquet file with our key but not our columns
        raise InputError(f"{path} is not a manifest this tool can read ({err}); {expected}") from None
    missing = [c for c in ("sample_id", "corpus", "speaker", "duration", "n_labels") if c not in manifest.clips]
    if missing:
        raise InputError(f"{path} lacks the manifest column(s) {', '.join(missing)}; {expected}")
    return manifest


def _check_output(output: Path, source: Path) -> None:
    """Refuse to replace anything but a previous report (or an empty folder)."""
    if output.exists() and not output.is_dir():
        raise InputError(f"{output} exists and is not a folder; the report needs a folder (-o DIR)")
    if output.is_dir():
        foreign = sorted(p.name for p in output.iterdir()
                         if not (p.is_file() and (p.name == "index.html" or p.suffix == ".png")))
        if foreign:
            raise InputError(f"{output} holds files that are not a report ({', '.join(foreign[:3])}"
                             f"{' ...' if len(foreign) > 3 else ''}); choose a new or empty folder for -o")
    if source.resolve() == output.resolve():
        raise InputError(f"{output}: write the report to a folder of its own, not to the input")


def _replace_folder(tmp: Path, output: Path) -> None:
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
    shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------- the sections


def _render(src: Source, page: Page) -> None:
    plt = _pyplot()
    with plt.rc_context(_STYLE):
        clips = src.manifest.clips
        corpora = _corpora(src)
        _section_corpora(src, page, clips, corpora)
        _section_labels(page, clips, corpora)
        _section_agreement(src, page, clips, corpora)
        _section_durations(src, page, clips, corpora)
        _section_splits(page, clips, corpora)
        if src.shards is not None:
            _section_examples(src, page, clips)


def _corpora(src: Source) -> list[str]:
    """The corpora of this manifest, in the project's order (then any unknown name)."""
    names = set(src.manifest.clips["corpus"].dropna().astype(str))
    names |= set(src.manifest.rejects["corpus"].dropna().astype(str)) if len(src.manifest.rejects) else set()
    names |= set((src.manifest.meta.get("counts") or {}).keys())
    return [c for c in CORPORA if c in names] + sorted(names - set(CORPORA))


def _section_corpora(src: Source, page: Page, clips: pd.DataFrame, corpora: list[str]) -> None:
    rejects = src.manifest.rejects
    kept = clips["corpus"].astype(str).value_counts()
    if src.rejects_known:
        by_reason = (rejects.groupby([rejects["corpus"].astype(str), rejects["reason"].astype(str)]).size()
                     if len(rejects) else pd.Series(dtype=int))
    else:  # no CSV beside the manifest: the metadata's counts are all there is
        by_reason = pd.Series({(c, r): n for c, info in (src.manifest.meta.get("counts") or {}).items()
                               for r, n in (info.get("rejected") or {}).items()}, dtype=int)
    reasons = [r for r in REASONS if r in set(by_reason.index.get_level_values(1))] if len(by_reason) else []
    reasons += sorted(set(by_reason.index.get_level_values(1)) - set(reasons)) if len(by_reason) else []
    matrix = pd.DataFrame(0, index=reasons, columns=corpora, dtype=int)
    for (corpus, reason), n in by_reason.items():
        if corpus in matrix.columns:
            matrix.at[reason, corpus] = int(n)

    rows, totals = [], {"kept": 0, "rejected": 0}
    gender = clips.assign(gender=clips["gender"].astype("string").fillna("unknown").astype(str))
    for c in corpora:
        mine = gender[gender["corpus"] == c]
        k, r = int(kept.get(c, 0)), int(matrix[c].sum()) if c in matrix else 0
        totals["kept"] += k
        totals["rejected"] += r
        spk = mine.drop_duplicates("speaker")
        rows.append([_corpus_cell(c), k, mine["speaker"].nunique(), int((spk["gender"] == "female").sum()),
                     int((spk["gender"] == "male").sum()), r, _pct(r, k + r)])
    spk_all = gender.drop_duplicates("speaker")
    rows.append(["all", totals["kept"], clips["speaker"].nunique(), int((spk_all["gender"] == "female").sum()),
                 int((spk_all["gender"] == "male").sum()), totals["rejected"],
                 _pct(totals["rejected"], totals["kept"] + totals["rejected"])])
    unknown_gender = int((spk_all["gender"] == "unknown").sum())

    text = (f"Every audio file found under the corpus folders is either kept as a clip or rejected with one "
            f"reason (the first that applies). {_n(totals['kept'])} clips of {_n(clips['speaker'].nunique())} "
            f"speakers are kept; {_n(totals['rejected'])} files are rejected.")
    if unknown_gender:
        text += f" {unknown_gender} speaker(s) have no recorded gender."
    if not src.rejects_known:
        text += (f" The rejects table {rejects_path(src.manifest_file).name} is not beside the manifest: "
                 "the reject counts are the ones recorded in its metadata.")
    body = [_p(text), _table("t-corpora", ["corpus", "kept clips", "speakers", "female speakers",
                                           "male speakers", "rejected files", "rejected share"], rows, total=True)]
    body += _check_meta_counts(src, clips, matrix, corpora)
    if reasons:
        reason_rows = [[r, *[int(matrix.at[r, c]) for c in corpora], int(matrix.loc[r].sum()),
                        REASONS.get(r, "")] for r in reasons]
        reason_rows.append(["all", *[int(matrix[c].sum()) for c in corpora], int(matrix.values.sum()), ""])
        body.append(_p("Rejected files by reason (the reasons are defined in docs/manifest.md):"))
        body.append(_table("t-rejects", ["reason", *[_corpus_cell(c) for c in corpora], "all", "meaning"],
                           reason_rows, total=True, raw_header=True, left_last=True))
        body.append(_figure(page, "rejects.png", _plot_rejects(matrix, corpora),
                            "Rejected files per corpus, stacked by reason; the number at the end of each bar "
                            "is the corpus' total."))
    else:
        body.append(_p("No file was rejected.", "ok"))
    page.sections.append(_section("corpora", "Corpora, speakers and rejected files", body))


def _check_meta_counts(src: Source, clips: pd.DataFrame, matrix: pd.DataFrame, corpora: list[str]) -> list[str]:
    """A warning where the metadata's counts disagree with the rows (an edited or filtered file)."""
    counts = src.manifest.meta.get("counts") or {}
    wrong = []
    for c in corpora:
        if c not in counts:
            continue
        have = int((clips["corpus"] == c).sum())
        if int(counts[c].get("kept", have)) != have:
            wrong.append(f"{c}: metadata {counts[c]['kept']} kept, file {have}")
        if src.rejects_known:
            recorded = sum((counts[c].get("rejected") or {}).values())
            if recorded != int(matrix[c].sum()):
                wrong.append(f"{c}: metadata {recorded} rejected, rejects table {int(matrix[c].sum())}")
    if not wrong:
        return []
    return [_p("The manifest's metadata counts differ from its rows (was the file filtered or edited?): "
               + "; ".join(wrong) + ". This page shows the rows.", "warn")]


def _section_labels(page: Page, clips: pd.DataFrame, corpora: list[str]) -> None:
    labels = _label_matrix(clips)
    counts = pd.DataFrame({c: labels[(clips["corpus"] == c).to_numpy()].sum(axis=0) for c in corpora},
                          index=list(EMOTIONS)).astype(int)
    rows = [[e, *[int(counts.at[e, c]) for c in corpora], int(counts.loc[e].sum()),
             _pct(int(counts.loc[e].sum()), len(clips))] for e in EMOTIONS]
    rows.append(["clips", *[int((clips["corpus"] == c).sum()) for c in corpora], len(clips), ""])
    body = [_p("How many clips carry each emotion. A clip of a voted corpus can carry several emotions, so a "
               "corpus' label counts can add up to more than its clips. The share is of all clips."),
            _table("t-labels", ["emotion", *[_corpus_cell(c) for c in corpora], "all", "share of clips"],
                   rows, total=True, raw_header=True),
            _figure(page, "labels.png", _plot_labels(counts, corpora), "Clips per emotion, one bar per corpus.")]
    page.sections.append(_section("labels", "Emotion labels", body))

    co = labels.T.astype(np.int64) @ labels.astype(np.int64)
    multi = int((labels.sum(axis=1) > 1).sum())
    pairs = [(co[i, j], EMOTIONS[i], EMOTIONS[j]) for i in range(len(EMOTIONS)) for j in range(i + 1, len(EMOTIONS))]
    top = sorted(pairs, key=lambda p: (-p[0], p[1], p[2]))[0]
    text = ("How often two emotions are present in the same clip: the point of multi-label data. "
            f"{_n(multi)} clips ({_pct(multi, len(clips))}) have more than one label")
    text += (f"; the most frequent pair is {top[1]} + {top[2]} ({_n(top[0])} clips)." if top[0] else
             ", so there is no pair to show: every off-diagonal cell is 0.")
    body = [_p(text + " The diagonal (grey) is the number of clips with that emotion."),
            _figure(page, "cooccurrence.png", _plot_cooccurrence(co),
                    "Label co-occurrence over all corpora: clips with both the row's and the column's emotion.")]
    page.sections.append(_section("cooccurrence", "Label co-occurrence", body))


def _label_matrix(clips: pd.DataFrame) -> np.ndarray:
    """(clips, 7) 0/1 int matrix in EMOTIONS order."""
    return clips[[f"label_{e}" for e in EMOTIONS]].fillna(0).to_numpy(dtype=np.int64)


def _section_agreement(src: Source, page: Page, clips: pd.DataFrame, corpora: list[str]) -> None:
    n_labels = clips["n_labels"].astype(int)
    top = max(int(n_labels.max()) if len(clips) else 1, int(src.manifest.meta.get("policy", {}).get("max_labels", 1)))
    columns = list(range(1, top + 1))
    rows = []
    for c in corpora:
        mine = n_labels[clips["corpus"] == c]
        rows.append([_corpus_cell(c), *[_count_share(int((mine == k).sum()), len(mine)) for k in columns],
                     f"{mine.mean():.2f}" if len(mine) else "–"])
    rows.append(["all", *[_count_share(int((n_labels == k).sum()), len(n_labels)) for k in columns],
                 f"{n_labels.mean():.2f}" if len(n_labels) else "–"])
    body = [_p("Labels per clip. The acted corpora have one label per clip, the intended emotion; the voted "
               "corpora have every emotion that enough raters named (the label policy's min_votes), up to "
               "max_labels."),
            _table("t-nlabels", ["corpus", *[f"{k} label{'s' if k > 1 else ''}" for k in columns], "mean"],
                   rows, total=True)]

    voted = [c for c in corpora if c in VOTED or clips.loc[clips["corpus"] == c, "n_raters"].notna().any()]
    shares = {c: _agreement(clips[clips["corpus"] == c]) for c in voted}
    if voted:
        rows = []
        for c in voted:
            a = shares[c]
            raters = clips.loc[clips["corpus"] == c, "n_raters"].dropna().astype(float)
            rows.append([_corpus_cell(c), len(a), f"{raters.median():g}" if len(raters) else "–",
                         f"{a.mean():.2f}" if len(a) else "–", _pct(int((a >= 1 - 1e-9).sum()), len(a)),
                         _pct(int((a <= 0.5 + 1e-9).sum()), len(a))])
        body += [_p("Agreement of the voted corpora: the share of a clip's raters who named its top emotion, "
                    "max(votes) / n_raters. 1 means every rater named the same emotion."),
                 _table("t-agreement", ["corpus", "rated clips", "median raters", "mean agreement",
                                        "full agreement", "agreement ≤ 0.5"], rows),
                 _figure(page, "agreement.png", _plot_agreement(shares, voted),
                         "Share of raters on the top emotion, per clip, per voted corpus.")]
    else:
        body.append(_p("No voted corpus (IEMOCAP, CREMA-D) in this manifest: its labels are the acted "
                       "emotions, one per clip, so there is no rater agreement to show."))
    page.sections.append(_section("agreement", "Labels per clip and rater agreement", body))


def _agreement(part: pd.DataFrame) -> np.ndarray:
    votes = part[[f"votes_{e}" for e in EMOTIONS]].astype("Float64").fillna(0).to_numpy(dtype=float)
    raters = part["n_raters"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(raters) & (raters > 0)
    return votes[ok].max(axis=1) / raters[ok] if ok.any() else np.zeros(0)


def _section_durations(src: Source, page: Page, clips: pd.DataFrame, corpora: list[str]) -> None:
    crop = src.crop_s
    rows = []
    d_all = clips["duration"].astype(float)
    for c in [*corpora, None]:
        d = d_all if c is None else d_all[clips["corpus"] == c]
        rows.append([_corpus_cell(c) if c else "all", len(d),
                     *(_fmt_s(f(d)) if len(d) else "–" for f in (np.min, np.median, np.max)),
                     f"{d.sum() / 3600:.2f}",
                     _count_share(int((d > crop).sum()), len(d)), _count_share(int((d < crop).sum()), len(d))])
    body = [_p(f"Clip durations. The features take {crop:g} s of every clip: longer clips are cropped "
               f"(their end is lost), shorter ones zero-padded on the right (the red line)."),
            _table("t-durations", ["corpus", "clips", "shortest", "median", "longest", "hours",
                                   f"cropped (> {crop:g} s)", f"padded (< {crop:g} s)"], rows, total=True),
            _figure(page, "durations.png", _plot_durations(clips, corpora, crop),
                    f"Duration histograms per corpus (same bins and axis for all); red: the {crop:g} s crop.")]
    page.sections.append(_section("durations", "Durations", body))


def _section_splits(page: Page, clips: pd.DataFrame, corpora: list[str]) -> None:
    split = clips["split"].astype("string") if "split" in clips else pd.Series(pd.NA, index=clips.index, dtype="string")
    frame = pd.DataFrame({"corpus": clips["corpus"].astype(str), "speaker": clips["speaker"].astype(str),
                          "gender": clips["gender"].astype("string").fillna("unknown").astype(str),
                          "split": split.fillna("none").astype(str)})
    names = [s for s in SPLIT_NAMES] + sorted(set(frame["split"]) - set(SPLIT_NAMES) - {"none"})
    if (frame["split"] == "none").any():
        names.append("none")
    if not len(frame):
        page.sections.append(_section("splits", "Splits", [_p("This manifest has no clips to split.", "warn")]))
        return
    if (frame["split"] == "none").all():
        page.sections.append(_section("splits", "Splits", [_p("This manifest has no split column values: "
                                                              "it was written before splits existed.", "warn")]))
        return
    rows = []
    for c in [*corpora, None]:
        part = frame if c is None else frame[frame["corpus"] == c]
        cells = []
        for s in names:
            mine = part[part["split"] == s]
            cells.append(f"{_n(len(mine))} ({_pct(len(mine), len(part))}) / {mine['speaker'].nunique()}")
        rows.append([_corpus_cell(c) if c else "all", *cells])
    per_speaker = frame[frame["split"] != "none"].groupby("speaker")["split"].nunique()
    leaking = sorted(per_speaker[per_speaker > 1].index)
    if leaking:
        shown = ", ".join(leaking[:10]) + (f" and {len(leaking) - 10} more" if len(leaking) > 10 else "")
        check = _p(f"Warning: {len(leaking)} speaker(s) are in more than one split ({shown}): their voices are "
                   "trained on and evaluated, so the scores overstate how well a model generalises to new "
                   "speakers.", "warn")
    else:
        check = _p(f"Checked: no speaker is in two splits (each of the {frame['speaker'].nunique()} speakers is "
                   "in exactly one).", "ok")
    strategy = "the split recorded in the manifest's split column (config in the header)"
    body = [_p(f"Clips and speakers per split: {strategy}. Imbalance between corpora or genders across "
               "splits shows here. A corpus with too few speakers to hold any out goes wholly to train."),
            check,
            _table("t-splits", ["corpus", *[f"{s}: clips (share) / speakers" for s in names]], rows, total=True),
            _figure(page, "splits.png", _plot_splits(frame, corpora, names),
                    "Left: clips per split, stacked by corpus. Right: speakers per split by gender.")]
    if (frame["split"] == "none").any():
        body.insert(1, _p(f"{int((frame['split'] == 'none').sum())} clips have no split.", "warn"))
    page.sections.append(_section("splits", "Splits", body))


def _section_examples(src: Source, page: Page, clips: pd.DataFrame) -> None:
    chosen = _choose_examples(src, clips)
    from .shards import ShardsFolder

    folder = ShardsFolder.open(src.shards, check=False)  # checked when the source was loaded
    arrays = folder.features_of([sample_id for picks in chosen.values() for sample_id in picks])
    info = clips.set_index("sample_id")[["corpus", "labels"]].astype(str)
    failed = len(src.index.get("failed") or [])
    text = (f"Log-mel spectrograms as stored in the shards ({len(src.index.get('samples', {}))} clips in "
            f"{len(src.index.get('shards', []))} shard files{f', {failed} failed to render' if failed else ''}): "
            f"{EXAMPLES_PER_EMOTION} clips per emotion, single-label clips where there are any, from "
            "different corpora where possible. Mel bands from low (bottom) to high, frames left to right, "
            "values in [-1, 1].")
    listed = "; ".join(f"{e}: " + (", ".join(f"{i} ({_name(info.at[i, 'corpus'])})" for i in ids) or "none")
                       for e, ids in chosen.items())
    body = [_p(text), _figure(page, "examples.png", _plot_examples(chosen, arrays, info),
                              "Example spectrograms, one row per emotion; each title gives the sample id, "
                              f"the corpus and the clip's labels. {listed}.")]
    page.sections.append(_section("examples", "Example spectrograms", body))


def _choose_examples(src: Source, clips: pd.DataFrame) -> dict[str, list[str]]:
    """Per emotion, up to EXAMPLES_PER_EMOTION rendered clips: single-label first, corpora in turn."""
    rendered = clips[clips["sample_id"].isin(set(src.index.get("samples", {})))].sort_values("sample_id")
    chosen = {}
    names = [*CORPORA, *sorted(set(rendered["corpus"].astype(str)) - set(CORPORA))]
    for i, e in enumerate(EMOTIONS):
        has = rendered[rendered[f"label_{e}"].astype(int) == 1]
        order = names[i % len(names):] + names[:i % len(names)]  # each emotion starts at another corpus
        picks: list[str] = []
        for pool in (has[has["n_labels"].astype(int) == 1], has[has["n_labels"].astype(int) > 1]):
            queues = [list(pool.loc[pool["corpus"] == c, "sample_id"].astype(str)) for c in order]
            while len(picks) < EXAMPLES_PER_EMOTION and any(queues):
                for q in queues:
                    if q and len(picks) < EXAMPLES_PER_EMOTION:
                        picks.append(q.pop(0))
        chosen[e] = picks
    return chosen


# ---------------------------------------------------------------- figures


_STYLE = {
    "font.size": 10, "axes.titlesize": 10.5, "axes.labelsize": 10, "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5, "legend.fontsize": 9, "axes.spines.top": False, "axes.spines.right": False,
    "figure.dpi": DPI, "savefig.dpi": DPI, "svg.hashsalt": "aggregate",
}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server or in CI
    import matplotlib.pyplot as plt

    return plt


def matplotlib_ticker():
    import matplotlib.ticker

    return matplotlib.ticker


def _color(corpus: str) -> str:
    return CORPUS_COLORS.get(corpus, OTHER_CORPUS_COLOR)


def _name(corpus: str) -> str:
    return corpus.upper()


def _plot_rejects(matrix: pd.DataFrame, corpora: list[str]):
    plt = _pyplot()
    height = 1.2 + 0.42 * len(corpora) + 0.24 * ((len(matrix.index) + 2) // 3)
    fig, ax = plt.subplots(figsize=(9, height), layout="constrained")
    y = np.arange(len(corpora))[::-1]
    left = np.zeros(len(corpora))
    for reason in matrix.index:
        values = matrix.loc[reason, corpora].to_numpy(dtype=float)
        ax.barh(y, values, left=left, color=REASON_COLORS.get(reason, "#CCCCCC"), edgecolor="#555555",
                linewidth=0.5, label=reason, height=0.62)
        left += values
    top = max(left.max(), 1)
    start = np.zeros(len(corpora))
    for reason in matrix.index:  # the count inside each segment wide enough to hold it
        values = matrix.loc[reason, corpora].to_numpy(dtype=float)
        for yi, x0, v in zip(y, start, values):
            if v and v >= top * 0.035 * len(str(int(v))):
                ax.text(x0 + v / 2, yi, f"{int(v):,}", ha="center", va="center", fontsize=8, color="#222222")
        start += values
    for yi, total in zip(y, left):
        ax.text(total + top * 0.01, yi, f"{int(total):,}", va="center", fontsize=9.5, fontweight="bold")
    ax.set_yticks(y, [_name(c) for c in corpora])
    ax.set_xlim(0, top * 1.08)
    ax.set_xlabel("rejected files")
    ax.xaxis.get_major_locator().set_params(integer=True)
    fig.legend(loc="outside lower center", ncol=min(len(matrix.index), 4), frameon=False, title="reason")
    return fig


def _plot_labels(counts: pd.DataFrame, corpora: list[str]):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.6), layout="constrained")
    n = len(corpora)
    width = 0.8 / max(n, 1)
    x = np.arange(len(EMOTIONS))
    top = max(int(counts.values.max()) if counts.size else 0, 1)
    for i, c in enumerate(corpora):
        values = counts[c].to_numpy()
        pos = x - 0.4 + width * (i + 0.5)
        ax.bar(pos, values, width=width * 0.92, color=_color(c), label=_name(c))
        for p, v in zip(pos, values):
            ax.text(p, v + top * 0.015, f"{int(v):,}", ha="center", va="bottom", fontsize=7.5,
                    rotation=90 if n > 2 else 0)
    ax.set_xticks(x, list(EMOTIONS))
    ax.set_ylabel("clips")
    ax.set_ylim(0, top * (1.22 if n > 2 else 1.12))
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.legend(loc="outside upper center", ncol=min(n, 4), frameon=False)
    return fig


def _plot_cooccurrence(co: np.ndarray):
    plt = _pyplot()
    k = len(EMOTIONS)
    off = co.astype(float).copy()
    np.fill_diagonal(off, np.nan)
    vmax = max(np.nanmax(off) if np.isfinite(off).any() else 0, 1)
    fig, ax = plt.subplots(figsize=(6.4, 5.4), layout="constrained")
    image = ax.imshow(np.ma.masked_invalid(off), cmap="Blues", vmin=0, vmax=vmax)
    ax.imshow(np.where(np.eye(k, dtype=bool), 1.0, np.nan), cmap="Greys", vmin=0, vmax=5)  # the diagonal: grey
    for i in range(k):
        for j in range(k):
            value = int(co[i, j])
            dark = i != j and value > vmax * 0.6
            ax.text(j, i, f"{value}", ha="center", va="center", fontsize=9,
                    color="white" if dark else "black", fontstyle="italic" if i == j else "normal")
    ax.set_xticks(range(k), list(EMOTIONS), rotation=35, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(k), list(EMOTIONS))
    ax.spines[:].set_visible(False)
    ax.set_xticks(np.arange(k + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(k + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    bar = fig.colorbar(image, ax=ax, shrink=0.8, label="clips with both emotions")
    bar.locator = matplotlib_ticker().MaxNLocator(integer=True)
    bar.update_ticks()
    return fig


def _plot_agreement(shares: dict[str, np.ndarray], voted: list[str]):
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(voted), figsize=(9 if len(voted) > 1 else 5.5, 2.9), squeeze=False,
                             layout="constrained")
    edges = np.linspace(0, 1, 11)
    for ax, c in zip(axes[0], voted):
        a = shares[c]
        counts, _ = np.histogram(a, bins=edges)
        ax.bar(edges[:-1], counts, width=0.1, align="edge", color=_color(c), edgecolor="white", linewidth=0.8)
        ax.set_title(f"{_name(c)}: {len(a):,} rated clips" + (f", mean {a.mean():.2f}" if len(a) else ""))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, max(counts.max() if counts.size else 0, 1) * 1.15)
        ax.set_xlabel("share of raters on the top emotion")
        ax.set_ylabel("clips")
        ax.yaxis.get_major_locator().set_params(integer=True)
        if len(a):
            ax.axvline(a.mean(), color="black", linestyle=":", linewidth=1.2, label="mean")
            ax.legend(loc="upper left", frameon=False)
        else:
            ax.text(0.5, 0.5, "no rated clips", transform=ax.transAxes, ha="center", va="center")
    return fig


def _plot_durations(clips: pd.DataFrame, corpora: list[str], crop: float):
    plt = _pyplot()
    d_all = clips["duration"].astype(float).to_numpy()
    hi = max(float(d_all.max()) if len(d_all) else crop, crop) * 1.03
    step = max(0.1, float(np.ceil(hi / 60 * 10) / 10))
    edges = np.arange(0, hi + step, step)
    fig, axes = plt.subplots(len(corpora), 1, figsize=(9, max(0.7 + 1.25 * len(corpora), 2.6)), sharex=True,
                             squeeze=False, layout="constrained")
    for ax, c in zip(axes[:, 0], corpora):
        d = d_all[(clips["corpus"] == c).to_numpy()]
        counts, _ = np.histogram(d, bins=edges)
        ax.bar(edges[:-1], counts, width=step, align="edge", color=_color(c), edgecolor="white", linewidth=0.4)
        line = ax.axvline(crop, color="#D00000", linestyle="--", linewidth=1.4, label=f"{crop:g} s crop")
        ax.set_ylim(0, max(counts.max() if counts.size else 0, 1) * 1.25)
        ax.yaxis.get_major_locator().set_params(integer=True, nbins=3)
        ax.set_ylabel("clips")
        summary = (f"{_name(c)}: {len(d):,} clips, {_pct(int((d > crop).sum()), len(d))} cropped, "
                   f"{_pct(int((d < crop).sum()), len(d))} padded") if len(d) else f"{_name(c)}: 0 clips"
        ax.set_title(summary, loc="left", fontsize=9.5, pad=3)
    fig.legend(handles=[line], loc="outside upper right", frameon=False)
    axes[-1, 0].set_xlim(0, edges[-1])
    axes[-1, 0].set_xlabel("duration (s)")
    return fig


def _plot_splits(frame: pd.DataFrame, corpora: list[str], names: list[str]):
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    for c in corpora:
        values = np.array([int(((frame["corpus"] == c) & (frame["split"] == s)).sum()) for s in names], float)
        left.bar(x, values, bottom=bottom, color=_color(c), label=_name(c), width=0.6)
        bottom += values
    top = max(bottom.max(), 1)
    for xi, total in zip(x, bottom):
        left.text(xi, total + top * 0.02, f"{int(total):,}", ha="center", va="bottom", fontsize=9)
    left.set_xticks(x, names)
    left.set_ylim(0, top * 1.15)
    left.set_ylabel("clips")
    left.set_title("clips per split")
    left.yaxis.get_major_locator().set_params(integer=True)
    left.legend(frameon=False, fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.1),
                ncol=min(len(corpora), 4))

    speakers = frame.drop_duplicates(["speaker", "split"])
    genders = [g for g in GENDER_COLORS if g != "unknown" or (speakers["gender"] == "unknown").any()]
    width = 0.8 / len(genders)
    top = 1
    for i, g in enumerate(genders):
        values = [int(((speakers["gender"] == g) & (speakers["split"] == s)).sum()) for s in names]
        pos = x - 0.4 + width * (i + 0.5)
        right.bar(pos, values, width=width * 0.92, color=GENDER_COLORS[g], edgecolor="#333333", linewidth=0.6,
                  label=g, hatch="//" if g == "unknown" else None)
        top = max(top, max(values))
        for p, v in zip(pos, values):
            right.text(p, v + 0.02 * top, f"{v:,}", ha="center", va="bottom", fontsize=9)
    right.set_xticks(x, names)
    right.set_ylim(0, top * 1.25)
    right.set_ylabel("speakers")
    right.set_title("speakers per split, by gender")
    right.yaxis.get_major_locator().set_params(integer=True)
    right.legend(frameon=False, fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=len(genders))
    return fig


def _plot_examples(chosen: dict[str, list[str]], arrays: dict[str, np.ndarray], info: pd.DataFrame):
    plt = _pyplot()
    cols = EXAMPLES_PER_EMOTION
    # A fixed grid, not constrained layout: laying out 14 axes by constraint costs seconds, this nothing.
    height = 0.75 + 1.6 * len(EMOTIONS)
    fig, axes = plt.subplots(len(EMOTIONS), cols, figsize=(9, height), squeeze=False, sharex=True, sharey=True,
                             gridspec_kw={"left": 0.1, "right": 0.86, "bottom": 0.55 / height,
                                          "top": 1 - 0.3 / height, "wspace": 0.06, "hspace": 0.42})
    image = None
    for r, e in enumerate(EMOTIONS):
        for k in range(cols):
            ax = axes[r, k]
            ids = chosen.get(e, [])
            if k < len(ids):
                sample_id = ids[k]
                image = ax.imshow(arrays[sample_id], origin="lower", aspect="auto", cmap="magma",
                                  vmin=-1, vmax=1, interpolation="nearest")
                corpus, labels = info.at[sample_id, "corpus"], info.at[sample_id, "labels"].replace("|", "+")
                ax.set_title(f"{sample_id}  ({_name(corpus)}; {labels})", fontsize=9)
            else:
                ax.set_facecolor("#F2F2F2")
                ax.text(0.5, 0.5, f"no {'other ' if k else ''}clip labelled {e}", transform=ax.transAxes,
                        ha="center", va="center", fontsize=9, color="#444444")
                ax.set_title(e, fontsize=9)
            if k == 0:
                ax.set_ylabel(f"{e}\nmel band", fontsize=9.5)
            if r == len(EMOTIONS) - 1:
                ax.set_xlabel("frame")
    if image is not None:
        bar = fig.add_axes((0.885, 0.3, 0.018, 0.4))
        fig.colorbar(image, cax=bar, label="scaled log-mel")
    return fig


# ---------------------------------------------------------------- HTML


def _figure(page: Page, name: str, fig, caption: str) -> str:
    plt = _pyplot()
    path = page.folder / name
    # Constrained layout keeps labels and legends (figure legends placed "outside ...") inside the figure;
    # bbox_inches="tight" would too, at the cost of drawing every figure twice.
    fig.savefig(path, dpi=DPI, facecolor="white", metadata={"Software": None})
    plt.close(fig)
    page.figures.append(name)
    width, height = _png_size(path)
    return (f'<figure><img src="{html.escape(name)}" width="{round(width * SHOW_SCALE)}" '
            f'height="{round(height * SHOW_SCALE)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _png_size(path: Path) -> tuple[int, int]:
    with open(path, "rb") as handle:
        head = handle.read(24)
    return struct.unpack(">II", head[16:24])


def _section(anchor: str, title: str, body: list[str]) -> str:
    return f'<section id="{anchor}">\n<h2>{html.escape(title)}</h2>\n' + "\n".join(body) + "\n</section>"


def _p(text: str, cls: str | None = None) -> str:
    return f'<p class="{cls}">{html.escape(text)}</p>' if cls else f"<p>{html.escape(text)}</p>"


class _Raw(str):
    """HTML that is already escaped (a table cell with a color swatch)."""


def _corpus_cell(corpus: str) -> _Raw:
    return _Raw(f'<span class="swatch" style="background:{_color(corpus)}"></span>{html.escape(_name(corpus))}')


def _cell(value) -> str:
    if isinstance(value, _Raw):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return _n(int(value))
    return html.escape(str(value))


def _table(table_id: str, header: list, rows: list[list], total: bool = False, raw_header: bool = False,
           left_last: bool = False) -> str:
    left = ' class="l"'
    head = "".join(f"<th{left if left_last and j == len(header) - 1 else ''}>"
                   f"{h if isinstance(h, _Raw) or raw_header else html.escape(str(h))}</th>"
                   for j, h in enumerate(header))
    lines = []
    for i, row in enumerate(rows):
        cls = ' class="total"' if total and i == len(rows) - 1 else ""
        cells = []
        for j, value in enumerate(row):
            attr = ' class="l"' if left_last and j == len(row) - 1 else ""
            cells.append(f"<td{attr}>{_cell(value)}</td>")
        lines.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return (f'<div class="scroll"><table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>\n'
            + "\n".join(lines) + "\n</tbody></table></div>")


def _n(value: int) -> str:
    return f"{int(value):,}"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "–"


def _count_share(part: int, whole: int) -> str:
    return f"{_n(part)} ({_pct(part, whole)})"


def _fmt_s(value) -> str:
    return f"{value:.2f} s" if np.isfinite(value) else "–"


def _config(data: dict) -> str:
    if not data:
        return "<em>not recorded</em>"
    return " · ".join(f"<code>{html.escape(str(k))}={html.escape(_value(v))}</code>" for k, v in data.items())


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, list):
        return ",".join(_value(x) for x in v)
    return f"{v:g}" if isinstance(v, float) else str(v)


def _html(src: Source, page: Page) -> str:
    meta, clips = src.manifest.meta, src.manifest.clips
    name = src.manifest_file.name
    title = f"Data card: {src.shards.name if src.shards else name}"
    facts = [("manifest", f"<code>{html.escape(name)}</code>"
              + (f" (the copy in the shards folder <code>{html.escape(src.shards.name)}</code>)" if src.shards else "")),
             ("clips", f"{_n(len(clips))} from {_n(clips['speaker'].nunique())} speakers in "
                       f"{len(_corpora(src))} corp{'us' if len(_corpora(src)) == 1 else 'ora'} "
                       f"({', '.join(_name(c) for c in _corpora(src))})"),
             ("label policy", _config(meta.get("policy") or {})),
             ("split", _config(meta.get("split") or {})),
             ("emotions", html.escape(", ".join(meta.get("emotions") or EMOTIONS)))]
    if src.index is not None:
        config = src.index.get("feature_config") or {}
        shape = "x".join(str(s) for s in src.index.get("shape", []))
        facts.append(("features", f"{html.escape(shape)} log-mel ({html.escape(str(config.get('dtype', '')))}), "
                                  f"{_value(config.get('duration_s', src.crop_s))} s at "
                                  f"{_value(config.get('sample_rate', ''))} Hz; config "
                                  f"<code>{html.escape(str(src.index.get('feature_config_hash', ''))[:12])}</code>"))
    facts.append(("tool version", f"manifest written by aggregate {html.escape(str(meta.get('version', '?')))}; "
                                  f"page by aggregate {html.escape(__version__)}"))
    fact_rows = "\n".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
    toc = " · ".join(f'<a href="#{a}">{t}</a>' for a, t in [
        ("corpora", "corpora"), ("labels", "labels"), ("cooccurrence", "co-occurrence"),
        ("agreement", "agreement"), ("durations", "durations"), ("splits", "splits")]
        + ([("examples", "spectrograms")] if src.shards else []))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<header>
<h1>{html.escape(title)}</h1>
<p class="lead">A speech-emotion training set aggregated from acted and rated corpora with seven multi-hot
emotion labels. Every number and figure below is computed from the manifest's rows.</p>
<table class="facts">
{fact_rows}
</table>
<p class="toc">{toc}</p>
</header>
{chr(10).join(page.sections)}
<footer>Written by <code>python -m aggregate report</code> (aggregate {html.escape(__version__)}).</footer>
</main>
</body>
</html>
"""


_CSS = """
html{background:#fff}
body{margin:0;color:#1f1f1f;background:#fff;font:15px/1.5 "DejaVu Sans",Helvetica,Arial,sans-serif}
main{max-width:940px;margin:0 auto;padding:22px 24px 40px}
h1{font-size:25px;margin:0 0 6px}
h2{font-size:19px;margin:30px 0 6px;padding-bottom:3px;border-bottom:1px solid #d0d0d0}
p{margin:6px 0 8px}
.lead{color:#444}
.toc{font-size:14px}
a{color:#0b5cad}
table{border-collapse:collapse;margin:8px 0 12px;font-size:13.5px}
th,td{padding:3px 10px;border-bottom:1px solid #e3e3e3;text-align:right;vertical-align:top}
th:first-child,td:first-child,td.l,th.l{text-align:left}
th{white-space:nowrap}
thead th{border-bottom:2px solid #888;font-weight:600}
tr.total td{font-weight:600;border-top:2px solid #888}
table.facts th{text-align:left;white-space:nowrap;font-weight:600;color:#444}
table.facts td{text-align:left}
code{font-size:12.5px;background:#f3f3f3;padding:0 3px;border-radius:2px}
figure{margin:10px 0 16px}
.scroll{overflow-x:auto}
img{display:block;max-width:100%;height:auto}
figcaption{font-size:13px;color:#555;margin-top:3px}
.swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}
.warn{color:#b00020;font-weight:600}
.ok{color:#1b5e20}
footer{margin-top:32px;font-size:13px;color:#666}
"""
