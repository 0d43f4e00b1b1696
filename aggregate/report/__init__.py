"""A data card: one offline HTML page with figures describing a manifest (``python -m aggregate report``).

``build_report(source, output)`` takes a manifest ``.parquet`` (its rejects CSV beside it when
present) or a shards folder (its ``manifest.parquet`` copy, plus example spectrograms read from
the shards) and writes ``output/index.html`` with the figures beside it, as PNG and SVG.

The seams: ``source`` reads the input, ``statistics`` computes every number (the ``Card``),
``figures`` draws them, ``page`` writes the HTML, ``folder`` keeps the output folder safe (it
replaces only a folder the report wrote itself). Corpus order, titles, colours, licences and
citations come from the corpus registry; only the corpora present appear.
"""
from __future__ import annotations

from pathlib import Path

from .figures import draw_all
from .folder import MARKER, check_replaceable, report_folder
from .page import default_title, render_page
from .source import load_source
from .statistics import describe

__all__ = ["MARKER", "build_report"]


def build_report(source: Path | str, output: Path | str, title: str | None = None) -> Path:
    """Write the data card of ``source`` (a manifest .parquet or a shards folder) into ``output``;
    return the path of ``output/index.html``. ``title`` replaces the page's default title;
    A manifest whose metadata says ``synthetic`` (the demo's) is described as such. Raises InputError for input that
    is neither, or for an ``output`` that holds files the report did not write."""
    source, output = Path(source), Path(output)
    loaded = load_source(source)
    check_replaceable(output)  # the input itself (a file, a shards folder) is refused here too
    card = describe(loaded)
    examples = loaded.shards.features_of([i for ids in card.examples.values() for i in ids]) if loaded.shards else {}
    with report_folder(output) as folder:
        figures = draw_all(card, examples, folder)
        synthetic = bool(loaded.manifest.meta.get("synthetic"))
        page = render_page(card, figures, title or default_title(card), synthetic)
        (folder / "index.html").write_text(page, encoding="utf-8")
    return output / "index.html"
