"""TESS: the Toronto Emotional Speech Set (two female speakers, 200 words, 7 emotions).

Layout::

    TESS Toronto emotional speech set data/
        OAF_angry/OAF_back_angry.wav
        OAF_Pleasant_surprise/OAF_back_ps.wav
        YAF_pleasant_surprised/YAF_back_ps.wav
        ...

The label and speaker come from the folder, whose spelling varies between
copies (``OAF_Fear``, ``YAF_fear``, ``OAF_Pleasant_surprise``,
``YAF_pleasant_surprised``); file names are less reliable (``OA_bite_neutral.wav``).
Some copies nest a second full tree inside the first: its files get the same
sample ids and are rejected as duplicates.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .base import Candidate, Option, Parsed, find_root, has_subdirs, list_wavs

if TYPE_CHECKING:  # the policy asks the registry, which imports this unit
    from .policy import LabelPolicy


NAME = "tess"
TITLE = "TESS"
COLOR = "#009E73"  # its colour in every figure
LICENSE = "CC BY-NC-ND 4.0"
CITATION = ("Dupuis, K., & Pichora-Fuller, M. K. (2010). Toronto emotional speech set (TESS). University of Toronto, Psychology Department. https://doi.org/10.5683/SP2/E8H2MF")
EXPECTED = ("the folder 'TESS Toronto emotional speech set data' with OAF_<emotion> and "
            "YAF_<emotion> subfolders, or the folder that holds it")
VOTED = False  # one acted emotion per clip
NOISY = False  # studio recordings: the recipe leaves them as they are
COLUMNS = {"word": "string", "age": "Int16"}
OPTIONS = (
    Option("pleasant_surprise_as_happy", False, "label TESS's pleasant surprise clips happy as well as surprise"),
)

FOLDER_EMOTIONS = {
    "angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happy",
    "neutral": "neutral", "sad": "sad",
    "pleasant_surprise": "surprise", "pleasant_surprised": "surprise", "ps": "surprise",
}
# The corpus' own short code per emotion, used in sample ids ("tess/OAF_back_ps").
NATIVE_CODES = {"anger": "angry", "disgust": "disgust", "fear": "fear", "happy": "happy",
                "neutral": "neutral", "sad": "sad", "surprise": "ps"}
SPEAKER_AGES = {"OAF": 64, "YAF": 26}


def locate(path: Path | str) -> Path:
    return find_root(path, NAME, lambda p: has_subdirs(p, "OAF_") or has_subdirs(p, "YAF_"), EXPECTED)


def parse(root: Path, policy: LabelPolicy) -> Parsed:
    # "pleasant surprise" names a valence as well as a surprise: trained as surprise alone, these clips
    # taught a model to hear RAVDESS's happy clips as surprise and the other way round (docs/benchmarks.md)
    both = ("happy", "surprise") if policy.option(NAME, "pleasant_surprise_as_happy") else None
    return Parsed([_parse_file(path, root, both) for path in list_wavs(root)])


def _parse_file(path: Path, root: Path, surprise_labels: tuple[str, ...] | None = None) -> Candidate:
    speaker, _, folder_emotion = path.parent.name.partition("_")
    emotion = FOLDER_EMOTIONS.get(folder_emotion.lower())
    parts = path.stem.split("_")
    if speaker not in SPEAKER_AGES or emotion is None:
        return Candidate(path, reject="name_not_understood",
                         detail="expected inside an OAF_<emotion> or YAF_<emotion> folder")
    if len(parts) < 3:
        return Candidate(path, reject="name_not_understood", detail="expected <speaker>_<word>_<emotion>.wav")
    word = "_".join(parts[1:-1]).lower()
    return Candidate(
        path,
        sample_id=f"{NAME}/{speaker}_{word}_{NATIVE_CODES[emotion]}",
        speaker=f"{NAME}:{speaker}",
        gender="female",
        acted=emotion,
        labels=surprise_labels if emotion == "surprise" else None,
        fields={"word": word, "age": SPEAKER_AGES[speaker]},
        canonical=path.parent.parent == root,  # a nested second tree is a stray copy
    )
