"""The CREMA-D demo forger: ``AudioWAV/<actor>_<sentence>_<EMO>_<level>.wav`` (16 kHz mono 16-bit),
``VideoDemographics.csv`` and ``processedResults/tabulatedVotes.csv`` in the real formats, with
voice-only, face-only and audio-visual vote rows (only the voice-only ones give the labels).

Defects: ``1076_MTI_SAD_XX.wav`` and ``1076_MTI_NEU_XX.wav`` with zero frames (``empty``),
``1064_IEO_DIS_MD.wav`` lasting 60 s (``too_long``), ``1001_DFA_FEA_XX.wav`` that is a git-lfs
pointer (``unreadable``), ``1001_WSI_HAP_XX.wav`` with no vote row (``no_votes``), and clips
with 4+ voted emotions (``too_many_labels``).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from .forge import (Clip, Expected, assign_durations, audio_stream, corpus_rng, expect, label_reason, make_speaker,
                    scaled, write_bytes, write_clips, write_empty_wav)

STREAM = 2  # this forger's stream of the demo seed (forge.corpus_rng); distinct per corpus

CREMA_SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")
CREMA_EMOTIONS = {"ANG": "anger", "DIS": "disgust", "FEA": "fear", "HAP": "happy",
                  "NEU": "neutral", "SAD": "sad"}
VOTE_LETTERS = {"A": "anger", "D": "disgust", "F": "fear", "H": "happy", "N": "neutral", "S": "sad"}
CREMA_ACTORS = tuple(range(1001, 1092))
CREMA_EMPTY = ("1076_MTI_SAD_XX", "1076_MTI_NEU_XX")
CREMA_LONG = "1064_IEO_DIS_MD"
CREMA_LFS = "1001_DFA_FEA_XX"
CREMA_NO_VOTES = "1001_WSI_HAP_XX"
VOTES_HEADER = (
    '"","A","D","F","H","N","S","fileName","numResponses","agreement","emoVote","meanEmoResp",'
    '"meanAngerResp","meanDisgustResp","meanFearResp","meanHappyResp","meanNeutralResp","meanSadResp",'
    '"medianEmoResp","meanEmoRespNorm","meanAngerRespNorm","meanDisgustRespNorm","meanFearRespNorm",'
    '"meanHappyRespNorm","meanNeutralRespNorm","meanSadRespNorm","medianEmoRespNorm"')


def _crema_demographics(rng) -> dict[int, tuple[int, str, str, str]]:
    """(age, sex, race, ethnicity) of all 91 actors: 48 men and 43 women, as in the real table."""
    sexes = rng.permutation(["Male"] * 48 + ["Female"] * 43)
    races = rng.choice(["Caucasian", "African American", "Asian", "Unknown"], 91, p=[0.6, 0.25, 0.1, 0.05])
    hispanic = rng.random(91) < 0.12
    ages = rng.integers(20, 75, 91)
    return {a: (int(ages[i]), str(sexes[i]), str(races[i]), "Hispanic" if hispanic[i] else "Not Hispanic")
            for i, a in enumerate(CREMA_ACTORS)}


def _crema_pick_actors(demo: dict, count: int) -> list[int]:
    """`count` actors alternating men and women; 1064 and 1076 (the defect actors) last."""
    order = [a for a in CREMA_ACTORS if a not in (1064, 1076)] + [1064, 1076]
    men = [a for a in order if demo[a][1] == "Male"]
    women = [a for a in order if demo[a][1] == "Female"]
    picked = [a for pair in zip(men, women) for a in pair] + men[len(women):] + women[len(men):]
    return sorted(picked[:count])


def _crema_names(actors: list[int], sentences: int, all_levels: bool, rng) -> list[str]:
    """Clip names; sentence IEO was recorded at LO/MD/HI intensity, the others unspecified (XX)."""
    names = []
    for actor in actors:
        for sentence in CREMA_SENTENCES[:sentences]:
            for code in CREMA_EMOTIONS:
                if sentence != "IEO" or code == "NEU":
                    levels = ["XX"]
                elif all_levels:
                    levels = ["LO", "MD", "HI"]
                else:
                    levels = [str(rng.choice(["LO", "MD", "HI"]))]
                names += [f"{actor}_{sentence}_{code}_{lv}" for lv in levels]
    return names


def _vote_counts(rng, labels: list[str], favourite: str, total: int) -> dict[str, int]:
    """`total` votes over vote letters, each of `labels` at least 1, `favourite` mostly on top."""
    counts = dict.fromkeys(VOTE_LETTERS, 0)
    for letter in labels:
        counts[letter] = 1
    weights = np.array([0.7 if x == favourite else 0.3 / max(len(labels) - 1, 1) for x in labels])
    for i, extra in enumerate(rng.multinomial(total - len(labels), weights / weights.sum())):
        counts[labels[i]] += int(extra)
    return counts


def _voice_votes(rng, intended: str) -> dict[str, int]:
    """Voice-only votes: 1-3 emotions mostly, sometimes 4 or 5; 4..12 raters."""
    k = int(rng.choice([1, 2, 3, 4, 5], p=[0.45, 0.3, 0.15, 0.07, 0.03]))
    others = [x for x in VOTE_LETTERS if x != intended]
    labels = [intended] + list(rng.choice(others, size=k - 1, replace=False))
    favourite = intended if rng.random() < 0.9 else labels[-1]  # raters sometimes disagree with the actor
    return _vote_counts(rng, labels, favourite, int(rng.integers(max(4, k), 13)))


def _other_votes(rng, voice: dict[str, int], intended: str) -> dict[str, int]:
    """Face-only / audio-visual votes whose emotion set differs from the voice-only one."""
    present = {x for x, c in voice.items() if c}
    flip = str(rng.choice(list(VOTE_LETTERS)))
    if flip in present and len(present) == 1:
        flip = str(rng.choice([x for x in VOTE_LETTERS if x not in present]))
    present ^= {flip}
    labels = sorted(present)
    favourite = intended if intended in present else labels[0]
    return _vote_counts(rng, labels, favourite, int(rng.integers(max(4, len(labels)), 13)))


def _num(x: float) -> str:
    """Numbers as R writes them: 15 significant digits, no trailing zeros."""
    return "%.15g" % x


def _votes_row(rng, row_id: int, name: str, counts: dict[str, int]) -> str:
    total = sum(counts.values())
    top = max(counts.values())
    vote = ":".join(x for x, c in counts.items() if c == top)
    means = [round(rng.uniform(20, 90), 1) if c else -1 for c in counts.values()]
    mean_emo = round(float(np.mean([m for m in means if m != -1])), 1)
    norms = [round(rng.normal(0, 0.5), 6) if c else -1 for c in counts.values()]
    fields = ([f'"{row_id}"'] + [str(c) for c in counts.values()]
              + [f'"{name}"', str(total), _num(top / total), f'"{vote}"', _num(mean_emo)]
              + [_num(m) for m in means] + [_num(round(mean_emo))]
              + [_num(round(rng.normal(0, 0.5), 6))] + [_num(m) for m in norms]
              + [_num(round(rng.normal(0, 0.5), 6))])
    return ",".join(fields)


def write_crema_d(root: Path | str, rng: np.random.Generator, *, actors: int = 4,
                  sentences: int = 2, all_levels: bool = False,
                  seconds_scale: float = 1.0) -> list[Expected]:
    """CREMA-D clips of `actors` actors x `sentences` sentences x 6 emotions.

    91 actors, 12 sentences, all_levels=True gives the full-size grid (7,462
    names; the real archive lacks 20 of them). `root` holds ``AudioWAV``; the
    defect files are always written, replacing grid clips of the same name.
    """
    root, audio = Path(root), audio_stream(rng)
    demo = _crema_demographics(rng)
    picked = _crema_pick_actors(demo, actors)
    names = _crema_names(picked, sentences, all_levels, rng)
    specials = [*CREMA_EMPTY, CREMA_LONG, CREMA_LFS, CREMA_NO_VOTES]
    names = [n for n in names if n not in specials] + specials
    votes = {n: _voice_votes(rng, _crema_letter(n)) for n in names if n != CREMA_NO_VOTES}
    voices = {a: make_speaker(rng, demo[a][1].lower()) for a in sorted({int(n[:4]) for n in names})}
    clips = [_crema_clip(n, votes.get(n), voices, demo) for n in names
             if n not in (*CREMA_EMPTY, CREMA_LFS)]
    assign_durations(rng, clips, seconds_scale)
    _clip_named(clips, CREMA_LONG).seconds = 60.0 * seconds_scale
    expected = write_clips(root, "crema-d", clips, audio)
    expected += _crema_unreadable(root, rng)
    _write_crema_tables(root, rng, names, votes, demo)
    return expected


def _crema_letter(name: str) -> str:
    emotion = CREMA_EMOTIONS[name.split("_")[2]]
    return next(x for x, e in VOTE_LETTERS.items() if e == emotion)


def _clip_named(clips: list[Clip], stem: str) -> Clip:
    return next(c for c in clips if c.rel.endswith(f"/{stem}.wav"))


def _crema_clip(name: str, counts, voices, demo) -> Clip:
    """A clip voiced as the actor's intended emotion, with a bit of the runner-up vote blended in."""
    actor, _, code, level = name.split("_")
    intended = CREMA_EMOTIONS[code]
    gain = {"LO": -2.0, "MD": 0.0, "HI": 2.0, "XX": 0.0}[level]
    clip = Clip(f"AudioWAV/{name}.wav", 16000, 0.0, voices[int(actor)], intended, gain_db=gain,
                 speaker=f"crema-d:{actor}", gender=demo[int(actor)][1].lower())
    if counts is None:
        clip.reason = "no_votes"
        return clip
    clip.labels = tuple(VOTE_LETTERS[x] for x, c in counts.items() if c)
    clip.reason = label_reason(clip.labels)
    runners = sorted(((c, x) for x, c in counts.items() if c and VOTE_LETTERS[x] != intended), reverse=True)
    if runners:
        clip.second = VOTE_LETTERS[runners[0][1]]
        clip.weight = min(0.35, 0.5 * runners[0][0] / max(counts.values()))
    return clip


