"""Small, deterministic demo corpora in the native layouts of the four corpora.

The demo and the tests must run without the real IEMOCAP, CREMA-D, TESS and
RAVDESS archives, so this module writes look-alikes: the same folder layouts,
file names, sample rates and label files as the real archives unpack, the
defects the real archives are known to have, and synthetic speech-like audio
whose pitch, pitch movement, speaking rate, loudness and brightness depend on
the emotion (see ``VOICE``), so that a small CNN on log-mel spectrograms can
learn the seven emotions from it.

What ``write_demo_corpora(out_dir)`` writes (roots as a user would pass them):

``out_dir/ravdess`` (root)
    ``Actor_NN/03-01-EE-II-SS-RR-NN.wav``, 48 kHz mono 16-bit. Defects: a few
    stereo files (kept), calm clips (``label_outside_vocabulary``), one song
    file ``Actor_01/03-02-03-01-01-01-01.wav`` (``not_speech``), one badly
    named file ``Actor_02/03-01-05-01-01.wav`` (``name_not_understood``).
``out_dir/tess/TESS Toronto emotional speech set data`` (root)
    ``OAF_<Emotion>/OAF_<word>_<emo>.wav`` and ``YAF_...``, 24,414 Hz mono
    16-bit, the real folder spellings. Defects: ``OAF_neutral/OA_bite_neutral.wav``
    (kept), one AIFF file under a .wav name (kept), one 96 kHz file (kept),
    ``YAF_neutral/YAF_chore_neutral.wav`` made of random bytes (``unreadable``),
    and a nested copy ``TESS Toronto emotional speech set data/OAF_angry/...``
    and ``.../YAF_sad/...`` of a few files (``duplicate``).
``out_dir/crema-d`` (root)
    ``AudioWAV/<actor>_<sentence>_<EMO>_<level>.wav`` (16 kHz mono 16-bit),
    ``VideoDemographics.csv`` and ``processedResults/tabulatedVotes.csv`` in
    the real formats, with voice-only, face-only and audio-visual vote rows
    (only the voice-only ones give the labels). Defects:
    ``1076_MTI_SAD_XX.wav`` and ``1076_MTI_NEU_XX.wav`` with zero frames
    (``empty``), ``1064_IEO_DIS_MD.wav`` lasting 60 s (``too_long``),
    ``1001_DFA_FEA_XX.wav`` that is a git-lfs pointer (``unreadable``),
    ``1001_WSI_HAP_XX.wav`` with no vote row (``no_votes``), and clips with
    4+ voted emotions (``too_many_labels``).
``out_dir/iemocap/IEMOCAP_full_release`` (root)
    ``Session{n}/sentences/wav/<dialog>/<turn>.wav`` (16 kHz mono 16-bit),
    ``Session{n}/dialog/EmoEvaluation/<dialog>.txt`` in the real format and
    ``Session{n}/dialog/wav/<dialog>.wav`` (stereo, ``not_a_clip``). Defects:
    AppleDouble twins ``EmoEvaluation/._<dialog>.txt`` (junk, not label files),
    one ``._<turn>.wav`` twin (``unreadable``), self-evaluations that disagree
    with the external evaluators, a turn rated only Frustration/Other
    (``label_outside_vocabulary``), a turn with 4+ emotions
    (``too_many_labels``) and a turn with no evaluation block (``no_votes``).

``DemoCorpora.expected`` says, for every .wav written, what the default label
policy must make of it. Everything is drawn from ``numpy`` generators seeded
from ``seed``, so the same seed gives byte-identical files.

Run ``python -m aggregate.synth OUT_DIR`` to write the demo corpora.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .emotions import EMOTIONS
from .errors import InputError

# ---------------------------------------------------------------------------
# Voice parameters per emotion, relative to the speaker's own voice.
#   f0      pitch multiplier              range   pitch accent size (semitones)
#   slope   declination over the clip     rise    final rise (semitones; questions, surprise)
#   rate    syllables per second          pause   pause between words (s at rate 4)
#   loud    level (dB)                    tilt    extra spectral slope (dB/octave; higher = brighter)
#   breath  aspiration noise ratio        tremor  6 Hz pitch tremor (semitones)
#   jitter  irregular pitch wobble (semitones; creaky/harsh voice)
# The values follow the usual acoustic profiles of acted emotions: anger is
# loud, bright and fast; sadness low, slow, quiet and dark; fear high, fast,
# breathy and trembling; happiness high with wide melodic accents; surprise
# high with a strong final rise; disgust low, slow, breathy and creaky.
# "calm" (RAVDESS), "frustration" and "other" (IEMOCAP) are blends, see BLENDS.
# ---------------------------------------------------------------------------
VOICE: dict[str, dict[str, float]] = {
    #           f0    range slope rise rate pause loud  tilt  breath tremor jitter
    "neutral":  dict(f0=1.00, range=1.5, slope=-1.5, rise=0.0, rate=4.0, pause=0.15,
                     loud=0.0, tilt=-4.0, breath=0.04, tremor=0.0, jitter=0.10),
    "anger":    dict(f0=1.25, range=3.0, slope=-1.0, rise=0.0, rate=5.0, pause=0.08,
                     loud=7.0, tilt=1.0, breath=0.10, tremor=0.0, jitter=0.40),
    "disgust":  dict(f0=0.88, range=2.5, slope=-3.0, rise=0.0, rate=3.0, pause=0.25,
                     loud=-1.0, tilt=-5.0, breath=0.25, tremor=0.0, jitter=0.80),
    "fear":     dict(f0=1.45, range=2.0, slope=1.0, rise=0.0, rate=5.8, pause=0.10,
                     loud=-3.0, tilt=-3.0, breath=0.30, tremor=0.8, jitter=0.30),
    "happy":    dict(f0=1.30, range=6.0, slope=0.0, rise=1.0, rate=4.6, pause=0.12,
                     loud=3.0, tilt=-1.5, breath=0.05, tremor=0.0, jitter=0.10),
    "sad":      dict(f0=0.85, range=1.0, slope=-3.0, rise=0.0, rate=2.6, pause=0.35,
                     loud=-7.0, tilt=-8.0, breath=0.15, tremor=0.2, jitter=0.20),
    "surprise": dict(f0=1.45, range=4.0, slope=1.0, rise=7.0, rate=4.0, pause=0.15,
                     loud=3.0, tilt=-1.0, breath=0.08, tremor=0.0, jitter=0.10),
}
# Labels outside the vocabulary still need a voice: (base, other, weight of other).
BLENDS: dict[str, tuple[str, str, float]] = {
    "calm": ("neutral", "sad", 0.3),
    "frustration": ("anger", "sad", 0.4),
    "other": ("neutral", "surprise", 0.2),
}
# Per-clip random variation, so no two clips of an emotion are the same:
# ("mul", s) multiplies by exp(N(0, s)); ("add", s) adds N(0, s).
JITTER: dict[str, tuple[str, float]] = {
    "f0": ("mul", 0.05), "range": ("mul", 0.2), "slope": ("add", 0.7),
    "rise": ("add", 0.7), "rate": ("mul", 0.1), "pause": ("mul", 0.2),
    "loud": ("add", 1.5), "tilt": ("add", 1.0), "breath": ("mul", 0.25),
    "tremor": ("mul", 0.2), "jitter": ("mul", 0.2),
}
# Formants (Hz) of a few vowels for an adult male vocal tract; syllables
# alternate between two of them so the spectrum moves like speech does.
VOWELS: dict[str, tuple[float, float, float]] = {
    "a": (730, 1090, 2440), "i": (270, 2290, 3010), "u": (300, 870, 2240),
    "e": (530, 1840, 2480), "o": (570, 840, 2410),
}

MAX_DURATION = 40.0  # the default policy's max_duration, to predict "too_long"
MIN_FRAMES = 32  # even at tiny seconds_scale every clip has some audio
# Reject reasons in priority order: a file with several problems gets the first.
REASONS = ("unreadable", "empty", "too_long", "not_speech", "not_a_clip",
           "name_not_understood", "no_votes", "label_outside_vocabulary",
           "too_many_labels", "duplicate")


@dataclass(frozen=True)
class Expected:
    corpus: str  # "ravdess" | "tess" | "crema-d" | "iemocap"
    path: str  # posix path of the .wav relative to the corpus root
    kept: bool  # under the default label policy
    labels: tuple[str, ...]  # vocabulary emotions present (EMOTIONS order) when kept, else ()
    reason: str | None  # reject reason code when not kept, else None
    speaker: str | None  # global speaker id when kept, e.g. "ravdess:01"
    gender: str | None  # "female" | "male" when kept


@dataclass(frozen=True)
class DemoCorpora:
    roots: dict[str, Path]  # corpus name -> the folder a user would pass
    expected: list[Expected]  # exactly one entry per .wav file written under the roots


# ---------------------------------------------------------------------------
# Speech synthesis
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Speaker:
    f0: float  # base pitch (Hz)
    formants: float  # formant scale: shorter vocal tracts (women) have higher formants
    gain_db: float  # recording level of this speaker


def make_speaker(rng: np.random.Generator, gender: str, age: str = "adult") -> Speaker:
    """A random voice; women speak about an octave-ish higher than men."""
    if gender == "female":
        f0 = rng.normal(205.0, 18.0) * (0.9 if age == "older" else 1.0)
        formants = rng.normal(1.16, 0.03)
    else:
        f0 = rng.normal(115.0, 12.0)
        formants = rng.normal(1.0, 0.03)
    return Speaker(float(f0), float(formants), float(rng.normal(0.0, 2.0)))


def _clip_params(rng, emotion: str, second: str | None, weight: float) -> dict[str, float]:
    """Emotion parameters, blended with a second emotion, with per-clip jitter."""
    params = _base_params(emotion)
    if second is not None and weight > 0:
        other = _base_params(second)
        params = {k: (1 - weight) * v + weight * other[k] for k, v in params.items()}
    for key, (kind, size) in JITTER.items():
        params[key] = params[key] * np.exp(rng.normal(0, size)) if kind == "mul" \
            else params[key] + rng.normal(0, size)
    return params


def _base_params(emotion: str) -> dict[str, float]:
    """VOICE parameters, or the blend standing in for a label outside the vocabulary."""
    if emotion in BLENDS:
        base, other, w = BLENDS[emotion]
        return {k: (1 - w) * v + w * VOICE[other][k] for k, v in VOICE[base].items()}
    return dict(VOICE[emotion])


def _syllables(rng, seconds: float, rate: float, pause: float) -> list[tuple[float, float, float]]:
    """(start, end, stress) of each syllable: words of 1-3 syllables with pauses between."""
    lead, trail = seconds * rng.uniform(0.04, 0.15, size=2)
    t, end, out = lead, seconds - trail, []
    while t < end:
        for _ in range(int(rng.integers(1, 4))):
            step = rng.lognormal(0.0, 0.2) / max(rate, 0.5)
            if t + step > end:
                t = end
                break
            out.append((t, t + 0.85 * step, rng.uniform(0.55, 1.0)))
            t += step
        t += max(pause, 0.02) * rng.uniform(0.5, 1.5) * 4.0 / max(rate, 0.5)
    return out or [(lead, end, 1.0)]


def _envelopes(rng, n: int, sr: int, syllables) -> tuple[np.ndarray, np.ndarray]:
    """Voicing envelope (syllable-rate amplitude modulation) and consonant noise bursts."""
    env, bursts = np.zeros(n, np.float32), np.zeros(n, np.float32)
    for start, end, stress in syllables:
        a, b = int(start * sr), max(int(end * sr), int(start * sr) + 2)
        b = min(b, n)
        u = np.linspace(0.0, 1.0, b - a)
        env[a:b] += stress * np.sin(np.pi * u ** 0.7)  # fast attack, slower decay
        if rng.random() < 0.6:  # a consonant before the vowel
            length = min(int(rng.uniform(0.015, 0.04) * sr), a)
            if length > 1:
                bursts[a - length:a] += 0.3 * stress * np.hanning(length)
    return env, bursts


def _pitch(rng, n: int, sr: int, base: float, p: dict, syllables) -> np.ndarray:
    """Per-sample f0: declination + accents on stressed syllables + final rise + tremor + jitter."""
    seconds = n / sr
    t = np.linspace(0.0, seconds, max(int(seconds * 100), 4))  # 100 Hz control rate
    x = t / seconds
    st = p["slope"] * (x - 0.5) + p["rise"] * np.clip((x - 0.7) / 0.3, 0, 1) ** 2
    centres = np.array([(s + e) / 2 for s, e, _ in syllables])
    widths = np.array([max(e - s, 0.02) / 2 for s, e, _ in syllables])
    heights = p["range"] * np.array([w for _, _, w in syllables]) * rng.uniform(0.3, 1.0, len(syllables))
    st = st + (heights[:, None] * np.exp(-0.5 * ((t[None, :] - centres[:, None]) / widths[:, None]) ** 2)).sum(0)
    st = st + p["tremor"] * np.sin(2 * np.pi * rng.uniform(5.0, 7.0) * t + rng.uniform(0, 6.3))
    wobble = np.convolve(rng.standard_normal(len(t)), np.ones(3) / 3, mode="same")
    st = st + p["jitter"] * wobble
    f0 = np.clip(base * 2.0 ** (st / 12.0), 50.0, 0.2 * sr)
    return np.interp(np.arange(n) / sr, t, f0)


def _glottal_source(f0: np.ndarray, sr: int) -> np.ndarray:
    """A band-limited (PolyBLEP) sawtooth: all harmonics of f0, like the glottal pulse train."""
    dt = f0 / sr
    phase = np.cumsum(dt) % 1.0
    saw = 2.0 * phase - 1.0
    head = phase < dt  # smooth the jump just after and before each wrap to limit aliasing
    u = phase[head] / dt[head]
    saw[head] -= 2 * u - u * u - 1.0
    tail = phase > 1.0 - dt
    u = (phase[tail] - 1.0) / dt[tail]
    saw[tail] -= u * u + 2 * u + 1.0
    return -saw


def _fast_len(n: int) -> int:
    """Smallest 2^a 3^b 5^c >= n, so the FFTs stay fast whatever the clip length."""
    best = 1 << max(n - 1, 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


def _vocal_tract(freqs: np.ndarray, vowel: str, scale: float, tilt: float) -> np.ndarray:
    """Magnitude response: formant resonances, spectral tilt (brightness), low cut."""
    h = np.full_like(freqs, 0.03)
    for fc, bw, amp in zip(VOWELS[vowel] + (3500.0,), (90, 110, 170, 250), (1.0, 0.5, 0.25, 0.15)):
        h += amp / (1.0 + ((freqs - fc * scale) / (bw * scale)) ** 2)
    h *= (np.maximum(freqs, 300.0) / 300.0) ** (tilt / 6.0206)
    return h * freqs ** 2 / (freqs ** 2 + 80.0 ** 2)


def _filter_vowels(x: np.ndarray, rate: int, up: int, scale: float, tilt: float, vowels, mix) -> np.ndarray:
    """Filter through two vowel shapes and cross-fade between them per syllable.

    One forward FFT at the synthesis rate; the inverse FFTs are `up` times
    longer, which resamples to the output rate for free (zero high band).
    """
    n = len(x)
    nfft = _fast_len(n + 256)  # the padding keeps the circular wrap-around negligible
    spec = np.fft.rfft(x, nfft)
    freqs = np.fft.rfftfreq(nfft, 1.0 / rate).astype(np.float32)
    padded = np.zeros(nfft * up // 2 + 1, np.complex64)

    def shaped(vowel: str) -> np.ndarray:
        padded[:len(spec)] = spec * _vocal_tract(freqs, vowel, scale, tilt)
        return np.fft.irfft(padded, nfft * up)[:n * up] * up

    return shaped(vowels[0]) * mix + shaped(vowels[1]) * (1.0 - mix)


def _vowel_mix(rng, n: int, sr: int, syllables) -> np.ndarray:
    """Weight of the first vowel shape, held per syllable with short glides."""
    knots_t, knots_w = [0.0], [0.5]
    for start, end, _ in syllables:
        w = float(rng.random())
        knots_t += [start, end]
        knots_w += [w, w]
    t = np.arange(n, dtype=np.float32) / np.float32(sr)
    return np.interp(t, knots_t + [n / sr + 1], knots_w + [0.5]).astype(np.float32)


def _synthesis_rate(sr: int) -> tuple[int, int]:
    """(rate, up): speech needs no more than ~25 kHz, so 48 or 96 kHz files are made at a
    divisor of their rate and upsampled by the filter's FFT (half or a quarter of the work)."""
    for up in range(1, 9):
        if sr % up == 0 and sr // up <= 25000:
            return sr // up, up
    return sr, 1


