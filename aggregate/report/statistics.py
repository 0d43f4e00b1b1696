"""The numbers of every section of the card, computed from the manifest's rows (pandas and numpy only).

``describe(source)`` returns a ``Card``: the figures draw it and the page prints it, neither
computes anything of its own. The split summary and the speaker-leak check are the ones of
``aggregate.manifest.split_summary``, shared with the manifest summary and training runs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..corpora import CORPORA
from ..corpora.base import REASONS
from ..manifest.split_checks import leaking_speakers
from ..manifest.split_summary import SplitSummary, split_summary
from ..vocabulary import EMOTIONS
from .source import Source

EXAMPLES_PER_EMOTION = 2
FEW_SPEAKERS = 10  # below this many speakers, a model can learn a corpus's voices rather than its emotions
GENDERS = ("female", "male", "unknown")


@dataclass
class Card:
    """Everything the card shows, section by section."""

    source: Source
    corpora: list[str]  # the corpora present, in the registry's order, then any other by name
    corpus_rows: pd.DataFrame  # corpora, then "all": kept, speakers, female, male, unknown, rejected
    reasons: pd.DataFrame  # reject reason x corpus: files
    count_mismatches: list[str]  # where the metadata's counts disagree with the rows
    label_counts: pd.DataFrame  # emotion x corpus: clips carrying it
    cooccurrence: np.ndarray  # (emotions, emotions): clips carrying both
    labels_per_clip: pd.DataFrame  # corpora, then "all": clips with 1..n labels, and the mean
    voted: list[str]  # the corpora whose labels come from raters' votes
    agreement: dict[str, np.ndarray]  # per voted corpus: each rated clip's share of raters on its top emotion
    agreement_rows: pd.DataFrame  # per voted corpus: rated clips, median raters, mean/full/<=0.5 agreement
    durations: dict[str, np.ndarray]  # per corpus: clip durations in seconds
    duration_rows: pd.DataFrame  # corpora, then "all": clips, shortest, median, longest, hours, cropped, padded
    splits: SplitSummary | None  # None when no clip has a split
    gender_by_split: pd.DataFrame  # gender x split: speakers
    leaking: pd.Series  # the speakers in more than one split (index), with their splits
    examples: dict[str, list[str]]  # per emotion, the sample ids of the example spectrograms ({}: no shards)

    @property
    def clips(self) -> pd.DataFrame:
        return self.source.manifest.clips

    @property
    def acted(self) -> list[str]:
        return [c for c in self.corpora if c not in self.voted and self.corpus_rows.at[c, "kept"]]

    @property
    def multi_label(self) -> int:
        """Clips with more than one label."""
        counts = self.labels_per_clip.loc["all"].drop("mean")
        return int(counts[counts.index > 1].sum())

    @property
    def top_pair(self) -> tuple[int, str, str]:
        """The most frequent pair of emotions in one clip: (clips, emotion, emotion)."""
        co, k = self.cooccurrence, len(EMOTIONS)
        pairs = [(int(co[i, j]), EMOTIONS[i], EMOTIONS[j]) for i in range(k) for j in range(i + 1, k)]
        return sorted(pairs, key=lambda p: (-p[0], p[1], p[2]))[0]


def describe(src: Source) -> Card:
    clips = src.manifest.clips
    corpora = present_corpora(src)
    reasons = _reasons(src, corpora)
    voted = [c for c in corpora if clips.loc[clips["corpus"] == c, "n_raters"].notna().any()]
    agreement = {c: _agreement(clips[clips["corpus"] == c]) for c in voted}
    labels = _label_matrix(clips)
    has_split = "split" in clips and clips["split"].notna().any()
    return Card(
        source=src, corpora=corpora, corpus_rows=_corpus_rows(clips, reasons, corpora), reasons=reasons,
        count_mismatches=_count_mismatches(src, reasons, corpora),
        label_counts=pd.DataFrame({c: _label_matrix(clips[clips["corpus"] == c]).sum(axis=0) for c in corpora},
                                  index=list(EMOTIONS), dtype=int),
        cooccurrence=labels.T @ labels,
        labels_per_clip=_labels_per_clip(clips, corpora, int((src.manifest.meta.get("policy") or {})
                                                             .get("max_labels", 1))),
        voted=voted, agreement=agreement, agreement_rows=_agreement_rows(clips, agreement),
        durations={c: clips.loc[clips["corpus"] == c, "duration"].to_numpy(float) for c in corpora},
        duration_rows=_duration_rows(clips, corpora, src.crop_s),
        splits=_split_summary(clips, corpora) if has_split else None,
        gender_by_split=_gender_by_split(clips) if has_split else pd.DataFrame(),
        leaking=leaking_speakers(clips, clips["split"]) if has_split else pd.Series(dtype=object),
        examples=_choose_examples(src, corpora) if src.index is not None else {})


def present_corpora(src: Source) -> list[str]:
    """The corpora with kept clips, or recorded in the metadata's counts (all of whose files may have
    been rejected), in the registry's order, then any other by name. Nothing else appears on the card."""
    names = set(src.manifest.clips["corpus"].dropna().astype(str))
    names |= set((src.manifest.meta.get("counts") or {}).keys())
    return [c for c in CORPORA if c in names] + sorted(names - set(CORPORA))


