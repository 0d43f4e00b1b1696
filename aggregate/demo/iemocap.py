"""The IEMOCAP demo forger: ``Session{n}/sentences/wav/<dialog>/<turn>.wav`` (16 kHz mono 16-bit),
``Session{n}/dialog/EmoEvaluation/<dialog>.txt`` in the real format and
``Session{n}/dialog/wav/<dialog>.wav`` (stereo, ``not_a_clip``).

Defects: AppleDouble twins ``EmoEvaluation/._<dialog>.txt`` (junk, not label files), one
``._<turn>.wav`` twin (``unreadable``), self-evaluations that disagree with the external
evaluators, a turn rated only Frustration/Other (``label_outside_vocabulary``), a turn with
4+ emotions (``too_many_labels``) and a turn with no evaluation block (``no_votes``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .forge import (Clip, Expected, apple_double, audio_stream, corpus_rng, durations, expect, in_vocabulary_order,
                    label_reason, make_speaker, scaled, write_bytes, write_clip, write_clips)

STREAM = 3  # this forger's stream of the demo seed (forge.corpus_rng); distinct per corpus

IEMOCAP_WORDS = {  # evaluator word -> vocabulary emotion (None: outside the vocabulary)
    "Neutral": "neutral", "Anger": "anger", "Frustration": None, "Sadness": "sad",
    "Happiness": "happy", "Excited": "happy", "Surprise": "surprise", "Fear": "fear",
    "Disgust": "disgust", "Other": None,
}
IEMOCAP_CODES = {"Neutral": "neu", "Anger": "ang", "Frustration": "fru", "Sadness": "sad",
                 "Happiness": "hap", "Excited": "exc", "Surprise": "sur", "Fear": "fea",
                 "Disgust": "dis", "Other": "oth"}
# How often each word is a turn's main category (roughly IEMOCAP's mix, rare ones boosted).
IEMOCAP_MAIN = {"Neutral": 0.2, "Anger": 0.14, "Sadness": 0.14, "Happiness": 0.08, "Excited": 0.08,
                "Frustration": 0.12, "Surprise": 0.09, "Fear": 0.08, "Disgust": 0.07}
VAD = {"neutral": (3.0, 2.5, 2.5), "anger": (1.8, 4.0, 4.0), "disgust": (2.0, 3.0, 3.5),
       "fear": (2.0, 3.8, 2.0), "happy": (4.0, 3.5, 3.0), "sad": (1.8, 2.0, 2.0),
       "surprise": (3.5, 4.0, 3.0), "frustration": (2.0, 3.3, 3.2), "other": (3.0, 3.0, 3.0)}
COMMENTS = ("()", "()", "()", "(curious)", "(mildly aggravated but staying polite, attitude)",
            "(sarcastic)", "(tired)")
_DIALOG_BASES = ("impro01", "script02_2", "impro02", "script01_1", "impro03", "script01_2",
                 "impro04", "script01_3", "impro05", "script02_1", "impro06", "script03_1",
                 "impro07", "script03_2", "impro08")


@dataclass
class _Turn:
    """One speaker turn of a dialog: its wav and its block in the evaluation file."""
    name: str
    letter: str  # "F" or "M": who speaks (the last part of the turn name)
    start: float
    seconds: float
    externals: list[tuple[int, list[str]]]  # (evaluator number, words)
    selfs: list[tuple[str, list[str]]]  # ("F1" / "M1", words): ignored by the policy
    voice_emotion: str
    second: str | None = None
    rated: bool = True  # False: no block in the evaluation file


def _dialog_names(session: int, count: int) -> list[str]:
    """Dialogs alternate the actor who leads (F/M prefix); each script/improvisation has both."""
    first = ["FM"[(i // 2) % 2] for i in range(len(_DIALOG_BASES))]
    names = [f"Ses{session:02d}{letter}_{base}" for letter, base in zip(first, _DIALOG_BASES)]
    names += [f"Ses{session:02d}{'FM'[letter == 'F']}_{base}" for letter, base in zip(first, _DIALOG_BASES)]
    return names[:count]


def _evaluations(rng, main: str, pool: list[int]) -> list[tuple[int, list[str]]]:
    """External evaluators' words: mostly the main category, plus 0-2 other emotions."""
    vocab_words = [w for w, e in IEMOCAP_WORDS.items() if e and e != IEMOCAP_WORDS[main] and w != "Excited"]
    k = int(rng.choice([0, 1, 2], p=[0.55, 0.3, 0.15]))
    if main == "Frustration":  # keep frustration turns mostly labelled (as anger/sadness/neutral)
        k, vocab_words = max(k, 1), ["Anger", "Sadness", "Neutral"]
    extras = list(rng.choice(vocab_words, size=min(k, len(vocab_words)), replace=False))
    raters = [[main] if rng.random() < 0.85 else [] for _ in pool]
    for word in extras:
        raters[int(rng.integers(len(raters)))].append(str(word))
    for words in raters:
        if not words:
            words.append(main)
        if main in ("Happiness", "Excited") and rng.random() < 0.3:
            words[:] = ["Happiness", "Excited"]  # two words, one emotion: counts once
        elif rng.random() < 0.12 and "Frustration" not in words:
            words.append("Frustration")
    return list(zip(pool, raters))


