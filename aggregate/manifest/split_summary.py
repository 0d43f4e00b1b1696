"""Clips, speakers and labels per split and corpus: the numbers the manifest summary, a training
run and the data card show."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..vocabulary import HELD_OUT_SPLITS, SPLITS
from .split_assign import LABEL_COLUMNS, corpora_in_order
from .split_checks import aligned

FEW_HELD_OUT_SPEAKERS = 3  # fewer speakers than this in a corpus's val or test: its scores are one or two voices


@dataclass
class SplitSummary:
    """Clips, speakers and labels per split: the numbers the manifest summary, a training run and
    the data card show. ``names`` are the columns: train, val, test (even when empty), any other
    value, then ``"none"`` when some clips have no split."""

    names: list[str]
    clips: pd.DataFrame  # one row per corpus (in order), then "all"; one column per name
    speakers: pd.DataFrame  # distinct speakers, same shape as ``clips``
    labels: pd.DataFrame  # clips carrying each emotion (rows, the label columns present) per name


def split_summary(clips: pd.DataFrame, split: pd.Series) -> SplitSummary:
    """Count ``clips`` per corpus and split (``split`` aligned as in ``check_speaker_disjoint``)."""
    frame = pd.DataFrame({"corpus": clips["corpus"].astype(str), "speaker": clips["speaker"].astype(str),
                          "split": pd.array(aligned(clips, split), dtype="string")}, index=clips.index)
    frame["split"] = frame["split"].fillna("none")
    present = set(frame["split"])
    names = [*SPLITS, *sorted(present - {*SPLITS, "none"}), *(["none"] if "none" in present else [])]
    rows = [*corpora_in_order(frame["corpus"]), "all"]
    counted, speakers = {}, {}
    for row in rows:
        part = frame if row == "all" else frame[frame["corpus"] == row]
        counted[row] = part["split"].value_counts().reindex(names, fill_value=0)
        speakers[row] = part.groupby("split")["speaker"].nunique().reindex(names, fill_value=0)
    labels = [c for c in LABEL_COLUMNS if c in clips.columns]
    by_split = clips[labels].fillna(0).astype(int).groupby(frame["split"].to_numpy()).sum()
    return SplitSummary(names, pd.DataFrame(counted).T.astype(int), pd.DataFrame(speakers).T.astype(int),
                        by_split.reindex(names, fill_value=0).T.rename(index=lambda c: c.removeprefix("label_")))


def summarize_splits(clips: pd.DataFrame, split: pd.Series, strategy: str | None = "speakers") -> str:
    """A text table for people: clips (share of the corpus) and speakers per split and corpus,
    then clips per emotion per split (share of the split's clips), then a warning for each corpus
    whose val or test holds too few speakers to measure anything (``few_speaker_warnings``)."""
    summary = split_summary(clips, split)
    cells = pd.DataFrame({name: [f"{n} ({_share(n, total)}) / {k} spk" for n, total, k in
                                 zip(summary.clips[name], summary.clips.sum(axis=1), summary.speakers[name])]
                          for name in summary.names}, index=summary.clips.index)
    lines = ["clips (share of the corpus) / speakers per split:", cells.to_string()]
    if len(summary.labels):
        totals = summary.clips.loc["all"]
        table = pd.DataFrame({name: [f"{n} ({_share(n, totals[name])})" for n in summary.labels[name]]
                              for name in summary.names}, index=summary.labels.index)
        lines += ["clips per emotion (share of the split's clips):", table.to_string()]
    return "\n".join(lines + few_speaker_warnings(summary, strategy))


def few_speaker_warnings(summary: SplitSummary, strategy: str | None = "speakers") -> list[str]:
    """One line per trained-on corpus whose val or test split holds fewer than FEW_HELD_OUT_SPEAKERS
    speakers: its scores are then those of one or two voices (12 RAVDESS actors give 1 in val and
    1 in test; 2 TESS speakers give none), and they change with every seed. The line names the tools
    that measure such corpora. Only for the "speakers" split (the manifest's; None: a split read from a
    file): the other strategies are those tools, and keep val small or test empty by design."""
    if strategy not in ("speakers", None):
        return []
    held_out, lines = HELD_OUT_SPLITS, []
    for corpus in summary.clips.index.drop("all"):
        if "train" not in summary.names or not summary.clips.at[corpus, "train"]:
            continue  # not trained on (a held-out corpus): nothing of it is picked or tuned on few voices
        few = {name: int(summary.speakers.at[corpus, name]) for name in held_out
               if name in summary.names and summary.speakers.at[corpus, name] < FEW_HELD_OUT_SPEAKERS}
        if not few:
            continue
        if not any(few.values()):
            what = f"{' and '.join(few)} hold{'s' if len(few) == 1 else ''} none of its speakers: no score measures it"
        else:
            what = (" and ".join(f"{name} holds {n} speaker{'s' if n != 1 else ''}" for name, n in few.items())
                    + f" (fewer than {FEW_HELD_OUT_SPEAKERS}): its scores are a voice or two and swing with the seed")
        lines.append(f"warning: {corpus}: {what}. Measure it with --split-strategy kfold (every speaker tested once; "
                     "`python -m train benchmark` runs every fold and gives the mean and spread) or with "
                     f"--split-strategy leave-one-corpus-out --test-corpus {corpus}")
    return lines


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "-"