def _reasons(src: Source, corpora: list[str]) -> pd.DataFrame:
    """Rejected files, reason x corpus: from the rejects table, or the metadata's counts without it."""
    rejects = src.manifest.rejects
    if src.rejects_known:
        pairs = rejects.groupby([rejects["reason"].astype(str), rejects["corpus"].astype(str)]).size() \
            if len(rejects) else pd.Series(dtype=int)
    else:
        pairs = pd.Series({(r, c): n for c, info in (src.manifest.meta.get("counts") or {}).items()
                           for r, n in (info.get("rejected") or {}).items()}, dtype=int)
    matrix = pairs.unstack(fill_value=0) if len(pairs) else pd.DataFrame(dtype=int)
    matrix = matrix.reindex(columns=corpora, fill_value=0)
    matrix = matrix[matrix.sum(axis=1) > 0]  # a reason met only in corpora not on the card
    order = [r for r in REASONS if r in matrix.index] + sorted(set(matrix.index) - set(REASONS))
    return matrix.reindex(order).astype(int)


def _corpus_rows(clips: pd.DataFrame, reasons: pd.DataFrame, corpora: list[str]) -> pd.DataFrame:
    gender = clips["gender"].astype("string").fillna("unknown").astype(str)
    speakers = pd.DataFrame({"corpus": clips["corpus"].astype(str), "speaker": clips["speaker"].astype(str),
                             "gender": gender}).drop_duplicates("speaker")
    rows = {}
    for c in [*corpora, "all"]:
        mine = clips if c == "all" else clips[clips["corpus"] == c]
        spk = speakers if c == "all" else speakers[speakers["corpus"] == c]
        rejected = int(reasons.values.sum()) if c == "all" else int(reasons[c].sum())
        rows[c] = {"kept": len(mine), "speakers": len(spk),
                   **{g: int((spk["gender"] == g).sum()) for g in GENDERS}, "rejected": rejected}
    return pd.DataFrame(rows).T.astype(int)


def _count_mismatches(src: Source, reasons: pd.DataFrame, corpora: list[str]) -> list[str]:
    """Where the metadata's counts disagree with the rows (a file filtered or edited by hand)."""
    counts, clips = src.manifest.meta.get("counts") or {}, src.manifest.clips
    wrong = []
    for c in corpora:
        if c not in counts:
            continue
        have = int((clips["corpus"] == c).sum())
        if int(counts[c].get("kept", have)) != have:
            wrong.append(f"{c}: metadata {counts[c]['kept']} kept, file {have}")
        recorded = sum((counts[c].get("rejected") or {}).values())
        if src.rejects_known and recorded != int(reasons[c].sum()):
            wrong.append(f"{c}: metadata {recorded} rejected, rejects table {int(reasons[c].sum())}")
    return wrong


def _label_matrix(clips: pd.DataFrame) -> np.ndarray:
    """(clips, emotions) 0/1 int matrix in EMOTIONS order."""
    return clips[[f"label_{e}" for e in EMOTIONS]].fillna(0).to_numpy(dtype=np.int64)


