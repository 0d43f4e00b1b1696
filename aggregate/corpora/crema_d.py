"""CREMA-D: the Crowd-sourced Emotional Multimodal Actors Dataset (91 actors).

Layout (the official repository, cloned with git-lfs)::

    CREMA-D/
        AudioWAV/1001_DFA_ANG_XX.wav          <actor>_<sentence>_<emotion>_<level>
        processedResults/tabulatedVotes.csv
        VideoDemographics.csv

Labels come from the raters, not the file name: the voice-only rows of
``tabulatedVotes.csv`` (first column = 100000 x queryType + clip number,
queryType 1 = voice only) count votes for six emotions (CREMA-D has no surprise).
The intended emotion of the file name is kept as ``acted_label``.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..emotions import LabelPolicy
from ..errors import InputError
from .base import Candidate, Parsed, find_root, list_wavs, read_csv_table

NAME = "crema-d"
TITLE = "CREMA-D"
COLOR = "#E69F00"  # its colour in every figure
LICENSE = "Open Database License (ODbL) 1.0; contents under the Database Contents License 1.0"
CITATION = ("Cao, H., Cooper, D. G., Keutmann, M. K., Gur, R. C., Nenkova, A., & Verma, R. (2014). CREMA-D: Crowd-sourced emotional multimodal actors dataset. IEEE Transactions on Affective Computing, 5(4), 377-390. https://doi.org/10.1109/TAFFC.2014.2336244")
EXPECTED = ("the CREMA-D folder with AudioWAV/ and processedResults/tabulatedVotes.csv "
            "(the official release), or the folder that holds it")
VOTES_FILE = Path("processedResults", "tabulatedVotes.csv")
DEMOGRAPHICS_FILE = Path("VideoDemographics.csv")

VOTE_COLUMNS = {"A": "anger", "D": "disgust", "F": "fear", "H": "happy", "N": "neutral", "S": "sad"}
EMOTION_CODES = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}
LEVELS = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
STATEMENTS = {
    "IEO": "It's eleven o'clock", "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting", "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full", "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock", "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket", "ITS": "I think I've seen this before",
    "TSI": "The surface is slick", "WSI": "We'll stop in a couple of minutes",
}
VOICE_ONLY = 1
_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")


def locate(path: Path | str) -> Path:
    return find_root(path, NAME, lambda p: (p / "AudioWAV").is_dir(), EXPECTED)


def parse(root: Path, policy: LabelPolicy) -> Parsed:
    votes = read_voice_votes(root / VOTES_FILE)
    people = _read_demographics(root / DEMOGRAPHICS_FILE)
    candidates = [_parse_file(path, votes, people) for path in list_wavs(root)]
    seen = {c.path.stem for c in candidates}
    orphans = sum(1 for name in votes if name not in seen)
    notes = [f"{len(votes)} voice-only vote rows, {orphans} of them without a .wav file"]
    return Parsed(candidates, notes)


def read_voice_votes(path: Path) -> dict[str, tuple[dict[str, int | None], int]]:
    """Clip name -> (votes per emotion, number of raters), voice-only rows only."""
    table = read_csv_table(path, [*VOTE_COLUMNS, "fileName", "numResponses"], NAME)
    try:
        query_type = table[table.columns[0]].astype("int64") // 100000
    except (ValueError, TypeError):
        raise InputError(f"{NAME}: the first column of {path} should hold numeric ids "
                          "(100000 x queryType + clip number)") from None
    voice = table[query_type == VOICE_ONLY].drop_duplicates("fileName")
    if voice.empty:
        raise InputError(f"{NAME}: {path} has no voice-only rows (ids 100001 and up)")
    counts = voice[list(VOTE_COLUMNS)].fillna(0).astype(int).to_numpy()
    raters = voice["numResponses"].fillna(0).astype(int).to_numpy()
    result = {}
    for name, row, n in zip(voice["fileName"].astype(str), counts, raters):
        per_emotion: dict[str, int | None] = {e: int(v) for e, v in zip(VOTE_COLUMNS.values(), row)}
        per_emotion["surprise"] = None  # not offered to CREMA-D raters
        result[Path(name).stem] = (per_emotion, int(n))
    return result


def _read_demographics(path: Path) -> dict[str, tuple[str | None, int | None]]:
    table = read_csv_table(path, ["ActorID", "Age", "Sex"], NAME)
    people = {}
    for actor, age, sex in zip(table["ActorID"], table["Age"], table["Sex"]):
        gender = str(sex).strip().lower()
        people[str(actor)] = (gender if gender in ("female", "male") else None,
                              int(age) if age == age else None)
    return people


def _parse_file(path: Path, votes: dict, people: dict) -> Candidate:
    match = _NAME.match(path.stem)
    if not match:
        return Candidate(path, reject="name_not_understood",
                         detail="expected <actor>_<sentence>_<emotion>_<level>.wav")
    actor, sentence, emotion, level = match.groups()
    gender, age = people.get(actor, (None, None))
    clip = Candidate(
        path,
        sample_id=f"{NAME}/{path.stem}",
        speaker=f"{NAME}:{actor}",
        gender=gender,
        acted=EMOTION_CODES.get(emotion, emotion.lower()),
        fields={"statement": STATEMENTS.get(sentence, sentence),
                "intensity": LEVELS.get(level, level), "age": age},
    )
    if path.stem in votes:
        clip.votes, clip.n_raters = votes[path.stem]
    else:
        clip.reject, clip.detail = "no_votes", f"no voice-only row for {path.stem} in {VOTES_FILE}"
    return clip
