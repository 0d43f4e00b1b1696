"""The data card (python -m aggregate report): complete pages, true numbers, bad input, and what a browser shows."""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aggregate.cli import main
from aggregate.corpora import CORPORA
from aggregate.errors import InputError
from aggregate.manifest.format import Manifest, write_manifest
from aggregate.report import MARKER, build_report
from aggregate.vocabulary import EMOTIONS

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- helpers


class _Page(HTMLParser):
    """The img sources and the tables (by id: rows of cell texts) of a page."""

    def __init__(self, text: str):
        super().__init__()
        self.images: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
        elif tag == "table" and attrs.get("id"):
            self._table = attrs["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _table(page: _Page, table_id: str) -> pd.DataFrame:
    """A page table as a frame indexed by its first column (header row = columns)."""
    header, *rows = page.tables[table_id]
    return pd.DataFrame(rows, columns=header).set_index(header[0])


def _int(cell: str) -> int:
    return int(cell.split(" ")[0].replace(",", ""))


def _check_images(page_file: Path) -> _Page:
    """Every figure is a real PNG shown on the page, with an SVG beside it that the page links to."""
    text = page_file.read_text(encoding="utf-8")
    page = _Page(text)
    assert page.images, "the page has no figure"
    for src in page.images:
        assert not re.match(r"^[a-z]+:|^/", src), f"{src}: image paths must be relative (the page is read offline)"
        image = page_file.parent / src
        assert image.is_file(), f"{src} is referenced but missing"
        data = image.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 2000, f"{src} is not a real PNG"
        svg = image.with_suffix(".svg")
        assert f'href="{svg.name}"' in text, f"the page does not link {svg.name}"
        assert svg.is_file() and b"<svg" in svg.read_bytes()[:2000] and svg.stat().st_size > 2000, svg
    return page


@pytest.fixture(scope="module")
def manifest_file(demo_manifest, tmp_path_factory) -> Path:
    return write_manifest(demo_manifest, tmp_path_factory.mktemp("report-manifest") / "demo.parquet")


@pytest.fixture(scope="module")
def manifest_report(manifest_file, tmp_path_factory) -> Path:
    return build_report(manifest_file, tmp_path_factory.mktemp("report") / "card")


@pytest.fixture(scope="module")
def shards_report(demo_shards, tmp_path_factory) -> Path:
    return build_report(demo_shards, tmp_path_factory.mktemp("report-shards") / "card")


def _one_corpus(manifest: Manifest, corpus: str, path: Path) -> Path:
    clips = manifest.clips[manifest.clips["corpus"] == corpus].reset_index(drop=True)
    rejects = manifest.rejects[manifest.rejects["corpus"] == corpus].reset_index(drop=True)
    meta = dict(manifest.meta, counts={corpus: manifest.meta["counts"][corpus]})
    return write_manifest(Manifest(clips, rejects, meta), path)


# ---------------------------------------------------------------- pages


def test_report_of_a_manifest_is_complete(manifest_report, manifest_file):
    assert manifest_report.name == "index.html"
    text = manifest_report.read_text(encoding="utf-8")
    page = _check_images(manifest_report)
    assert {"rejects.png", "labels.png", "cooccurrence.png", "agreement.png", "durations.png",
            "splits.png"} <= set(page.images)
    assert "examples.png" not in page.images and "Example spectrograms" not in text  # a manifest has no features
    # offline: no script, nothing loaded from the network (the citations' DOIs are plain text)
    assert "<script" not in text.lower() and not re.search(r"""(src|href)=["']?(https?:)?//|url\(""", text)
    assert manifest_file.name in text and "min_votes=1" in text and "strategy=speakers" in text
    assert "no speaker is in two splits" in text
    svgs = [Path(src).with_suffix(".svg").name for src in page.images]
    assert sorted(p.name for p in manifest_report.parent.iterdir()) == sorted(["index.html", MARKER, *page.images,
                                                                               *svgs])
    assert not [p for p in manifest_report.parent.parent.iterdir() if p.name.startswith(".")]  # no temp folder left


def test_table_numbers_equal_counts_from_the_manifest(manifest_report, demo_manifest):
    page = _Page(manifest_report.read_text(encoding="utf-8"))
    clips, rejects = demo_manifest.clips, demo_manifest.rejects

    corpora = _table(page, "t-corpora")
    for corpus, mine in clips.groupby("corpus"):
        row = corpora.loc[corpus.upper()]
        assert _int(row["kept clips"]) == len(mine)
        assert _int(row["speakers"]) == mine["speaker"].nunique()
        assert _int(row["rejected files"]) == int((rejects["corpus"] == corpus).sum())
    assert _int(corpora.loc["all", "kept clips"]) == len(clips)

    by_reason = _table(page, "t-rejects")
    expected = rejects.groupby(["reason", "corpus"]).size()
    for (reason, corpus), n in expected.items():
        assert _int(by_reason.loc[reason, corpus.upper()]) == n, (reason, corpus)
    assert _int(by_reason.loc["all", "all"]) == len(rejects)
    assert set(by_reason.index) - {"all"} == set(rejects["reason"])

    labels = _table(page, "t-labels")
    for e in EMOTIONS:
        for corpus, mine in clips.groupby("corpus"):
            assert _int(labels.loc[e, corpus.upper()]) == int(mine[f"label_{e}"].sum()), (e, corpus)
    assert _int(labels.loc["surprise", "CREMA-D"]) == 0  # CREMA-D has no surprise: a zero, not a gap

    durations = _table(page, "t-durations")
    for corpus, mine in clips.groupby("corpus"):
        row = durations.loc[corpus.upper()]
        assert _int(row["cropped (> 4.5 s)"]) == int((mine["duration"] > 4.5).sum())
        assert _int(row["padded (< 4.5 s)"]) == int((mine["duration"] < 4.5).sum())

    splits = _table(page, "t-splits")
    for split in ("train", "val", "test"):
        column = next(c for c in splits.columns if c.startswith(f"{split}:"))
        assert _int(splits.loc["all", column]) == int((clips["split"] == split).sum())

    agreement = _table(page, "t-agreement")
    assert set(agreement.index) == {"IEMOCAP", "CREMA-D"}
    iemocap = clips[clips["corpus"] == "iemocap"]
    votes = iemocap[[f"votes_{e}" for e in EMOTIONS]].astype(float).fillna(0).max(axis=1)
    share = votes / iemocap["n_raters"].astype(float)
    assert agreement.loc["IEMOCAP", "mean agreement"] == f"{share.mean():.2f}"


def test_card_cites_and_licenses_each_corpus_in_the_registrys_order_and_colours(manifest_report, demo_manifest):
    text = manifest_report.read_text(encoding="utf-8")
    page = _Page(text)
    present = [c for c in CORPORA if c in set(demo_manifest.clips["corpus"])]
    assert list(_table(page, "t-corpora").index) == [CORPORA[c].TITLE for c in present] + ["all"]
    sources = _table(page, "t-sources")
    assert list(sources.index) == [CORPORA[c].TITLE for c in present]
    for c in present:
        assert sources.at[CORPORA[c].TITLE, "licence"] == CORPORA[c].LICENSE
        assert sources.at[CORPORA[c].TITLE, "citation"] == CORPORA[c].CITATION
        assert f'class="swatch" style="background:{CORPORA[c].COLOR}"' in text


def test_card_says_itself_what_the_licences_let_a_reader_share(manifest_report, demo_manifest, tmp_path):
    """The card travels without this repository (a paper's appendix): no pointer into its docs."""
    text = manifest_report.read_text(encoding="utf-8")
    sources = re.search(r'<section id="sources">.*?</section>', text, re.S).group(0)
    assert "docs/" not in text and "sharing.md" not in text
    for term in ["NC (NonCommercial)", "SA (ShareAlike)", "ND (NoDerivatives)", "ODbL:", "No redistribution:",
                 "strictest terms", "not legal advice"]:  # the demo holds all four corpora: every term applies
        assert term in sources, term
    ravdess = build_report(_one_corpus(demo_manifest, "ravdess", tmp_path / "r.parquet"), tmp_path / "card")
    only = re.search(r'<section id="sources">.*?</section>', ravdess.read_text(encoding="utf-8"), re.S).group(0)
    assert "NC (NonCommercial)" in only and "SA (ShareAlike)" in only  # CC BY-NC-SA
    assert "ND (NoDerivatives)" not in only and "No redistribution" not in only and "ODbL" not in only


def test_the_default_title_says_what_the_data_is_and_title_replaces_it(manifest_report, manifest_file, demo_manifest,
                                                                       shards_report, tmp_path):
    clips = demo_manifest.clips
    expected = (f"Data card: IEMOCAP, CREMA-D, TESS and RAVDESS, {len(clips)} clips from "
                f"{clips['speaker'].nunique()} speakers")
    for page in (manifest_report, shards_report):
        text = page.read_text(encoding="utf-8")
        assert f"<title>{expected}</title>" in text and f"<h1>{expected}</h1>" in text
    assert main(["report", str(manifest_file), "-o", str(tmp_path / "card"), "--title", "Appendix B"]) == 0
    assert "<title>Appendix B</title>" in (tmp_path / "card" / "index.html").read_text(encoding="utf-8")


def test_the_features_line_gives_the_stored_dtype(shards_report, demo_shards):
    import json

    text = shards_report.read_text(encoding="utf-8")
    storage = json.loads((demo_shards / "index.json").read_text())["storage"]
    assert storage["dtype"] == "float16" and "200x278 log-mel (float16), 4.5 s at" in text and "()" not in text


def test_single_label_data_has_a_sentence_not_a_heatmap_of_zeros(demo_manifest, tmp_path):
    page_file = build_report(_one_corpus(demo_manifest, "ravdess", tmp_path / "r.parquet"), tmp_path / "card")
    text = page_file.read_text(encoding="utf-8")
    section = re.search(r'<section id="cooccurrence">.*?</section>', text, re.S).group(0)
    assert "cooccurrence.png" not in _check_images(page_file).images and "<figure" not in section
    assert "Every clip has a single label" in section and not (tmp_path / "card" / "cooccurrence.svg").exists()


def test_the_rejects_chart_prints_a_count_once(demo_manifest):
    from aggregate.report.figures import plot_rejects

    one = pd.DataFrame({"ravdess": [12], "tess": [3]}, index=["not_speech"])
    texts = [t.get_text() for t in plot_rejects(one, ["ravdess", "tess"]).axes[0].texts]
    assert sorted(texts) == ["12", "3"]  # each bar's one segment is its total: printed at its end only
    two = pd.DataFrame({"ravdess": [12, 9]}, index=["not_speech", "unreadable"])
    texts = [t.get_text() for t in plot_rejects(two, ["ravdess"]).axes[0].texts]
    assert sorted(texts) == ["12", "21", "9"]  # the segments, then the total


def test_no_corpus_name_or_colour_is_written_into_the_report_code():
    """Titles, colours and order come from the registry; the report code names no corpus."""
    code = "\n".join(p.read_text() for p in Path(build_report.__code__.co_filename).parent.glob("*.py"))
    for module in CORPORA.values():
        for literal in (f'"{module.NAME}"', f"'{module.NAME}'", module.TITLE, module.COLOR.lower()):
            assert literal not in code.lower() if literal.startswith("#") else literal not in code, literal


def test_policy_and_limitations_are_this_manifests(demo_manifest, tmp_path):
    clips = demo_manifest.clips
    meta = dict(demo_manifest.meta, policy=dict(demo_manifest.meta["policy"], min_votes=2), synthetic=True)
    source = write_manifest(Manifest(clips, demo_manifest.rejects, meta), tmp_path / "policy.parquet")
    text = build_report(source, tmp_path / "card").read_text(encoding="utf-8")
    policy = re.search(r'<section id="policy">.*?</section>', text, re.S).group(0)
    assert "min_votes=2" in policy and "at least 2 of its raters" in policy
    limits = re.search(r'<section id="limitations">.*?</section>', text, re.S).group(0)
    assert "Synthetic data." in limits and "at least 2 of its raters" in limits
    assert f"{int((clips['duration'] > 4.5).sum())} clips" in limits  # cropped, counted from the rows
    voted = [c for c, part in clips.groupby("corpus", sort=False) if part["n_raters"].notna().any()]
    acted = [c for c in CORPORA if c in set(clips["corpus"]) and c not in voted]
    assert f"Acted labels ({', '.join(CORPORA[c].TITLE for c in acted)})." in limits
    # the corpora wholly in train are named: their test scores do not exist
    train_only = [c for c, part in clips.groupby("corpus") if set(part["split"]) == {"train"}]
    assert train_only and all(f"{CORPORA[c].TITLE} has too few speakers" in limits for c in train_only)


def test_not_synthetic_unless_said(manifest_report):
    assert "Synthetic data." not in manifest_report.read_text(encoding="utf-8")


def test_report_folder_holds_no_absolute_path(shards_report, demo_shards, demo_manifest):
    """The folder is shared: no path of the machine that built it, only names."""
    machine = [str(demo_shards), str(demo_shards.parent), *demo_manifest.meta["roots"].values()]
    for path in shards_report.parent.iterdir():
        data = path.read_bytes()
        for text in machine:
            assert text.encode() not in data, f"{path.name} holds the absolute path {text}"


def test_a_corpus_outside_the_registry_is_shown_under_its_own_name(demo_manifest, tmp_path):
    rename = {"ravdess": "savee"}  # as a corpus brought in through a table would be named
    clips = demo_manifest.clips.assign(corpus=demo_manifest.clips["corpus"].replace(rename))
    rejects = demo_manifest.rejects.assign(corpus=demo_manifest.rejects["corpus"].replace(rename))
    meta = dict(demo_manifest.meta, counts={rename.get(c, c): v for c, v in demo_manifest.meta["counts"].items()})
    source = write_manifest(Manifest(clips, rejects, meta), tmp_path / "table.parquet")
    page_file = build_report(source, tmp_path / "card")
    text = page_file.read_text(encoding="utf-8")
    page = _check_images(page_file)
    assert list(_table(page, "t-corpora").index) == ["IEMOCAP", "CREMA-D", "TESS", "savee", "all"]
    assert "not known to this tool" in _table(page, "t-sources").at["savee", "licence"]
    assert "</span>RAVDESS" not in text and CORPORA["ravdess"].LICENSE not in text and "(RAVDESS)" not in text


@pytest.mark.parametrize("corpus", ["ravdess", "crema-d"])
def test_one_corpus_gives_a_complete_page(demo_manifest, tmp_path, corpus):
    source = _one_corpus(demo_manifest, corpus, tmp_path / f"{corpus}.parquet")
    page_file = build_report(source, tmp_path / "card")
    text = page_file.read_text(encoding="utf-8")
    page = _check_images(page_file)
    assert "metadata counts differ" not in text
    corpora = _table(page, "t-corpora")
    assert list(corpora.index) == [corpus.upper(), "all"]
    for other in set(CORPORA) - {corpus}:  # only the corpora present appear on the card
        module = CORPORA[other]
        assert module.TITLE not in text and module.LICENSE not in text and module.COLOR not in text, other
    assert _int(corpora.loc["all", "kept clips"]) == int((demo_manifest.clips["corpus"] == corpus).sum())
    if corpus == "ravdess":  # acted: no agreement plot, a sentence instead
        assert "agreement.png" not in page.images and "no voted corpus" in text.lower()
    else:
        assert "agreement.png" in page.images
        assert _int(_table(page, "t-labels").loc["surprise", "CREMA-D"]) == 0


def test_report_of_a_shards_folder_shows_example_spectrograms(shards_report, demo_shards):
    text = shards_report.read_text(encoding="utf-8")
    page = _check_images(shards_report)
    assert "examples.png" in page.images and "Example spectrograms" in text
    assert "the copy in the shards folder" in text
    # the caption names the examples: two per emotion, with their corpus
    caption = re.search(r"<figcaption>Example spectrograms.*?</figcaption>", text, re.S).group(0)
    for e in EMOTIONS:
        assert f"{e}: " in caption
    assert len(re.findall(r"\w[\w-]*/[\w-]+ \((?:IEMOCAP|CREMA-D|TESS|RAVDESS)\)", caption)) == 2 * len(EMOTIONS)


def test_cli_report_warns_in_red_of_a_speaker_in_two_splits(demo_manifest, tmp_path, capsys):
    clips = demo_manifest.clips.copy()
    speaker = clips["speaker"].iloc[0]
    mine = clips.index[clips["speaker"] == speaker]
    other = next(s for s in ("train", "val", "test") if s != clips.at[mine[0], "split"])
    clips.loc[mine[:1], "split"] = other
    source = write_manifest(Manifest(clips, demo_manifest.rejects, demo_manifest.meta), tmp_path / "leak.parquet")
    assert main(["report", str(source), "-o", str(tmp_path / "card")]) == 0
    assert f"wrote {tmp_path / 'card' / 'index.html'}" in capsys.readouterr().out
    text = (tmp_path / "card" / "index.html").read_text(encoding="utf-8")
    assert re.search(rf'class="warn">Warning: 1 speaker\(s\) are in more than one split \({re.escape(speaker)}\)',
                     text)
    assert "no speaker is in two splits" not in text


# ---------------------------------------------------------------- output folder and bad input


def test_failure_keeps_the_old_report_rebuild_replaces_it_with_the_same_files(manifest_file, manifest_report,
                                                                             shards_report, tmp_path, monkeypatch):
    out = tmp_path / "card"
    shutil.copytree(shards_report.parent, out)  # an old report with example spectrograms
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    import aggregate.report.figures as figures

    def broken(*args, **kwargs):
        raise RuntimeError("plotting failed")

    monkeypatch.setattr(figures, "plot_labels", broken)
    with pytest.raises(RuntimeError):
        build_report(manifest_file, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old report, whole
    assert [p.name for p in tmp_path.iterdir()] == ["card"]  # no temporary folder left behind
    monkeypatch.undo()

    build_report(manifest_file, out)
    assert not (out / "examples.png").exists() and not (out / "examples.svg").exists()  # replaced as a whole
    # deterministic: the same input gives the same bytes (no date, no random ids)
    names = sorted(p.name for p in manifest_report.parent.iterdir())
    assert sorted(p.name for p in out.iterdir()) == names
    for name in names:
        assert (out / name).read_bytes() == (manifest_report.parent / name).read_bytes(), f"{name} differs"


def test_output_folder_with_other_files_is_refused(manifest_file, demo_shards, tmp_path):
    with pytest.raises(InputError, match=re.escape(str(demo_shards))):
        build_report(manifest_file, demo_shards)
    assert (demo_shards / "index.json").is_file()
    with pytest.raises(InputError, match="not a folder"):
        build_report(manifest_file, manifest_file)


@pytest.mark.parametrize("kind", ["missing", "plain folder", "not shards", "plain parquet", "csv"])
def test_bad_input_names_the_path(tmp_path, manifest_file, kind):
    if kind == "missing":
        source, expect = tmp_path / "nowhere.parquet", "does not exist"
    elif kind == "plain folder":
        source, expect = tmp_path, "not a shards folder"
    elif kind == "not shards":
        source = tmp_path / "fake"
        source.mkdir()
        (source / "index.json").write_text('{"format": "something else"}')
        expect = "format"
    elif kind == "plain parquet":
        source = tmp_path / "plain.parquet"
        pd.DataFrame({"a": [1, 2]}).to_parquet(source)
        expect = "not a manifest"
    else:
        source, expect = manifest_file.with_name("demo.rejects.csv"), "not a readable Parquet"
    with pytest.raises(InputError) as caught:
        build_report(source, tmp_path / "card")
    message = str(caught.value)
    assert str(source) in message and expect in message
    assert "manifest .parquet" in message and "shards folder" in message  # what was expected
    assert not (tmp_path / "card").exists()


def test_cli_error_is_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nowhere"), "-o", str(tmp_path / "card2")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and str(tmp_path / "nowhere") in err


# ---------------------------------------------------------------- what a person sees


BROWSER = shutil.which("chromium")
WINDOW = (1280, 10000)


@pytest.mark.slow
@pytest.mark.skipif(BROWSER is None, reason="chromium is not installed (apt-get install -y chromium): "
                                            "the page is not checked in a browser")
def test_page_renders_whole_in_a_browser(shards_report, tmp_path):
    from matplotlib.image import imread

    shot = tmp_path / "page.png"
    profile = tempfile.mkdtemp(dir=tmp_path)
    result = subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         f"--user-data-dir={profile}", f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
         shards_report.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    assert shot.is_file(), f"chromium wrote no screenshot (exit {result.returncode}): {result.stderr[-2000:]}"
    image = imread(shot)[..., :3]  # floats in [0, 1]
    assert image.shape[:2] == (WINDOW[1], WINDOW[0])
    ink = (image < 0.94).any(axis=2)  # not the white background
    rows = np.flatnonzero(ink.any(axis=1))
    assert len(rows), "the screenshot is blank"
    end = rows.max()
    # the page ends inside the window, the rest is plain background: nothing is cut off
    assert end < WINDOW[1] - 500, f"the page is taller than {WINDOW[1]} px or its end is not plain background"
    content = ink[: end + 1]
    assert content.mean() > 0.05, f"only {content.mean():.1%} of the page has content: figures missing?"
    # no large empty hole in the content: a figure that failed to load leaves a blank box of its size
    blank = ~content.any(axis=1)
    longest, run = 0, 0
    for is_blank in blank:
        run = run + 1 if is_blank else 0
        longest = max(longest, run)
    assert longest < 150, f"a blank band of {longest} px inside the page"
    # every figure is on screen: the page is as tall as its figures and text need
    heights = [int(h) for h in re.findall(r'<img [^>]*height="(\d+)"', shards_report.read_text(encoding="utf-8"))]
    assert end > sum(heights), f"the page ({end} px) is shorter than its figures ({sum(heights)} px)"


def test_every_reject_reason_has_a_colour_of_its_own():
    """The rejects chart tells reasons apart by colour: none may fall back to the shared grey."""
    from aggregate.corpora.base import REASONS
    from aggregate.report.style import OTHER_REASON_COLOR, REASON_COLORS

    assert list(REASON_COLORS) == list(REASONS)
    colours = list(REASON_COLORS.values()) + [OTHER_REASON_COLOR] + [unit.COLOR for unit in CORPORA.values()]
    assert len({c.upper() for c in colours}) == len(colours)