def _labels_per_clip(clips: pd.DataFrame, corpora: list[str], max_labels: int) -> pd.DataFrame:
    n_labels = clips["n_labels"].astype(int)
    columns = list(range(1, max(int(n_labels.max()) if len(clips) else 1, max_labels) + 1))
    rows = {}
    for c in [*corpora, "all"]:
        mine = n_labels if c == "all" else n_labels[clips["corpus"] == c]
        rows[c] = {**{k: int((mine == k).sum()) for k in columns}, "mean": mine.mean() if len(mine) else np.nan}
    return pd.DataFrame(rows).T


def _agreement(part: pd.DataFrame) -> np.ndarray:
    votes = part[[f"votes_{e}" for e in EMOTIONS]].astype("Float64").fillna(0).to_numpy(dtype=float)
    raters = part["n_raters"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(raters) & (raters > 0)
    return votes[ok].max(axis=1) / raters[ok] if ok.any() else np.zeros(0)


def _agreement_rows(clips: pd.DataFrame, agreement: dict[str, np.ndarray]) -> pd.DataFrame:
    rows = {}
    for c, a in agreement.items():
        raters = clips.loc[clips["corpus"] == c, "n_raters"].dropna().astype(float)
        rows[c] = {"rated": len(a), "median_raters": raters.median() if len(raters) else np.nan,
                   "mean": a.mean() if len(a) else np.nan,
                   "full": int((a >= 1 - 1e-9).sum()), "half_or_less": int((a <= 0.5 + 1e-9).sum())}
    return pd.DataFrame(rows).T


def _duration_rows(clips: pd.DataFrame, corpora: list[str], crop: float) -> pd.DataFrame:
    durations = clips["duration"].astype(float)
    rows = {}
    for c in [*corpora, "all"]:
        d = durations if c == "all" else durations[clips["corpus"] == c]
        rows[c] = {"clips": len(d), "shortest": d.min(), "median": d.median(), "longest": d.max(),
                   "hours": d.sum() / 3600, "cropped": int((d > crop).sum()), "padded": int((d < crop).sum())}
    return pd.DataFrame(rows).T


def _split_summary(clips: pd.DataFrame, corpora: list[str]) -> SplitSummary:
    """The shared split summary, one row for each corpus on the card (0 for one without clips)."""
    summary = split_summary(clips, clips["split"])
    rows = [*corpora, "all"]
    return SplitSummary(summary.names, summary.clips.reindex(rows, fill_value=0),
                        summary.speakers.reindex(rows, fill_value=0), summary.labels)


def _gender_by_split(clips: pd.DataFrame) -> pd.DataFrame:
    """Speakers per gender and split (a speaker in two splits counts in both)."""
    frame = pd.DataFrame({"speaker": clips["speaker"].astype(str),
                          "gender": clips["gender"].astype("string").fillna("unknown").astype(str),
                          "split": clips["split"].astype("string").fillna("none").astype(str)})
    table = frame.drop_duplicates(["speaker", "split"]).groupby(["gender", "split"]).size().unstack(fill_value=0)
    genders = [g for g in GENDERS if g != "unknown" or g in table.index]
    return table.reindex(index=genders, fill_value=0)


def _choose_examples(src: Source, corpora: list[str]) -> dict[str, list[str]]:
    """Per emotion, up to EXAMPLES_PER_EMOTION rendered clips: single-label first, corpora in turn."""
    clips = src.manifest.clips
    rendered = clips[clips["sample_id"].isin(set(src.index.get("samples", {})))].sort_values("sample_id")
    chosen = {}
    for i, e in enumerate(EMOTIONS):
        has = rendered[rendered[f"label_{e}"].astype(int) == 1]
        order = corpora[i % len(corpora):] + corpora[:i % len(corpora)]  # each emotion starts at another corpus
        picks: list[str] = []
        for pool in (has[has["n_labels"].astype(int) == 1], has[has["n_labels"].astype(int) > 1]):
            queues = [list(pool.loc[pool["corpus"] == c, "sample_id"].astype(str)) for c in order]
            while len(picks) < EXAMPLES_PER_EMOTION and any(queues):
                for q in queues:
                    if q and len(picks) < EXAMPLES_PER_EMOTION:
                        picks.append(q.pop(0))
        chosen[e] = picks
    return chosen