def synth_speech(rng: np.random.Generator, sr: int, seconds: float, speaker: Speaker,
                 emotion: str, second: str | None = None, weight: float = 0.0,
                 gain_db: float = 0.0) -> np.ndarray:
    """A mono float32 clip of speech-like sound in ``emotion`` (optionally a bit of ``second``)."""
    p = _clip_params(rng, emotion, second, weight)
    rate, up = _synthesis_rate(sr)
    n_out = max(MIN_FRAMES, int(round(seconds * sr)))
    n = -(-n_out // up)
    syllables = _syllables(rng, n / rate, p["rate"], p["pause"])
    env, bursts = _envelopes(rng, n, rate, syllables)
    voiced = _glottal_source(_pitch(rng, n, rate, speaker.f0 * p["f0"], p, syllables), rate)
    noise = rng.standard_normal(n, dtype=np.float32)
    excitation = voiced.astype(np.float32) * env + noise * (np.float32(max(p["breath"], 0.0)) * env + bursts)
    vowels = rng.choice(list(VOWELS), size=2, replace=False)
    mix = _vowel_mix(rng, n * up, sr, syllables)
    y = _filter_vowels(excitation, rate, up, speaker.formants, p["tilt"], vowels, mix)[:n_out]
    # Level: loudness is a cue, so scale speech RMS to the emotion's level (not to a peak).
    active = np.repeat(env > 0.1 * env.max(), up)[:n_out] if env.max() > 0 else np.ones(n_out, bool)
    rms = np.sqrt(np.mean(y[active] ** 2)) + 1e-12
    y *= np.float32(0.05 * 10 ** ((p["loud"] + speaker.gain_db + gain_db) / 20) / rms)
    y += np.float32(3e-4) * rng.standard_normal(n_out, dtype=np.float32)  # room noise floor
    return np.clip(y, -0.98, 0.98).astype(np.float32)


# ---------------------------------------------------------------------------
# Writing files
# ---------------------------------------------------------------------------
@dataclass
class _Clip:
    """One synthetic audio file to write, and what the default policy makes of it."""
    rel: str  # path relative to the corpus root
    sr: int
    seconds: float
    voice: Speaker
    emotion: str  # the voice to synthesise (a VOICE or BLENDS key)
    second: str | None = None  # a second emotion blended in
    weight: float = 0.0
    labels: tuple[str, ...] = ()
    speaker: str | None = None
    gender: str | None = None
    reason: str | None = None  # policy reason not visible in the audio itself
    channels: int = 1
    fmt: str = "WAV"
    gain_db: float = 0.0


def _ordered(labels) -> tuple[str, ...]:
    present = set(labels)
    return tuple(e for e in EMOTIONS if e in present)


def _expected(corpus: str, rel: str, reason: str | None, labels=(), speaker=None, gender=None) -> Expected:
    assert reason is None or reason in REASONS, reason
    if reason is not None:
        return Expected(corpus, rel, False, (), reason, None, None)
    return Expected(corpus, rel, True, _ordered(labels), None, speaker, gender)


def _label_reason(labels) -> str | None:
    """The label-policy reason for a clip whose votes name these vocabulary emotions."""
    if not labels:
        return "label_outside_vocabulary"
    return "too_many_labels" if len(set(labels)) >= 4 else None


def _render(root: Path, corpus: str, clip: _Clip, rng) -> Expected:
    y = synth_speech(rng, clip.sr, clip.seconds, clip.voice, clip.emotion, clip.second, clip.weight, clip.gain_db)
    if clip.channels == 2:  # a second microphone: quieter and a few samples late
        y = np.stack([y, 0.8 * np.roll(y, 3)], axis=1)
    _write_bytes(root / clip.rel, _encode(y, clip.sr, clip.fmt))
    too_long = len(y) / clip.sr > MAX_DURATION  # comes before every reason a _Clip can carry
    reason = "too_long" if too_long else clip.reason
    return _expected(corpus, clip.rel, reason, clip.labels, clip.speaker, clip.gender)


def _render_all(root: Path, corpus: str, clips: list[_Clip], audio_rng) -> list[Expected]:
    return [_render(root, corpus, clip, audio_rng) for clip in clips]


def _audio_stream(rng: np.random.Generator) -> np.random.Generator:
    """A separate stream for the audio, so that which files are written and how they are
    labelled do not depend on how long the clips are (seconds_scale)."""
    return np.random.default_rng(int(rng.integers(2 ** 63)))


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _encode(y: np.ndarray, sr: int, fmt: str = "WAV") -> bytes:
    """16-bit PCM file bytes. Encoding in memory skips libsndfile's fsync on close,
    which dominates the time when tens of thousands of tiny files are written."""
    buffer = io.BytesIO()
    sf.write(buffer, y, sr, subtype="PCM_16", format=fmt)
    return buffer.getvalue()


def _write_empty_wav(path: Path, sr: int) -> None:
    _write_bytes(path, _encode(np.zeros(0, np.float32), sr))


def _apple_double(rng, size: int = 4096) -> bytes:
    """A macOS '._' resource-fork twin: AppleDouble magic, then junk."""
    head = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02"
    return head + rng.bytes(size - len(head))


def _durations(rng, n: int, seconds_scale: float) -> np.ndarray:
    """Clip lengths of 1.5-4 s, and a few of 4.6-6 s so that cropping happens."""
    seconds = rng.uniform(1.5, 4.0, n)
    if n:
        long = rng.choice(n, size=max(1, round(0.05 * n)), replace=False)
        seconds[long] = rng.uniform(4.6, 6.0, len(long))
    return seconds * seconds_scale


def _assign_durations(rng, clips: list[_Clip], seconds_scale: float) -> None:
    for clip, seconds in zip(clips, _durations(rng, len(clips), seconds_scale)):
        clip.seconds = float(seconds)


# ---------------------------------------------------------------------------
# RAVDESS
# ---------------------------------------------------------------------------
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
    root, clips, audio = Path(root), [], _audio_stream(rng)
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
                clips.append(_Clip(
                    f"Actor_{actor:02d}/{name}", 48000, 0.0, voice, emotion,
                    labels=() if calm else (emotion,), speaker=f"ravdess:{actor:02d}", gender=gender,
                    reason="label_outside_vocabulary" if calm else None,
                    gain_db=2.0 * (intensity - 1)))  # strong intensity is louder
    kept = [i for i, c in enumerate(clips) if c.reason is None]
    for i in rng.choice(kept, size=min(3, len(kept)), replace=False):
        clips[i].channels = 2  # a few files were exported as stereo
    voices = {c.speaker: c.voice for c in clips}
    clips.append(_Clip("Actor_01/03-02-03-01-01-01-01.wav", 48000, 0.0, voices["ravdess:01"],
                       "happy", reason="not_speech"))  # from the song archive
    clips.append(_Clip("Actor_02/03-01-05-01-01.wav", 48000, 0.0, voices["ravdess:02"],
                       "anger", reason="name_not_understood"))  # fields missing
    _assign_durations(rng, clips, seconds_scale)
    return _render_all(root, "ravdess", clips, audio)


# ---------------------------------------------------------------------------
# TESS
# ---------------------------------------------------------------------------
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
    root, clips, audio = Path(root), [], _audio_stream(rng)
    for spk, age in (("OAF", "older"), ("YAF", "adult")):
        voice = make_speaker(rng, "female", age)
        for emotion, folder in TESS_FOLDERS[spk].items():
            for word in _tess_words(words):
                name = f"{spk}_{word}_{TESS_CODES[emotion]}.wav"
                if (spk, emotion, word) == ("OAF", "neutral", "bite"):
                    name = "OA_bite_neutral.wav"  # misnamed in the real archive
                clips.append(_Clip(f"{folder}/{name}", 24414, 0.0, voice, emotion, labels=(emotion,),
                                   speaker=f"tess:{spk}", gender="female"))
    if words < 7:  # "bite" not among the words: add the misnamed file anyway
        clips.append(_Clip("OAF_neutral/OA_bite_neutral.wav", 24414, 0.0, clips[0].voice, "neutral",
                           labels=("neutral",), speaker="tess:OAF", gender="female"))
    _first(clips, "OAF_happy/").fmt = "AIFF"  # an AIFF file under a .wav name
    _first(clips, "YAF_disgust/").sr = 96000  # one file at 96 kHz
    _assign_durations(rng, clips, seconds_scale)
    expected = _render_all(root, "tess", clips, audio)
    _write_bytes(root / TESS_GARBAGE, rng.bytes(3000))
    expected.append(_expected("tess", TESS_GARBAGE, "unreadable"))
    return expected + _tess_nested_copy(root, expected)


def _first(clips: list[_Clip], prefix: str) -> _Clip:
    return next(c for c in clips if c.rel.startswith(prefix))


def _tess_nested_copy(root: Path, expected: list[Expected]) -> list[Expected]:
    """The archive holds a second copy of part of the tree one level down."""
    copies = []
    for folder in ("OAF_angry", "YAF_sad"):
        for original in [e for e in expected if e.path.startswith(folder + "/")][:3]:
            rel = f"{TESS_DIR}/{original.path}"
            _write_bytes(root / rel, (root / original.path).read_bytes())
            # The copy has the original's defects; if the original is kept, the copy is the duplicate.
            copies.append(_expected("tess", rel, "duplicate" if original.kept else original.reason))
    return copies


# ---------------------------------------------------------------------------
# CREMA-D
# ---------------------------------------------------------------------------
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
    root, audio = Path(root), _audio_stream(rng)
    demo = _crema_demographics(rng)
    picked = _crema_pick_actors(demo, actors)
    names = _crema_names(picked, sentences, all_levels, rng)
    specials = [*CREMA_EMPTY, CREMA_LONG, CREMA_LFS, CREMA_NO_VOTES]
    names = [n for n in names if n not in specials] + specials
    votes = {n: _voice_votes(rng, _crema_letter(n)) for n in names if n != CREMA_NO_VOTES}
    voices = {a: make_speaker(rng, demo[a][1].lower()) for a in sorted({int(n[:4]) for n in names})}
    clips = [_crema_clip(n, votes.get(n), voices, demo) for n in names
             if n not in (*CREMA_EMPTY, CREMA_LFS)]
    _assign_durations(rng, clips, seconds_scale)
    _clip_named(clips, CREMA_LONG).seconds = 60.0 * seconds_scale
    expected = _render_all(root, "crema-d", clips, audio)
    expected += _crema_unreadable(root, rng)
    _write_crema_tables(root, rng, names, votes, demo)
    return expected


def _crema_letter(name: str) -> str:
    emotion = CREMA_EMOTIONS[name.split("_")[2]]
    return next(x for x, e in VOTE_LETTERS.items() if e == emotion)


def _clip_named(clips: list[_Clip], stem: str) -> _Clip:
    return next(c for c in clips if c.rel.endswith(f"/{stem}.wav"))


def _crema_clip(name: str, counts, voices, demo) -> _Clip:
    """A clip voiced as the actor's intended emotion, with a bit of the runner-up vote blended in."""
    actor, _, code, level = name.split("_")
    intended = CREMA_EMOTIONS[code]
    gain = {"LO": -2.0, "MD": 0.0, "HI": 2.0, "XX": 0.0}[level]
    clip = _Clip(f"AudioWAV/{name}.wav", 16000, 0.0, voices[int(actor)], intended, gain_db=gain,
                 speaker=f"crema-d:{actor}", gender=demo[int(actor)][1].lower())
    if counts is None:
        clip.reason = "no_votes"
        return clip
    clip.labels = tuple(VOTE_LETTERS[x] for x, c in counts.items() if c)
    clip.reason = _label_reason(clip.labels)
    runners = sorted(((c, x) for x, c in counts.items() if c and VOTE_LETTERS[x] != intended), reverse=True)
    if runners:
        clip.second = VOTE_LETTERS[runners[0][1]]
        clip.weight = min(0.35, 0.5 * runners[0][0] / max(counts.values()))
    return clip


def _crema_unreadable(root: Path, rng) -> list[Expected]:
    """Zero-frame WAVs and a git-lfs pointer left by a clone without git-lfs."""
    expected = []
    for stem in CREMA_EMPTY:
        _write_empty_wav(root / f"AudioWAV/{stem}.wav", 16000)
        expected.append(_expected("crema-d", f"AudioWAV/{stem}.wav", "empty"))
    oid = hashlib.sha256(rng.bytes(64)).hexdigest()
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize 84314\n"
    _write_bytes(root / f"AudioWAV/{CREMA_LFS}.wav", pointer.encode("ascii"))
    expected.append(_expected("crema-d", f"AudioWAV/{CREMA_LFS}.wav", "unreadable"))
    return expected


def _write_crema_tables(root: Path, rng, names: list[str], votes: dict, demo: dict) -> None:
    lines = ['"ActorID","Age","Sex","Race","Ethnicity"']
    lines += [f'{a},{age},"{sex}","{race}","{eth}"' for a, (age, sex, race, eth) in demo.items()]
    _write_bytes(root / "VideoDemographics.csv", ("\n".join(lines) + "\n").encode())
    rated = [n for n in names if n in votes]
    other = {q: {n: _other_votes(rng, votes[n], _crema_letter(n)) for n in rated} for q in (2, 3)}
    rows = [VOTES_HEADER]
    for query in (1, 2, 3):  # 1 voice only (the labels), 2 face only, 3 audio-visual
        table = votes if query == 1 else other[query]
        rows += [_votes_row(rng, 100000 * query + i, n, table[n]) for i, n in enumerate(rated, 1)]
    _write_bytes(root / "processedResults/tabulatedVotes.csv", ("\n".join(rows) + "\n").encode())


# ---------------------------------------------------------------------------
# IEMOCAP
# ---------------------------------------------------------------------------
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
    return _ordered(IEMOCAP_WORDS[w] for _, words in externals for w in words if IEMOCAP_WORDS[w])


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
    _write_bytes(path, text.encode("ascii"))


def _turn_expected(turn: _Turn, session: int) -> tuple[tuple[str, ...], str | None, str, str]:
    """(labels, reason, speaker, gender): the speaker is the letter of the turn, not of the dialog."""
    labels = _labels_of(turn.externals)
    reason = _label_reason(labels) if turn.rated else "no_votes"
    return labels, reason, f"iemocap:Ses{session:02d}{turn.letter}", "female" if turn.letter == "F" else "male"


def write_iemocap(root: Path | str, rng: np.random.Generator, *, sessions: int = 2,
                  dialogs_per_session: int = 3, turns_per_dialog: int = 8,
                  seconds_scale: float = 1.0) -> list[Expected]:
    """IEMOCAP: `sessions` x `dialogs_per_session` x `turns_per_dialog` turns
    (5 x 30 x 67 ~ the full 10,000). `root` is ``IEMOCAP_full_release``."""
    root, expected, audio = Path(root), [], _audio_stream(rng)
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
    durations = _durations(rng, len(turns), seconds_scale)
    clips, t = [], rng.uniform(1.0, 8.0) * seconds_scale
    for turn, seconds in zip(turns, durations):
        turn.start, turn.seconds = t, float(seconds)
        t += turn.seconds + rng.uniform(0.3, 3.0) * seconds_scale
        rel = f"Session{session}/sentences/wav/{dialog}/{turn.name}.wav"
        labels, reason, speaker, gender = _turn_expected(turn, session)
        clips.append(_Clip(rel, 16000, turn.seconds, voices[turn.letter], turn.voice_emotion,
                           turn.second, 0.25 if turn.second else 0.0, labels, speaker, gender, reason))
    expected = _render_all(root, "iemocap", clips, audio)
    _write_evaluation(base / f"dialog/EmoEvaluation/{dialog}.txt", rng, turns, pool[:2])
    _write_bytes(base / f"dialog/EmoEvaluation/._{dialog}.txt", _apple_double(rng))
    # The whole dialog recording (stereo, one channel per actor); short here.
    full = _Clip(f"Session{session}/dialog/wav/{dialog}.wav", 16000, 1.0 * seconds_scale, voices[dialog[5]],
                 "neutral", reason="not_a_clip", channels=2)
    expected.append(_render(root, "iemocap", full, audio))
    if dialog == "Ses01F_impro01":  # a macOS twin of a turn
        rel = f"Session{session}/sentences/wav/{dialog}/._{turns[0].name}.wav"
        _write_bytes(root / rel, _apple_double(rng))
        expected.append(_expected("iemocap", rel, "unreadable"))
    return expected


# ---------------------------------------------------------------------------
# All four
# ---------------------------------------------------------------------------
_MARKER = ".synth-demo"  # marks an out_dir written by this module, so rewriting it may clear it


def _demo_sizes(clips_scale: float) -> dict[str, dict[str, int]]:
    """Writer sizes for ~clips_scale times the default number of clips."""
    def r(x: float, lo: int, hi: int) -> int:
        return int(min(hi, max(lo, round(x))))

    s = clips_scale
    rav_actors, crema_actors, sessions = r(4 * s, 2, 24), r(4 * s, 2, 91), r(2 * s, 2, 5)
    dialogs = r(3 * s ** 0.5, 2, 30)
    return {
        "ravdess": dict(actors=rav_actors, takes_per_emotion=r(60 * s / rav_actors / 7.5, 1, 8)),
        "tess": dict(words=r(4 * s, 1, 200)),
        "crema-d": dict(actors=crema_actors, sentences=r(48 * s / crema_actors / 6, 1, 12)),
        "iemocap": dict(sessions=sessions, dialogs_per_session=dialogs,
                        turns_per_dialog=r(48 * s / (sessions * dialogs), 3, 150)),
    }


def _prepare(out: Path) -> None:
    """Refuse to mix with foreign files; clear a previous demo written here."""
    tops = [out / name for name in ("ravdess", "tess", "crema-d", "iemocap")]
    if (out / _MARKER).exists():
        for top in tops:
            if top.exists():
                shutil.rmtree(top)
    elif any(top.exists() and any(top.iterdir()) for top in tops):
        raise InputError(f"{out} already holds corpus folders not written by the demo; choose another --dir")
    out.mkdir(parents=True, exist_ok=True)
    (out / _MARKER).write_text("demo corpora written by aggregate.synth\n")


def write_demo_corpora(out_dir: Path | str, seed: int = 0, clips_scale: float = 1.0,
                       seconds_scale: float = 1.0) -> DemoCorpora:
    """Write all four demo corpora under `out_dir`; same arguments => byte-identical files."""
    out = Path(out_dir)
    roots = {"ravdess": out / "ravdess", "tess": out / "tess" / TESS_DIR,
             "crema-d": out / "crema-d", "iemocap": out / "iemocap" / "IEMOCAP_full_release"}
    _prepare(out)
    writers = {"ravdess": write_ravdess, "tess": write_tess, "crema-d": write_crema_d, "iemocap": write_iemocap}
    sizes = _demo_sizes(clips_scale)
    # One independent stream per corpus, so each corpus does not depend on the others' sizes.
    streams = np.random.SeedSequence(seed).spawn(len(writers))
    expected: list[Expected] = []
    for (corpus, writer), stream in zip(writers.items(), streams):
        expected += writer(roots[corpus], np.random.default_rng(stream), seconds_scale=seconds_scale,
                           **sizes[corpus])
    return DemoCorpora(roots, expected)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m aggregate.synth",
        description="Write small deterministic demo corpora (RAVDESS, TESS, CREMA-D, IEMOCAP) in their "
                    "native layouts, with their known defects, under OUT_DIR/ravdess, OUT_DIR/tess, "
                    "OUT_DIR/crema-d and OUT_DIR/iemocap.")
    parser.add_argument("out_dir", type=Path, help="folder to write the four corpora into")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed => identical files)")
    parser.add_argument("--clips-scale", type=float, default=1.0, help="multiply the number of clips (about)")
    parser.add_argument("--seconds-scale", type=float, default=1.0, help="multiply every clip's duration")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    demo = write_demo_corpora(args.out_dir, args.seed, args.clips_scale, args.seconds_scale)
    for corpus, root in demo.roots.items():
        rows = [e for e in demo.expected if e.corpus == corpus]
        print(f"{corpus:8s} {len(rows):5d} files, {sum(e.kept for e in rows):5d} kept  {root}")
    print(f"written in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
