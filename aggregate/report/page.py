"""The card's HTML page (HTML only): it prints the ``Card``'s numbers and places the figures.

The page has no JavaScript, no network access, no date and no absolute path: the same input
gives the same bytes, and the folder can be moved, zipped and read offline anywhere.
"""
from __future__ import annotations

import html
import re

import numpy as np

from .. import __version__
from ..corpora import CORPORA
from ..corpora.base import REASONS
from ..manifest.format import rejects_path
from ..vocabulary import EMOTIONS
from .figures import file_name
from .statistics import EXAMPLES_PER_EMOTION, FEW_SPEAKERS, Card
from .style import color, percent, title

SHOW_SCALE = 100 / 150  # figures are drawn at 150 dpi and shown at 100 px per inch


def default_title(card: Card) -> str:
    """What the data is, not what its folder is called: its corpora and size (``--title`` replaces it)."""
    names = [title(c) for c in card.corpora]
    corpora = " and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1]
    clips, speakers = len(card.clips), card.clips["speaker"].nunique()
    synthetic = " (synthetic demo data)" if card.source.manifest.meta.get("synthetic") else ""
    return (f"Data card: {corpora or 'no corpus'}, {_n(clips)} clip{'s' if clips != 1 else ''} from "
            f"{_n(speakers)} speaker{'s' if speakers != 1 else ''}{synthetic}")


def render_page(card: Card, figures: dict[str, tuple[int, int]], page_title: str, synthetic: bool) -> str:
    """The page of ``card``; ``figures``: the figures written beside it (name -> PNG size)."""
    sections = [
        ("sources", "sources", "Corpora, citations and licences", _sources(card)),
        ("corpora", "corpora", "Corpora, speakers and rejected files", _corpora(card, figures)),
        ("policy", "label policy", "Label policy", _policy(card)),
        ("labels", "labels", "Emotion labels", _labels(card, figures)),
        ("cooccurrence", "co-occurrence", "Label co-occurrence", _cooccurrence(card, figures)),
        ("agreement", "agreement", "Labels per clip and rater agreement", _agreement(card, figures)),
        ("durations", "durations", "Durations", _durations(card, figures)),
        ("splits", "splits", "Splits", _splits(card, figures)),
    ]
    if card.examples:
        sections.append(("examples", "spectrograms", "Example spectrograms", _examples(card, figures)))
    sections.append(("limitations", "limitations", "Limitations", _limitations(card, synthetic)))
    toc = " · ".join(f'<a href="#{anchor}">{html.escape(short)}</a>' for anchor, short, _, _ in sections)
    body = "\n".join(_section(anchor, heading, parts) for anchor, _, heading, parts in sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(page_title)}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<header>
<h1>{html.escape(page_title)}</h1>
<p class="lead">A speech-emotion training set aggregated from acted and rated corpora with seven multi-hot
emotion labels. Every number and figure below is computed from the manifest's rows.</p>
{_p("These clips are synthetic demo data, not recordings of people: see the limitations.", "warn") if synthetic else ""}
<table class="facts">
{_facts(card)}
</table>
<p class="toc">{toc}</p>
</header>
{body}
<footer>Written by <code>python -m aggregate report</code> (aggregate {html.escape(__version__)}).</footer>
</main>
</body>
</html>
"""


# ---------------------------------------------------------------- sections


def _facts(card: Card) -> str:
    src, clips = card.source, card.clips
    meta = src.manifest.meta
    name = src.manifest_file.name
    n = len(card.corpora)
    facts = [("manifest", f"<code>{html.escape(name)}</code>"
              + (f" (the copy in the shards folder <code>{html.escape(src.shards.path.name)}</code>)" if src.shards else "")),
             ("clips", f"{_n(len(clips))} from {_n(clips['speaker'].nunique())} speakers in "
                       f"{n} corp{'us' if n == 1 else 'ora'} ({html.escape(', '.join(map(title, card.corpora)))})"),
             ("split", _config(meta.get("split") or {})),
             ("emotions", html.escape(", ".join(meta.get("emotions") or EMOTIONS)))]
    if src.index is not None:
        config = src.index.get("feature_config") or {}
        shape = "x".join(str(s) for s in src.index.get("shape", []))
        dtype = (src.index.get("storage") or {}).get("dtype", "")  # how they are stored, not part of the recipe
        facts.append(("features", f"{html.escape(shape)} log-mel ({html.escape(str(dtype))}), "
                                  f"{_value(config.get('duration_s', src.crop_s))} s at "
                                  f"{_value(config.get('sample_rate', ''))} Hz; config "
                                  f"<code>{html.escape(str(src.index.get('feature_config_hash', ''))[:12])}</code>"))
        facts.append(("views", _views(src.shards.views)))
    facts.append(("tool version", f"manifest written by aggregate {html.escape(str(meta.get('version', '?')))}; "
                                  f"page by aggregate {html.escape(__version__)}"))
    return "\n".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)


def _views(views: dict) -> str:
    """Each view of the shards: what it stores per clip, its config's hash, the clips it lacks."""
    parts = []
    for name, entry in views.items():
        stored = entry.get("stored") or {}
        shape = "x".join("n" if n is None else str(n) for n in stored.get("shape", [])) or "?"
        lacking = len(entry.get("failed") or [])
        parts.append(f"<code>{html.escape(name)}</code> ({html.escape(shape)} {html.escape(str(stored.get('dtype', '')))}, "
                     f"config <code>{html.escape(str(entry.get('config_hash', ''))[:12])}</code>"
                     + (f", {lacking} clips without it" if lacking else "") + ")")
    return "; ".join(parts)


