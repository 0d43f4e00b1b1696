"""IEMOCAP: the Interactive Emotional Dyadic Motion Capture database (5 sessions, 10 actors).

Layout (IEMOCAP_full_release.tar.gz unpacked)::

    IEMOCAP_full_release/
        Session1/dialog/EmoEvaluation/Ses01F_impro01.txt     one block per turn
        Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav
        Session1/dialog/wav/Ses01F_impro01.wav               whole dialog: not a clip

An evaluation block::

    [6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5000, 2.5000, 2.5000]
    C-E2:<TAB>Neutral; Anger;<TAB>(comment)     external evaluator: one vote per category
    C-F1:<TAB>Neutral;<TAB>()                   the actor's self-evaluation
    A-E3:<TAB>val 3; act 2; dom  2;<TAB>()      dimensional rating

The speaker of a turn is the session plus the F/M letter of the turn's last
part: ``Ses01F_script02_2_M000`` is spoken by the male actor of session 1.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..emotions import EMOTIONS, LabelPolicy
from .base import Candidate, Parsed, find_root, has_subdirs, list_wavs

NAME = "iemocap"
TITLE = "IEMOCAP"
COLOR = "#0072B2"  # its colour in every figure
LICENSE = "IEMOCAP release agreement (USC SAIL): research use only, no redistribution"
CITATION = ("Busso, C., Bulut, M., Lee, C.-C., Kazemzadeh, A., Mower, E., Kim, S., Chang, J. N., Lee, S., & Narayanan, S. S. (2008). IEMOCAP: Interactive emotional dyadic motion capture database. Language Resources and Evaluation, 42(4), 335-359. https://doi.org/10.1007/s10579-008-9076-6")
EXPECTED = "the folder IEMOCAP_full_release with Session1 ... Session5 subfolders, or the folder that holds it"

CATEGORIES = {
    "neutral": "neutral", "anger": "anger", "sadness": "sad", "happiness": "happy",
    "surprise": "surprise", "fear": "fear", "disgust": "disgust",
    "excited": "happy",  # unless the policy says otherwise
    "frustration": None, "other": None,
}
_HEADER = re.compile(r"^\[\s*([\d.]+)\s*-\s*([\d.]+)\s*\]\s+(\S+)\s+(\S+)\s+\[([^\]]*)\]")
_CATEGORICAL = re.compile(r"^C-([A-Za-z]+)\d*:\s*(.*)$")
_TURN = re.compile(r"^Ses(\d\d)[FM]_(.+)_([FM])\d+[a-z]?$")


def locate(path: Path | str) -> Path:
    return find_root(path, NAME, lambda p: has_subdirs(p, "Session"), EXPECTED)


def parse(root: Path, policy: LabelPolicy) -> Parsed:
    blocks: dict[str, dict] = {}
    for text_file in sorted(root.glob("Session*/dialog/EmoEvaluation/*.txt")):
        if not text_file.name.startswith("."):  # macOS "._" twins are not label files
            for turn, block in _read_evaluation(text_file).items():
                blocks.setdefault(turn, block)
    candidates = [_parse_file(path, root, blocks, policy) for path in list_wavs(root)]
    heard = {c.path.stem for c in candidates}
    unheard = sum(1 for turn in blocks if turn not in heard)
    notes = [f"{len(blocks)} rated turns, {unheard} of them without a .wav file"]
    return Parsed(candidates, notes)


def _read_evaluation(path: Path) -> dict[str, dict]:
    blocks: dict[str, dict] = {}
    block = None
    for line in path.read_text(encoding="latin-1").splitlines():
        header = _HEADER.match(line)
        if header:
            start, end, turn, consensus, vad = header.groups()
            block = {"start": float(start), "end": float(end), "consensus": consensus,
                     "vad": _floats(vad), "ratings": []}
            blocks[turn] = block
            continue
        rating = _CATEGORICAL.match(line.strip())
        if block is not None and rating:
            rater, text = rating.groups()
            words = text.split("(")[0].split(";")  # "Neutral; Anger;\t(comment)"
            block["ratings"].append((rater.upper(), [w.split(":")[0].strip().lower() for w in words if w.strip()]))
    return blocks


def _floats(text: str) -> list[float | None]:
    values = []
    for part in text.split(","):
        try:
            values.append(float(part))
        except ValueError:
            values.append(None)
    return (values + [None, None, None])[:3]


def _votes(ratings: list, policy: LabelPolicy) -> tuple[dict[str, int], int]:
    """Votes per emotion: how many raters named it (twice by one rater counts once)."""
    categories = dict(CATEGORIES, excited="happy" if policy.iemocap_excited_as_happy else None)
    votes = dict.fromkeys(EMOTIONS, 0)
    raters = 0
    for rater, words in ratings:
        if rater != "E" and not policy.iemocap_self_evaluations:
            continue
        raters += 1
        named = {categories.get(w.split(" ")[0]) for w in words}  # "neutral state" -> neutral
        for emotion in named - {None}:
            votes[emotion] += 1
    return votes, raters


def _parse_file(path: Path, root: Path, blocks: dict, policy: LabelPolicy) -> Candidate:
    relative = path.relative_to(root).parts
    if len(relative) < 3 or relative[1:3] != ("sentences", "wav"):
        return Candidate(path, reject="not_a_clip", detail="only Session*/sentences/wav/ holds turn clips")
    match = _TURN.match(path.stem)
    if not match:
        return Candidate(path, reject="name_not_understood", detail="expected Ses<NN><F|M>_<dialog>_<F|M><NNN>.wav")
    session, _, letter = match.groups()
    dialog = path.stem.rsplit("_", 1)[0]
    clip = Candidate(
        path,
        sample_id=f"{NAME}/{path.stem}",
        speaker=f"{NAME}:Ses{session}{letter}",
        gender="female" if letter == "F" else "male",
        fields={"session": int(session), "dialog": dialog,
                "mode": "scripted" if "_script" in dialog else "improvised"},
    )
    block = blocks.get(path.stem)
    if block is None:
        clip.reject, clip.detail = "no_votes", "no block for this turn in dialog/EmoEvaluation/*.txt"
        return clip
    clip.votes, clip.n_raters = _votes(block["ratings"], policy)
    valence, arousal, dominance = block["vad"]
    clip.fields.update(consensus_label=block["consensus"], start=block["start"], end=block["end"],
                       valence=valence, arousal=arousal, dominance=dominance)
    if clip.n_raters == 0:
        clip.reject, clip.detail = "no_votes", "the turn has no categorical rating by an external evaluator"
    return clip
