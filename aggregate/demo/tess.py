"""The TESS demo forger: ``OAF_<Emotion>/OAF_<word>_<emo>.wav`` and ``YAF_...``, 24,414 Hz mono 16-bit.

The real folder spellings. Defects: ``OAF_neutral/OA_bite_neutral.wav`` (kept), one
AIFF file under a .wav name (kept), one 96 kHz file (kept),
``YAF_neutral/YAF_chore_neutral.wav`` made of random bytes (``unreadable``), and a
nested copy ``TESS Toronto emotional speech set data/OAF_angry/...`` and
``.../YAF_sad/...`` of a few files (``duplicate``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .forge import (Clip, Expected, assign_durations, audio_stream, corpus_rng, expect, make_speaker, scaled,
                    write_bytes, write_clips)

STREAM = 1  # this forger's stream of the demo seed (forge.corpus_rng); distinct per corpus

TESS_DIR = "TESS Toronto emotional speech set data"
TESS_FOLDERS = {
    "OAF": {"anger": "OAF_angry", "disgust": "OAF_disgust", "fear": "OAF_Fear", "happy": "OAF_happy",
            "neutral": "OAF_neutral", "surprise": "OAF_Pleasant_surprise", "sad": "OAF_Sad"},
    "YAF": {"anger": "YAF_angry", "disgust": "YAF_disgust", "fear": "YAF_fear", "happy": "YAF_happy",
            "neutral": "YAF_neutral", "surprise": "YAF_pleasant_surprised", "sad": "YAF_sad"},
}
TESS_CODES = {"anger": "angry", "disgust": "disgust", "fear": "fear", "happy": "happy",
              "neutral": "neutral", "surprise": "ps", "sad": "sad"}
# Target words of the carrier phrase "Say the word ___" (NU-6 style; real TESS has 200).
TESS_WORDS = tuple("""
back bar base bath bean beg bite boat bone book bought burn cab calm came cause chain chair
chalk chat check cheek chief choice cool dab date dead death deep dime dip ditch dodge dog doll
door fail fall far fat fit five food gap gas gaze germ get gin goal good goose gun half hall
hash hate have haze hire hit hole home hurl hush jail jar join judge jug juice keen keep keg
kick kill king kite knock late laud lean learn lease lid life limb live loaf long lore lose
lot love luck make match merge mess met mill mob mode mood moon mop mouse nag name near neat
nice note numb pad page pain pass pearl peg perch phone pick pike pole pool puff rag raid rain
raise rat reach read red ring ripe road room rose rot rough rush said sail search seize sell
shack shall shawl sheep shirt should shout size soap soup sour south sub such sure take talk
tape team tell thin third thought thumb time tip tire ton tool tough turn vine voice void vote
wag walk wash week wheat when which whip white wife wire witch yearn yes young youth
""".split())
TESS_GARBAGE = "YAF_neutral/YAF_chore_neutral.wav"  # "chore" is not a TESS word


def _tess_words(count: int) -> list[str]:
    extra = [f"word{i:03d}" for i in range(max(0, count - len(TESS_WORDS)))]
    return (list(TESS_WORDS) + extra)[:count]


def write_tess(root: Path | str, rng: np.random.Generator, *, words: int = 4,
               seconds_scale: float = 1.0) -> list[Expected]:
    """TESS: 2 speakers x 7 emotions x `words` words (200 words = the full 2,800).

    `root` is the ``TESS Toronto emotional speech set data`` folder; the nested
    copy and the other defects are always added.
    """
    root, clips, audio = Path(root), [], audio_stream(rng)
    for spk, age in (("OAF", "older"), ("YAF", "adult")):
        voice = make_speaker(rng, "female", age)
        for emotion, folder in TESS_FOLDERS[spk].items():
            for word in _tess_words(words):
                name = f"{spk}_{word}_{TESS_CODES[emotion]}.wav"
                if (spk, emotion, word) == ("OAF", "neutral", "bite"):
                    name = "OA_bite_neutral.wav"  # misnamed in the real archive
                clips.append(Clip(f"{folder}/{name}", 24414, 0.0, voice, emotion, labels=(emotion,),
                                   speaker=f"tess:{spk}", gender="female"))
    if words < 7:  # "bite" not among the words: add the misnamed file anyway
        clips.append(Clip("OAF_neutral/OA_bite_neutral.wav", 24414, 0.0, clips[0].voice, "neutral",
                           labels=("neutral",), speaker="tess:OAF", gender="female"))
    _first(clips, "OAF_happy/").fmt = "AIFF"  # an AIFF file under a .wav name
    _first(clips, "YAF_disgust/").sr = 96000  # one file at 96 kHz
    assign_durations(rng, clips, seconds_scale)
    expected = write_clips(root, "tess", clips, audio)
    write_bytes(root / TESS_GARBAGE, rng.bytes(3000))
    expected.append(expect("tess", TESS_GARBAGE, "unreadable"))
    return expected + _tess_nested_copy(root, expected)


def _first(clips: list[Clip], prefix: str) -> Clip:
    return next(c for c in clips if c.rel.startswith(prefix))


def _tess_nested_copy(root: Path, expected: list[Expected]) -> list[Expected]:
    """The archive holds a second copy of part of the tree one level down."""
    copies = []
    for folder in ("OAF_angry", "YAF_sad"):
        for original in [e for e in expected if e.path.startswith(folder + "/")][:3]:
            rel = f"{TESS_DIR}/{original.path}"
            write_bytes(root / rel, (root / original.path).read_bytes())
            # The copy has the original's defects; if the original is kept, the copy is the duplicate.
            copies.append(expect("tess", rel, "duplicate" if original.kept else original.reason))
    return copies


def forge(folder: Path, seed: int, clips_scale: float = 1.0,
          seconds_scale: float = 1.0) -> tuple[Path, list[Expected]]:
    """The demo TESS in `folder` (about 56 x clips_scale clips); returns the root a user passes."""
    rng = corpus_rng(seed, STREAM)
    root = folder / TESS_DIR
    return root, write_tess(root, rng, words=scaled(4 * clips_scale, 1, 200), seconds_scale=seconds_scale)