def _sources(card: Card) -> list[str]:
    rows = []
    for c in card.corpora:
        if c in CORPORA:
            rows.append([_corpus_cell(c), CORPORA[c].LICENSE, CORPORA[c].CITATION])
        else:
            rows.append([_corpus_cell(c), "not known to this tool: see where the corpus came from",
                         "not known to this tool"])
    return [_p("Cite every corpus below when you use this data, and keep to each corpus's licence: it "
               "travels with the clips and with everything computed from them (the manifest, the shards, "
               "trained models)."),
            _table("t-sources", ["corpus", "licence", "citation"], rows,
                   left_cols=3),
            _p(_sharing(card))]


def _sharing(card: Card) -> str:
    """What the licences present mean for sharing, said here: the card travels without this tool's docs."""
    licences = " ".join(CORPORA[c].LICENSE for c in card.corpora if c in CORPORA)
    terms = set(re.split(r"[^A-Za-z]+", licences))
    text = ("What may be shared: log-mel spectrograms are an adaptation of the recordings, and a manifest's rows "
            "are taken from the corpus, so both carry its licence; a folder that mixes corpora carries the "
            "strictest terms among them, so share one folder per corpus, or per group of corpora with "
            "compatible terms.")
    if "NC" in terms:
        text += " NC (NonCommercial): no commercial use, models trained on the data included."
    if "SA" in terms:
        text += " SA (ShareAlike): what is shared goes out under the same licence, crediting the corpus."
    if "ND" in terms:
        text += (" ND (NoDerivatives): nothing computed from that corpus's audio (shards, manifests of it, the "
                 "example spectrograms of its clips) may be shared; share the command that builds it instead.")
    if "ODbL" in terms:
        text += " ODbL: a derivative database shared publicly stays under the ODbL, open, with its notices."
    if "redistribution" in terms:
        text += (" No redistribution: neither the audio nor anything computed from it may leave the licensee; "
                 "each collaborator obtains the corpus and builds its part with the same command.")
    if any(c not in CORPORA for c in card.corpora):
        text += f" For {_titles([c for c in card.corpora if c not in CORPORA])}, see where it came from."
    return (text + " The commands and configs can always be shared: the same tool version and feature config "
                   "give the same manifest and shards. The counts and figures of this card hold no audio; its "
                   "example spectrograms, if any, are pictures of single clips. This is a reading of the "
                   "licences, not legal advice.")