def _labels_of(externals) -> tuple[str, ...]:
    return in_vocabulary_order(IEMOCAP_WORDS[w] for _, words in externals for w in words if IEMOCAP_WORDS[w])


def _voice_of(main: str) -> str:
    return IEMOCAP_WORDS[main] or main.lower()


def _make_turns(rng, dialog: str, count: int, pool: list[int]) -> list[_Turn]:
    """Turns alternate F/M, numbered per speaker, with evaluations drawn per turn."""
    turns, counters = [], {"F": 0, "M": 0}
    lead = dialog[5]  # the actor wearing the markers speaks first
    for i in range(count):
        letter = lead if i % 2 == 0 else "FM"[lead == "F"]
        name = f"{dialog}_{letter}{counters[letter]:03d}"
        counters[letter] += 1
        main = str(rng.choice(list(IEMOCAP_MAIN), p=list(IEMOCAP_MAIN.values())))
        raters = list(rng.choice(pool, size=3, replace=False)) if len(pool) > 3 and rng.random() < 0.5 else pool
        externals = _evaluations(rng, main, sorted(int(r) for r in raters))
        selfs = []
        if rng.random() < 0.4:  # actors rated some of their own turns, often differently
            word = main if rng.random() < 0.5 else str(rng.choice(list(IEMOCAP_WORDS)))
            selfs.append((f"{letter}1", [word]))
        labels = _labels_of(externals)
        second = next((e for e in labels if e != IEMOCAP_WORDS[main]), None)
        turns.append(_Turn(name, letter, 0.0, 0.0, externals, selfs, _voice_of(main), second))
    return turns


def _special_turns(turns_by_dialog: list[list[_Turn]], session: int) -> None:
    """Turns the default policy must handle in a specific way (first session)."""
    if session != 1:
        return
    first, second = turns_by_dialog[0], turns_by_dialog[1]
    turn = first[1]  # externals: Neutral; the actor says Fear (must be ignored)
    turn.externals = [(e, ["Neutral"]) for e, _ in turn.externals]
    turn.selfs = [(f"{turn.letter}1", ["Fear"]), ("FM"[turn.letter == "F"] + "1", ["Fear", "Surprise"])]
    turn.voice_emotion, turn.second = "neutral", None
    turn = first[2]  # only outside-vocabulary words, even though the actor says Anger
    turn.externals = [(e, [w]) for (e, _), w in zip(turn.externals, ["Frustration", "Other", "Frustration", "Other"])]
    turn.selfs = [(f"{turn.letter}1", ["Anger"])]
    turn.voice_emotion, turn.second = "frustration", None
    turn = second[0]  # five emotions named across evaluators
    words = [["Anger", "Frustration"], ["Sadness", "Fear"], ["Disgust", "Neutral"], ["Anger"]]
    turn.externals = [(e, w) for (e, _), w in zip(turn.externals, words)]
    turn.voice_emotion, turn.second = "anger", "sad"


def _block(rng, turn: _Turn, dims_pool: list[int]) -> str:
    """One evaluation block, formatted like the real EmoEvaluation files (tab separated)."""
    counts: dict[str, int] = {}
    for _, words in turn.externals:
        for w in words:
            counts[w] = counts.get(w, 0) + 1
    best = max(counts, key=lambda w: (counts[w], -list(IEMOCAP_WORDS).index(w)))
    code = IEMOCAP_CODES[best] if counts[best] * 2 > len(turn.externals) else "xxx"
    vad = np.clip(np.array(VAD[turn.voice_emotion]) + rng.normal(0, 0.3, 3), 1, 5)
    vad = np.round(vad * 2) / 2
    lines = [f"[{turn.start:.4f} - {turn.start + turn.seconds:.4f}]\t{turn.name}\t{code}\t"
             f"[{vad[0]:.4f}, {vad[1]:.4f}, {vad[2]:.4f}]"]
    for who, words in [(f"E{e}", w) for e, w in turn.externals] + list(turn.selfs):
        lines.append(f"C-{who}:\t" + " ".join(f"{w};" for w in words) + f"\t{rng.choice(COMMENTS)}")
    for who in [f"E{e}" for e in dims_pool] + [f"{turn.letter}1"]:
        v, a, d = np.clip(np.round(vad + rng.normal(0, 0.7, 3)), 1, 5).astype(int)
        lines.append(f"A-{who}:\tval {v}; act {a}; dom  {d};\t{rng.choice(COMMENTS)}")
    return "\n".join(lines)


def _write_evaluation(path: Path, rng, turns: list[_Turn], dims_pool: list[int]) -> None:
    blocks = [_block(rng, t, dims_pool) for t in sorted(turns, key=lambda t: t.start) if t.rated]
    text = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n" + "\n\n".join(blocks) + "\n\n"
    write_bytes(path, text.encode("ascii"))


