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
from typing import TYPE_CHECKING

from ..errors import InputError
from .base import Candidate, Parsed, find_root, list_wavs, read_csv_table, whole_number

if TYPE_CHECKING:  # the policy asks the registry, which imports this unit
    from .policy import LabelPolicy


NAME = "crema-d"
TITLE = "CREMA-D"
COLOR = "#E69F00"  # its colour in every figure
LICENSE = "Open Database License (ODbL) 1.0; contents under the Database Contents License 1.0"
CITATION = ("Cao, H., Cooper, D. G., Keutmann, M. K., Gur, R. C., Nenkova, A., & Verma, R. (2014). CREMA-D: Crowd-sourced emotional multimodal actors dataset. IEEE Transactions on Affective Computing, 5(4), 377-390. https://doi.org/10.1109/TAFFC.2014.2336244")
EXPECTED = ("the CREMA-D folder with AudioWAV/ and processedResults/tabulatedVotes.csv "
            "(the official release), or the folder that holds it")
VOTED = True  # labels from raters' votes; the file name's emotion is kept as acted_label
NOISY = True  # the paper judged it noisy by ear: the recipe gates its noise
COLUMNS = {"statement": "string", "intensity": "string", "age": "Int16"}
OPTIONS = ()
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
    candidates = [_parse_file(path, root, votes, people) for path in list_wavs(root)]
    seen = {c.path.stem for c in candidates}
    orphans = sum(1 for name in votes if name not in seen)
    notes = [f"{len(votes)} voice-only vote rows, {orphans} of them without a .wav file"]
    return Parsed(candidates, notes)


def read_voice_votes(path: Path) -> dict[str, tuple[dict[str, int | None], int] | str]:
    """Clip name -> (votes per emotion, number of raters), voice-only rows only; or, for a row
    that cannot be used, why not (with its line number)."""
    table = read_csv_table(path, [*VOTE_COLUMNS, "fileName", "numResponses"], NAME)
    ids = [whole_number(cell) for cell in table[table.columns[0]]]
    bad = next((i for i, row_id in enumerate(ids) if row_id is None), None)
    if bad is not None:
        raise InputError(f"{NAME}: {path} line {bad + 2}: the first column should hold a numeric id "
                          f"(100000 x queryType + clip number), not {table.iat[bad, 0]!r}; fix or delete the row")
    result: dict[str, tuple[dict[str, int | None], int] | str] = {}
    for i, row_id in enumerate(ids):
        name = Path(table.at[i, "fileName"].strip()).stem
        if row_id // 100000 != VOICE_ONLY or name in result:
            continue
        counts = {emotion: whole_number(table.at[i, column]) for column, emotion in VOTE_COLUMNS.items()}
        result[name] = _check_votes(table.iloc[i], counts, whole_number(table.at[i, "numResponses"]),
                                    f"{VOTES_FILE.as_posix()} line {i + 2}")
    if not result:
        raise InputError(f"{NAME}: {path} has no voice-only rows (ids 100001 and up)")
    return result


def _check_votes(row, counts: dict[str, int | None], raters: int | None, where: str):
    """(votes, raters) when the row is usable, else what is wrong with it (``where`` names the line)."""
    for column, emotion in VOTE_COLUMNS.items():
        if counts[emotion] is None:
            return f"{where}: vote {row[column]!r} for {column} is not a whole number"
        if counts[emotion] < 0:
            return f"{where}: negative vote {counts[emotion]} for {column}"
    if raters is None or raters < 1:
        return f"{where}: numResponses {row['numResponses']!r} is not a positive whole number"
    if sum(counts.values()) > raters:
        return f"{where}: {sum(counts.values())} votes but numResponses {raters} (one vote per rater)"
    per_emotion: dict[str, int | None] = dict(counts)
    per_emotion["surprise"] = None  # not offered to CREMA-D raters
    return per_emotion, raters


def _read_demographics(path: Path) -> dict[str, tuple[str | None, int | None]]:
    table = read_csv_table(path, ["ActorID", "Age", "Sex"], NAME)
    people = {}
    for i, (actor, age, sex) in enumerate(zip(table["ActorID"], table["Age"], table["Sex"])):
        years = whole_number(age)
        if age.strip() and years is None:
            raise InputError(f"{NAME}: {path} line {i + 2}: Age {age!r} of actor {actor} is not a whole number; "
                              "correct the cell or leave it empty")
        gender = sex.strip().lower()
        people[actor.strip()] = (gender if gender in ("female", "male") else None, years)
    return people


def _parse_file(path: Path, root: Path, votes: dict, people: dict) -> Candidate:
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
        canonical=path.parent == root / "AudioWAV",
    )
    row = votes.get(path.stem)
    if row is None:
        clip.reject, clip.detail = "no_votes", f"no voice-only row for {path.stem} in {VOTES_FILE.as_posix()}"
    elif isinstance(row, str):
        clip.reject, clip.detail = "malformed_rating", row
    else:
        clip.votes, clip.n_raters = row
    return clip