def _corpora(card: Card, figures: dict) -> list[str]:
    src, table = card.source, card.corpus_rows
    rows = [[_corpus_cell(c) if c != "all" else "all", r["kept"], r["speakers"], r["female"], r["male"],
             r["rejected"], percent(r["rejected"], r["kept"] + r["rejected"])] for c, r in table.iterrows()]
    total = table.loc["all"]
    text = (f"Every audio file found under the corpus folders is either kept as a clip or rejected with one "
            f"reason (the first that applies). {_n(total['kept'])} clips of {_n(total['speakers'])} "
            f"speakers are kept; {_n(total['rejected'])} files are rejected.")
    if total["unknown"]:
        text += f" {total['unknown']} speaker(s) have no recorded gender."
    if not src.rejects_known:
        text += (f" The rejects table {rejects_path(src.manifest_file).name} is not beside the manifest: "
                 "the reject counts are the ones recorded in its metadata.")
    body = [_p(text), _table("t-corpora", ["corpus", "kept clips", "speakers", "female speakers",
                                           "male speakers", "rejected files", "rejected share"], rows, total=True)]
    if card.count_mismatches:
        body.append(_p("The manifest's metadata counts differ from its rows (was the file filtered or edited?): "
                       + "; ".join(card.count_mismatches) + ". This page shows the rows.", "warn"))
    if not len(card.reasons):
        return body + [_p("No file was rejected.", "ok")]
    matrix = card.reasons
    reason_rows = [[r, *[int(matrix.at[r, c]) for c in card.corpora], int(matrix.loc[r].sum()), REASONS.get(r, "")]
                   for r in matrix.index]
    reason_rows.append(["all", *[int(matrix[c].sum()) for c in card.corpora], int(matrix.values.sum()), ""])
    return body + [
        _p("Rejected files by reason (the last column says what each reason means):"),
        _table("t-rejects", ["reason", *[_corpus_cell(c) for c in card.corpora], "all", "meaning"], reason_rows,
               total=True, left_last=True),
        _figure(figures, "rejects", "Rejected files per corpus, stacked by reason; the number at the end of each "
                                    "bar is the corpus' total.")]


def _policy(card: Card) -> list[str]:
    policy = card.source.manifest.meta.get("policy") or {}
    body = [_p("The choices that decided which clips are kept and with which labels, as recorded in the "
               "manifest's metadata (the options of python -m aggregate manifest)."), _p_raw(_config(policy))]
    if {"min_votes", "max_labels", "max_duration"} <= set(policy):
        text = f"A file longer than {_value(policy['max_duration'])} s is rejected."
        if card.voted:
            text += (f" A rated clip carries every emotion that at least {policy['min_votes']} of its raters named; "
                     f"one with more than {policy['max_labels']} labels is rejected as ambiguous.")
        if card.acted:
            text += " An acted clip carries the one emotion it was recorded to portray."
        body.append(_p(text))
    return body


def _labels(card: Card, figures: dict) -> list[str]:
    counts, clips = card.label_counts, card.clips
    rows = [[e, *[int(counts.at[e, c]) for c in card.corpora], int(counts.loc[e].sum()),
             percent(int(counts.loc[e].sum()), len(clips))] for e in EMOTIONS]
    rows.append(["clips", *[int(card.corpus_rows.at[c, "kept"]) for c in card.corpora], len(clips), ""])
    return [_p("How many clips carry each emotion. A clip of a rated corpus can carry several emotions, so a "
               "corpus' label counts can add up to more than its clips. The share is of all clips."),
            _table("t-labels", ["emotion", *[_corpus_cell(c) for c in card.corpora], "all", "share of clips"],
                   rows, total=True),
            _figure(figures, "labels", "Clips per emotion, one bar per corpus.")]


def _cooccurrence(card: Card, figures: dict) -> list[str]:
    multi, clips = card.multi_label, card.clips
    if not multi:  # a heatmap of zeros says nothing a sentence cannot
        return [_p(f"Every clip has a single label ({_n(len(clips))} clips), so no two emotions are present in "
                   "the same clip: there is no co-occurrence to show.")]
    top = card.top_pair
    text = ("How often two emotions are present in the same clip: the point of multi-label data. "
            f"{_n(multi)} clips ({percent(multi, len(clips))}) have more than one label")
    text += (f"; the most frequent pair is {top[1]} + {top[2]} ({_n(top[0])} clips)." if top[0] else
             ", so there is no pair to show: every off-diagonal cell is 0.")
    return [_p(text + " The diagonal (grey) is the number of clips with that emotion."),
            _figure(figures, "cooccurrence",
                    "Label co-occurrence over all corpora: clips with both the row's and the column's emotion.")]


