"""RAVDESS: the Ryerson Audio-Visual Database of Emotional Speech and Song.

Layout (Audio_Speech_Actors_01-24.zip, and the song zip, unpacked)::

    Actor_01/03-01-05-01-02-01-01.wav
    ...
    Actor_24/...

Each name is seven two-digit fields: modality (03 = audio only), vocal channel
(01 speech, 02 song), emotion, intensity (01 normal, 02 strong), statement,
repetition, actor (odd = male). Some files are stereo.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from .base import Candidate, Option, Parsed, find_root, has_subdirs, list_wavs

if TYPE_CHECKING:  # the policy asks the registry, which imports this unit
    from .policy import LabelPolicy


NAME = "ravdess"
TITLE = "RAVDESS"
COLOR = "#CC79A7"  # its colour in every figure
LICENSE = "CC BY-NC-SA 4.0"
CITATION = ("Livingstone, S. R., & Russo, F. A. (2018). The Ryerson Audio-Visual Database of Emotional Speech and Song (RAVDESS). PLoS ONE, 13(5), e0196391. https://doi.org/10.1371/journal.pone.0196391")
EXPECTED = "a folder with Actor_01 ... Actor_24 subfolders (Audio_Speech_Actors_01-24.zip unpacked)"
VOTED = False  # one acted emotion per clip
NOISY = False  # studio recordings: the recipe leaves them as they are
COLUMNS = {"statement": "string", "intensity": "string", "repetition": "Int8", "vocal_channel": "string"}
OPTIONS = (
    Option("calm_as_neutral", False, "label RAVDESS 'calm' clips neutral instead of rejecting them"),
    Option("song", False, "keep RAVDESS sung clips (vocal channel 02)"),
)

EMOTION_CODES = {
    "01": "neutral", "02": "calm", "03": "happy", "04": "sad",
    "05": "anger", "06": "fear", "07": "disgust", "08": "surprise",
}
STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
INTENSITIES = {"01": "normal", "02": "strong"}
_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)$")


def locate(path: Path | str) -> Path:
    return find_root(path, NAME, lambda p: has_subdirs(p, "Actor_"), EXPECTED)


def parse(root: Path, policy: LabelPolicy) -> Parsed:
    return Parsed([_parse_file(path, root, policy) for path in list_wavs(root)])


def _parse_file(path: Path, root: Path, policy: LabelPolicy) -> Candidate:
    match = _NAME.match(path.stem)
    if not match or match[3] not in EMOTION_CODES:
        return Candidate(path, reject="name_not_understood",
                         detail="expected 03-CC-EE-II-SS-RR-NN.wav with emotion EE in 01..08")
    modality, channel, emotion, intensity, statement, repetition, actor = match.groups()
    acted = EMOTION_CODES[emotion]
    if acted == "calm" and policy.option(NAME, "calm_as_neutral"):
        acted = "neutral"
    clip = Candidate(
        path,
        sample_id=f"{NAME}/{path.stem}",
        speaker=f"{NAME}:{actor}",
        gender="male" if int(actor) % 2 else "female",
        canonical=path.parent.name == f"Actor_{actor}" and path.parent.parent == root,
        acted=acted,
        fields={
            "vocal_channel": "song" if channel == "02" else "speech",
            "intensity": INTENSITIES.get(intensity, intensity),
            "statement": STATEMENTS.get(statement, statement),
            "repetition": int(repetition),
        },
    )
    if modality != "03":
        clip.reject, clip.detail = "name_not_understood", f"modality {modality} is not audio-only (03)"
    elif channel == "02" and not policy.option(NAME, "song"):
        clip.reject, clip.detail = "not_speech", "vocal channel 02 is song (--ravdess-song keeps it)"
    return clip