def _turnexpect(turn: _Turn, session: int) -> tuple[tuple[str, ...], str | None, str, str]:
    """(labels, reason, speaker, gender): the speaker is the letter of the turn, not of the dialog."""
    labels = _labels_of(turn.externals)
    reason = label_reason(labels) if turn.rated else "no_votes"
    return labels, reason, f"iemocap:Ses{session:02d}{turn.letter}", "female" if turn.letter == "F" else "male"


def write_iemocap(root: Path | str, rng: np.random.Generator, *, sessions: int = 2,
                  dialogs_per_session: int = 3, turns_per_dialog: int = 8,
                  seconds_scale: float = 1.0) -> list[Expected]:
    """IEMOCAP: `sessions` x `dialogs_per_session` x `turns_per_dialog` turns
    (5 x 30 x 67 ~ the full 10,000). `root` is ``IEMOCAP_full_release``."""
    root, expected, audio = Path(root), [], audio_stream(rng)
    if sessions < 2 or dialogs_per_session < 2 or turns_per_dialog < 3:
        raise ValueError("IEMOCAP needs >= 2 sessions, 2 dialogs per session and 3 turns per dialog")
    for session in range(1, sessions + 1):
        voices = {"F": make_speaker(rng, "female"), "M": make_speaker(rng, "male")}
        dialogs = _dialog_names(session, dialogs_per_session)
        pools = [sorted(int(e) for e in rng.choice(np.arange(1, 7), size=int(rng.integers(3, 5)), replace=False))
                 for _ in dialogs]
        turns = [_make_turns(rng, d, turns_per_dialog, pool) for d, pool in zip(dialogs, pools)]
        _special_turns(turns, session)
        if session == sessions:  # a turn whose block is missing from the evaluation file
            last = turns[-1][-1]
            nxt = int(last.name[-3:]) + 1
            turns[-1].append(_Turn(f"{last.name[:-3]}{nxt:03d}", last.letter, 0.0, 0.0,
                                   [], [], "neutral", rated=False))
        for dialog, dialog_turns, pool in zip(dialogs, turns, pools):
            expected += _write_dialog(root, rng, audio, session, dialog, dialog_turns, pool, voices,
                                      seconds_scale)
    return expected


def _write_dialog(root: Path, rng, audio, session: int, dialog: str, turns: list[_Turn], pool: list[int],
                  voices: dict, seconds_scale: float) -> list[Expected]:
    base = root / f"Session{session}"
    lengths = durations(rng, len(turns), seconds_scale)
    clips, t = [], rng.uniform(1.0, 8.0) * seconds_scale
    for turn, seconds in zip(turns, lengths):
        turn.start, turn.seconds = t, float(seconds)
        t += turn.seconds + rng.uniform(0.3, 3.0) * seconds_scale
        rel = f"Session{session}/sentences/wav/{dialog}/{turn.name}.wav"
        labels, reason, speaker, gender = _turnexpect(turn, session)
        clips.append(Clip(rel, 16000, turn.seconds, voices[turn.letter], turn.voice_emotion,
                           turn.second, 0.25 if turn.second else 0.0, labels, speaker, gender, reason))
    expected = write_clips(root, "iemocap", clips, audio)
    _write_evaluation(base / f"dialog/EmoEvaluation/{dialog}.txt", rng, turns, pool[:2])
    write_bytes(base / f"dialog/EmoEvaluation/._{dialog}.txt", apple_double(rng))
    # The whole dialog recording (stereo, one channel per actor); short here.
    full = Clip(f"Session{session}/dialog/wav/{dialog}.wav", 16000, 1.0 * seconds_scale, voices[dialog[5]],
                 "neutral", reason="not_a_clip", channels=2)
    expected.append(write_clip(root, "iemocap", full, audio))
    if dialog == "Ses01F_impro01":  # a macOS twin of a turn
        rel = f"Session{session}/sentences/wav/{dialog}/._{turns[0].name}.wav"
        write_bytes(root / rel, apple_double(rng))
        expected.append(expect("iemocap", rel, "unreadable"))
    return expected


def forge(folder: Path, seed: int, clips_scale: float = 1.0,
          seconds_scale: float = 1.0) -> tuple[Path, list[Expected]]:
    """The demo IEMOCAP in `folder` (about 48 x clips_scale turns); returns the root a user passes."""
    rng = corpus_rng(seed, STREAM)
    sessions, dialogs = scaled(2 * clips_scale, 2, 5), scaled(3 * clips_scale ** 0.5, 2, 30)
    turns = scaled(48 * clips_scale / (sessions * dialogs), 3, 150)
    root = folder / "IEMOCAP_full_release"
    return root, write_iemocap(root, rng, sessions=sessions, dialogs_per_session=dialogs, turns_per_dialog=turns,
                               seconds_scale=seconds_scale)