def _agreement(card: Card, figures: dict) -> list[str]:
    table = card.labels_per_clip
    columns = [k for k in table.columns if k != "mean"]
    rows = [[_corpus_cell(c) if c != "all" else "all",
             *[_count_share(int(r[k]), int(r[columns].sum())) for k in columns], _fixed(r["mean"])]
            for c, r in table.iterrows()]
    body = [_p("Labels per clip. The acted corpora have one label per clip, the intended emotion; the rated "
               "corpora have every emotion that enough raters named (the label policy's min_votes), up to "
               "max_labels."),
            _table("t-nlabels", ["corpus", *[f"{k} label{'s' if k > 1 else ''}" for k in columns], "mean"],
                   rows, total=True)]
    if not card.voted:
        return body + [_p("No voted corpus in this manifest (no clip has raters' votes): its labels are the "
                          "acted emotions, one per clip, so there is no rater agreement to show.")]
    rows = [[_corpus_cell(c), int(r["rated"]), _value(r["median_raters"]) if np.isfinite(r["median_raters"])
             else "–", _fixed(r["mean"]), percent(int(r["full"]), int(r["rated"])),
             percent(int(r["half_or_less"]), int(r["rated"]))] for c, r in card.agreement_rows.iterrows()]
    return body + [
        _p("Agreement of the rated corpora: the share of a clip's raters who named its top emotion, "
           "max(votes) / n_raters. 1 means every rater named the same emotion."),
        _table("t-agreement", ["corpus", "rated clips", "median raters", "mean agreement", "full agreement",
                               "agreement ≤ 0.5"], rows),
        _figure(figures, "agreement", "Share of raters on the top emotion, per clip, per rated corpus.")]


def _durations(card: Card, figures: dict) -> list[str]:
    crop = card.source.crop_s
    rows = [[_corpus_cell(c) if c != "all" else "all", int(r["clips"]),
             *(_seconds(r[k]) for k in ("shortest", "median", "longest")), f"{r['hours']:.2f}",
             _count_share(int(r["cropped"]), int(r["clips"])), _count_share(int(r["padded"]), int(r["clips"]))]
            for c, r in card.duration_rows.iterrows()]
    return [_p(f"Clip durations. The features take {crop:g} s of every clip: longer clips are cropped "
               f"(their end is lost), shorter ones zero-padded on the right (the red line)."),
            _table("t-durations", ["corpus", "clips", "shortest", "median", "longest", "hours",
                                   f"cropped (> {crop:g} s)", f"padded (< {crop:g} s)"], rows, total=True),
            _figure(figures, "durations",
                    f"Duration histograms per corpus (same bins and axis for all); red: the {crop:g} s crop.")]


def _splits(card: Card, figures: dict) -> list[str]:
    summary = card.splits
    if not len(card.clips):
        return [_p("This manifest has no clips to split.", "warn")]
    if summary is None:
        return [_p("This manifest has no split column values: it was written before splits existed.", "warn")]
    totals = summary.clips.sum(axis=1)
    rows = [[_corpus_cell(c) if c != "all" else "all",
             *[f"{_n(summary.clips.at[c, s])} ({percent(summary.clips.at[c, s], totals[c])}) / "
               f"{summary.speakers.at[c, s]}" for s in summary.names]] for c in summary.clips.index]
    if len(card.leaking):
        names = list(card.leaking.index)
        shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        check = _p(f"Warning: {len(names)} speaker(s) are in more than one split ({shown}): their voices are "
                   "trained on and evaluated, so the scores overstate how well a model generalises to new "
                   "speakers.", "warn")
    else:
        check = _p(f"Checked: no speaker is in two splits (each of the {card.clips['speaker'].nunique()} speakers "
                   "is in exactly one).", "ok")
    body = [_p("Clips and speakers per split: the split recorded in the manifest's split column (config in the "
               "header). Imbalance between corpora or genders across splits shows here. A corpus with too few "
               "speakers to hold any out goes wholly to train."), check]
    if "none" in summary.names:
        body.append(_p(f"{summary.clips.at['all', 'none']} clips have no split.", "warn"))
    return body + [
        _table("t-splits", ["corpus", *[f"{s}: clips (share) / speakers" for s in summary.names]], rows, total=True),
        _figure(figures, "splits", "Left: clips per split, stacked by corpus. Right: speakers per split by gender.")]


