"""The RAVDESS demo forger: ``Actor_NN/03-01-EE-II-SS-RR-NN.wav``, 48 kHz mono 16-bit.

Defects: a few stereo files (kept), calm clips (``label_outside_vocabulary``), one
song file ``Actor_01/03-02-03-01-01-01-01.wav`` (``not_speech``), one badly named
file ``Actor_02/03-01-05-01-01.wav`` (``name_not_understood``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .forge import Clip, Expected, assign_durations, audio_stream, corpus_rng, make_speaker, scaled, write_clips

STREAM = 0  # this forger's stream of the demo seed (forge.corpus_rng); distinct per corpus

RAVDESS_EMOTIONS = {1: "neutral", 2: "calm", 3: "happy", 4: "sad", 5: "anger",
                    6: "fear", 7: "disgust", 8: "surprise"}


def _ravdess_takes(rng, code: int, count: int) -> list[tuple[int, int, int]]:
    """`count` of the (intensity, statement, repetition) takes; neutral has no strong intensity."""
    intensities = (1,) if code == 1 else (1, 2)
    takes = [(i, s, r) for i in intensities for s in (1, 2) for r in (1, 2)]
    pick = rng.choice(len(takes), size=min(count, len(takes)), replace=False)
    return [takes[i] for i in sorted(pick)]


def write_ravdess(root: Path | str, rng: np.random.Generator, *, actors: int = 4,
                  takes_per_emotion: int = 2, calm_takes: int = 1,
                  seconds_scale: float = 1.0) -> list[Expected]:
    """RAVDESS speech files of `actors` actors (24 actors, 8 takes, 8 calm takes = the full 1,440).

    `root` is the folder holding ``Actor_NN``; the defect files are always added.
    """
    root, clips, audio = Path(root), [], audio_stream(rng)
    if actors < 2:
        raise ValueError("RAVDESS needs at least 2 actors (the defects live in Actor_01 and Actor_02)")
    for actor in range(1, actors + 1):
        gender = "male" if actor % 2 else "female"  # odd actors are male
        voice = make_speaker(rng, gender)
        for code, emotion in RAVDESS_EMOTIONS.items():
            count = calm_takes if emotion == "calm" else takes_per_emotion
            for intensity, statement, rep in _ravdess_takes(rng, code, count):
                name = f"03-01-{code:02d}-{intensity:02d}-{statement:02d}-{rep:02d}-{actor:02d}.wav"
                calm = emotion == "calm"
                clips.append(Clip(
                    f"Actor_{actor:02d}/{name}", 48000, 0.0, voice, emotion,
                    labels=() if calm else (emotion,), speaker=f"ravdess:{actor:02d}", gender=gender,
                    reason="label_outside_vocabulary" if calm else None,
                    gain_db=2.0 * (intensity - 1)))  # strong intensity is louder
    kept = [i for i, c in enumerate(clips) if c.reason is None]
    for i in rng.choice(kept, size=min(3, len(kept)), replace=False):
        clips[i].channels = 2  # a few files were exported as stereo
    voices = {c.speaker: c.voice for c in clips}
    clips.append(Clip("Actor_01/03-02-03-01-01-01-01.wav", 48000, 0.0, voices["ravdess:01"],
                       "happy", reason="not_speech"))  # from the song archive
    clips.append(Clip("Actor_02/03-01-05-01-01.wav", 48000, 0.0, voices["ravdess:02"],
                       "anger", reason="name_not_understood"))  # fields missing
    assign_durations(rng, clips, seconds_scale)
    return write_clips(root, "ravdess", clips, audio)


def forge(folder: Path, seed: int, clips_scale: float = 1.0,
          seconds_scale: float = 1.0) -> tuple[Path, list[Expected]]:
    """The demo RAVDESS in `folder` (about 60 x clips_scale clips); returns the root a user passes."""
    rng = corpus_rng(seed, STREAM)
    actors = scaled(4 * clips_scale, 2, 24)
    takes = scaled(60 * clips_scale / actors / 7.5, 1, 8)
    return folder, write_ravdess(folder, rng, actors=actors, takes_per_emotion=takes, seconds_scale=seconds_scale)
