"""How corpora, reasons and genders look on the card: titles and colours, shared by figures and page.

Corpus titles and colours come from the corpus registry (each module's ``TITLE`` and
``COLOR``); a corpus outside it (a table brought by the user) is grey under its own name.
"""
from __future__ import annotations

from ..corpora import CORPORA
from ..corpora.base import REASONS

OTHER_CORPUS_COLOR = "#777777"
# Reject reasons: pastel colours (Set3, then Pastel1 past its 12), distinct from the corpus colours,
# one per reason in REASONS order (a reason beyond the list would fall back to grey: add a colour with it).
REASON_COLORS = dict(zip(REASONS, ["#8DD3C7", "#FFFFB3", "#BEBADA", "#FB8072", "#80B1D3",
                                   "#FDB462", "#B3DE69", "#FCCDE5", "#D9D9D9", "#BC80BD",
                                   "#CCEBC5", "#FFED6F", "#FBB4AE", "#B3CDE3", "#DECBE4",
                                   "#FED9A6"]))
OTHER_REASON_COLOR = "#CCCCCC"
GENDER_COLORS = {"female": "#4D4D4D", "male": "#B3B3B3", "unknown": "#FFFFFF"}


def title(corpus: str) -> str:
    return CORPORA[corpus].TITLE if corpus in CORPORA else corpus


def color(corpus: str) -> str:
    return CORPORA[corpus].COLOR if corpus in CORPORA else OTHER_CORPUS_COLOR


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "–"