def _examples(card: Card, figures: dict) -> list[str]:
    index = card.source.index
    info = card.clips.set_index("sample_id")["corpus"].astype(str)
    failed = len(index.get("failed") or [])
    text = (f"Log-mel spectrograms as stored in the shards ({len(index.get('samples', {}))} clips in "
            f"{len(index.get('shards', []))} shard files{f', {failed} failed to render' if failed else ''}): "
            f"{EXAMPLES_PER_EMOTION} clips per emotion, single-label clips where there are any, from "
            "different corpora where possible. Mel bands from low (bottom) to high, frames left to right, "
            "values in [-1, 1].")
    listed = "; ".join(f"{e}: " + (", ".join(f"{i} ({title(info.at[i])})" for i in ids) or "none")
                       for e, ids in card.examples.items())
    return [_p(text), _figure(figures, "examples", "Example spectrograms, one row per emotion; each title gives "
                              f"the sample id, the corpus and the clip's labels. {listed}.")]


def _limitations(card: Card, synthetic: bool) -> list[str]:
    """What the data cannot tell, in the numbers of this manifest: (lead, text) items."""
    items = []
    if synthetic:
        items.append(("Synthetic data.", "These clips are not recordings of people: the demo (python -m aggregate "
                      "demo) wrote them as look-alikes of each corpus's layout, with tones shaped by the emotion. "
                      "The numbers describe the demo only; the citations and licences above are those of the "
                      "corpora it imitates."))
    items += _label_limits(card)
    items.append(("Few speakers.", _speaker_limit(card)))
    unknown = [c for c in card.corpora if c not in CORPORA]
    items.append(("Language and accent.", "The corpora this tool knows hold English speech by North American "
                  "actors, read, scripted or improvised in a studio"
                  + (f" ({_titles(unknown)} came from a table: its language is not known here)" if unknown else "")
                  + ". A model trained on them says little about other languages, accents, ages, spontaneous "
                    "speech or noisy channels."))
    crop, d = card.source.crop_s, card.duration_rows.loc["all"]
    items.append(("The crop.", f"The features hold the first {crop:g} s of every clip: {_n(d['cropped'])} clips "
                  f"({percent(int(d['cropped']), int(d['clips']))}) are longer and lose their end (where a late "
                  f"emotional peak may be), {_n(d['padded'])} ({percent(int(d['padded']), int(d['clips']))}) "
                  "are padded with silence."))
    items.append(("What the splits do not control.", _split_limits(card)))
    return [_p("What this data cannot tell, in this manifest's numbers. Read it before reporting results."),
            "<ul>" + "".join(f"<li><strong>{html.escape(lead)}</strong> {html.escape(text)}</li>"
                             for lead, text in items) + "</ul>"]


def _label_limits(card: Card) -> list[tuple[str, str]]:
    items = []
    if card.acted:
        items.append((f"Acted labels ({_titles(card.acted)}).", "A clip's label is the emotion its speaker was "
                      "asked to portray, not what listeners perceive; portrayals are often exaggerated, and one "
                      "label per clip hides mixed expressions."))
    if card.voted:
        min_votes = (card.source.manifest.meta.get("policy") or {}).get("min_votes", "?")
        low, n = int(card.agreement_rows["half_or_less"].sum()), int(card.agreement_rows["rated"].sum())
        items.append((f"Crowd-rated labels ({_titles(card.voted)}).", f"A clip carries every emotion named by at "
                      f"least {min_votes} of its raters, so its labels depend on the label policy and on few "
                      f"people: {_count_share(low, n)} rated clips had at most half of their raters on the top "
                      "emotion."))
    if card.acted and card.voted:
        items.append(("Acted and rated together.", "Mixing both gives the word label two meanings, intended and "
                      "perceived emotion: compare scores per corpus, not only overall."))
    return items


def _speaker_limit(card: Card) -> str:
    rows = card.corpus_rows
    total = rows.loc["all"]
    genders = f"{total['female']} female, {total['male']} male" + (
        f", {total['unknown']} unknown" if total["unknown"] else "")
    text = (f"{_n(total['speakers'])} speakers in all ("
            + ", ".join(f"{title(c)} {rows.at[c, 'speakers']}" for c in card.corpora) + f"; {genders}).")
    few = [c for c in card.corpora if 0 < rows.at[c, "speakers"] < FEW_SPEAKERS]
    if few:
        text += (f" {_titles(few)} {'has' if len(few) == 1 else 'have'} fewer than {FEW_SPEAKERS} speakers: a "
                 "model can learn those voices rather than the emotions, and scores on them rest on very few "
                 "people.")
    return text