def _crema_unreadable(root: Path, rng) -> list[Expected]:
    """Zero-frame WAVs and a git-lfs pointer left by a clone without git-lfs."""
    expected = []
    for stem in CREMA_EMPTY:
        write_empty_wav(root / f"AudioWAV/{stem}.wav", 16000)
        expected.append(expect("crema-d", f"AudioWAV/{stem}.wav", "empty"))
    oid = hashlib.sha256(rng.bytes(64)).hexdigest()
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize 84314\n"
    write_bytes(root / f"AudioWAV/{CREMA_LFS}.wav", pointer.encode("ascii"))
    expected.append(expect("crema-d", f"AudioWAV/{CREMA_LFS}.wav", "unreadable"))
    return expected


def _write_crema_tables(root: Path, rng, names: list[str], votes: dict, demo: dict) -> None:
    lines = ['"ActorID","Age","Sex","Race","Ethnicity"']
    lines += [f'{a},{age},"{sex}","{race}","{eth}"' for a, (age, sex, race, eth) in demo.items()]
    write_bytes(root / "VideoDemographics.csv", ("\n".join(lines) + "\n").encode())
    rated = [n for n in names if n in votes]
    other = {q: {n: _other_votes(rng, votes[n], _crema_letter(n)) for n in rated} for q in (2, 3)}
    rows = [VOTES_HEADER]
    for query in (1, 2, 3):  # 1 voice only (the labels), 2 face only, 3 audio-visual
        table = votes if query == 1 else other[query]
        rows += [_votes_row(rng, 100000 * query + i, n, table[n]) for i, n in enumerate(rated, 1)]
    write_bytes(root / "processedResults/tabulatedVotes.csv", ("\n".join(rows) + "\n").encode())


def forge(folder: Path, seed: int, clips_scale: float = 1.0,
          seconds_scale: float = 1.0) -> tuple[Path, list[Expected]]:
    """The demo CREMA-D in `folder` (about 48 x clips_scale clips); returns the root a user passes."""
    rng = corpus_rng(seed, STREAM)
    actors = scaled(4 * clips_scale, 2, 91)
    sentences = scaled(48 * clips_scale / actors / 6, 1, 12)
    return folder, write_crema_d(folder, rng, actors=actors, sentences=sentences, seconds_scale=seconds_scale)