def _split_limits(card: Card) -> str:
    text = ("The splits keep each speaker in one split and are drawn per corpus. They do not control what is "
            "said (acted corpora repeat a few sentences or words across speakers, so a test clip's words have "
            "often been heard in training), nor recording session, channel, age or the gender balance.")
    if card.splits is None:
        return text
    held = card.splits.clips.drop(index="all")
    train_only = [c for c in card.corpora if held.at[c, "train"] and not held.loc[c].drop("train").sum()]
    if train_only:
        text += (f" {_titles(train_only)} {'has' if len(train_only) == 1 else 'have'} too few speakers to hold "
                 "any out: all of it is in train, so the test scores say nothing about it (evaluate it with "
                 "the leave-one-corpus-out strategy).")
    return text


# ---------------------------------------------------------------- HTML pieces


def _figure(figures: dict[str, tuple[int, int]], name: str, caption: str) -> str:
    width, height = figures[name]
    png, svg = file_name(name, "png"), file_name(name, "svg")
    return (f'<figure><img src="{html.escape(png)}" width="{round(width * SHOW_SCALE)}" '
            f'height="{round(height * SHOW_SCALE)}" alt="{html.escape(caption)}">'
            f'<figcaption>{html.escape(caption)} <a href="{html.escape(svg)}">(SVG)</a></figcaption></figure>')


def _section(anchor: str, heading: str, body: list[str]) -> str:
    return f'<section id="{anchor}">\n<h2>{html.escape(heading)}</h2>\n' + "\n".join(body) + "\n</section>"


def _p(text: str, cls: str | None = None) -> str:
    return f'<p class="{cls}">{html.escape(text)}</p>' if cls else f"<p>{html.escape(text)}</p>"


def _p_raw(markup: str) -> str:
    return f"<p>{markup}</p>"


class _Raw(str):
    """HTML that is already escaped (a table cell with a colour swatch)."""


def _corpus_cell(corpus: str) -> _Raw:
    return _Raw(f'<span class="swatch" style="background:{color(corpus)}"></span>{html.escape(title(corpus))}')


def _cell(value) -> str:
    if isinstance(value, _Raw):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return _n(int(value))
    return html.escape(str(value))


def _table(table_id: str, header: list, rows: list[list], total: bool = False, left_last: bool = False,
           left_cols: int = 1) -> str:
    """``left_cols``: how many first columns are text (left-aligned); ``left_last``: the last one too."""
    def align(j: int, n: int) -> str:
        return ' class="l"' if j < left_cols or (left_last and j == n - 1) else ""

    head = "".join(f"<th{align(j, len(header))}>{_cell(h)}</th>" for j, h in enumerate(header))
    lines = []
    for i, row in enumerate(rows):
        cls = ' class="total"' if total and i == len(rows) - 1 else ""
        lines.append(f"<tr{cls}>" + "".join(f"<td{align(j, len(row))}>{_cell(v)}</td>" for j, v in enumerate(row))
                     + "</tr>")
    return (f'<div class="scroll"><table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>\n'
            + "\n".join(lines) + "\n</tbody></table></div>")


def _titles(corpora: list[str]) -> str:
    return ", ".join(title(c) for c in corpora)


def _n(value) -> str:
    return f"{int(value):,}"


def _count_share(part: int, whole: int) -> str:
    return f"{_n(part)} ({percent(part, whole)})"


def _seconds(value) -> str:
    return f"{value:.2f} s" if np.isfinite(value) else "–"


def _fixed(value) -> str:
    return f"{value:.2f}" if np.isfinite(value) else "–"


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


_CSS = """
html{background:#fff}
body{margin:0;color:#1f1f1f;background:#fff;font:15px/1.5 "DejaVu Sans",Helvetica,Arial,sans-serif}
main{max-width:940px;margin:0 auto;padding:22px 24px 40px}
h1{font-size:25px;margin:0 0 6px}
h2{font-size:19px;margin:30px 0 6px;padding-bottom:3px;border-bottom:1px solid #d0d0d0}
p{margin:6px 0 8px}
ul{margin:6px 0 8px;padding-left:22px}
li{margin:0 0 6px}
.lead{color:#444}
.toc{font-size:14px}
a{color:#0b5cad}
table{border-collapse:collapse;margin:8px 0 12px;font-size:13.5px}
th,td{padding:3px 10px;border-bottom:1px solid #e3e3e3;text-align:right;vertical-align:top}
th.l,td.l{text-align:left}
td:first-child{white-space:nowrap}
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
