"""What every demo forger shares: a synthetic voice, clips written in a corpus' layout, the answer key.

The demo and the tests must run without the real archives, so each corpus unit
has a forger (``aggregate/demo/<name>.py``, like TFDS's dummy data) that
writes a look-alike: the same folder layout, file names, sample rates and label
files as the real archive, its known defects, and an ``Expected`` entry per file
saying what the default label policy must make of it. The audio is speech-like:
its pitch, pitch movement, speaking rate, loudness and brightness depend on the
emotion (see ``VOICE``), so that a small CNN on log-mel spectrograms can learn
the seven emotions from it. Everything is drawn from seeded ``numpy`` generators.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import soundfile as sf

from ..corpora.policy import LabelPolicy
from ..vocabulary import EMOTIONS

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

# The default policy's limits, to predict "too_long" and "too_many_labels".
_DEFAULTS = {f.name: f.default for f in fields(LabelPolicy)}
MAX_DURATION: float = _DEFAULTS["max_duration"]
MAX_LABELS: int = _DEFAULTS["max_labels"]
MIN_FRAMES = 32  # even at tiny seconds_scale every clip has some audio


@dataclass(frozen=True)
class Expected:
    corpus: str  # a registered corpus name
    path: str  # posix path of the .wav relative to the corpus root
    kept: bool  # under the default label policy
    labels: tuple[str, ...]  # vocabulary emotions present (EMOTIONS order) when kept, else ()
    reason: str | None  # reject reason code when not kept, else None
    speaker: str | None  # global speaker id when kept, e.g. "ravdess:01"
    gender: str | None  # "female" | "male" when kept


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
class Clip:
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


def in_vocabulary_order(labels) -> tuple[str, ...]:
    present = set(labels)
    return tuple(e for e in EMOTIONS if e in present)


def expect(corpus: str, rel: str, reason: str | None, labels=(), speaker=None, gender=None) -> Expected:
    if reason is not None:
        return Expected(corpus, rel, False, (), reason, None, None)
    return Expected(corpus, rel, True, in_vocabulary_order(labels), None, speaker, gender)


def label_reason(labels) -> str | None:
    """The label-policy reason for a clip whose votes name these vocabulary emotions."""
    if not labels:
        return "label_outside_vocabulary"
    return "too_many_labels" if len(set(labels)) > MAX_LABELS else None


def write_clip(root: Path, corpus: str, clip: Clip, rng) -> Expected:
    y = synth_speech(rng, clip.sr, clip.seconds, clip.voice, clip.emotion, clip.second, clip.weight, clip.gain_db)
    if clip.channels == 2:  # a second microphone: quieter and a few samples late
        y = np.stack([y, 0.8 * np.roll(y, 3)], axis=1)
    write_bytes(root / clip.rel, _encode(y, clip.sr, clip.fmt))
    too_long = len(y) / clip.sr > MAX_DURATION  # comes before every reason a Clip can carry
    reason = "too_long" if too_long else clip.reason
    return expect(corpus, clip.rel, reason, clip.labels, clip.speaker, clip.gender)


def write_clips(root: Path, corpus: str, clips: list[Clip], audio_rng) -> list[Expected]:
    return [write_clip(root, corpus, clip, audio_rng) for clip in clips]


def audio_stream(rng: np.random.Generator) -> np.random.Generator:
    """A separate stream for the audio, so that which files are written and how they are
    labelled do not depend on how long the clips are (seconds_scale)."""
    return np.random.default_rng(int(rng.integers(2 ** 63)))


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _encode(y: np.ndarray, sr: int, fmt: str = "WAV") -> bytes:
    """16-bit PCM file bytes. Encoding in memory skips libsndfile's fsync on close,
    which dominates the time when tens of thousands of tiny files are written."""
    buffer = io.BytesIO()
    sf.write(buffer, y, sr, subtype="PCM_16", format=fmt)
    return buffer.getvalue()


def write_empty_wav(path: Path, sr: int) -> None:
    write_bytes(path, _encode(np.zeros(0, np.float32), sr))


def apple_double(rng, size: int = 4096) -> bytes:
    """A macOS '._' resource-fork twin: AppleDouble magic, then junk."""
    head = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        \x00\x02"
    return head + rng.bytes(size - len(head))


def durations(rng, n: int, seconds_scale: float) -> np.ndarray:
    """Clip lengths of 1.5-4 s, and a few of 4.6-6 s so that cropping happens."""
    seconds = rng.uniform(1.5, 4.0, n)
    if n:
        long = rng.choice(n, size=max(1, round(0.05 * n)), replace=False)
        seconds[long] = rng.uniform(4.6, 6.0, len(long))
    return seconds * seconds_scale


def assign_durations(rng, clips: list[Clip], seconds_scale: float) -> None:
    for clip, seconds in zip(clips, durations(rng, len(clips), seconds_scale)):
        clip.seconds = float(seconds)



def scaled(x: float, lo: int, hi: int) -> int:
    """A forger's size for a clips_scale: ``x`` rounded, kept within [lo, hi]."""
    return int(min(hi, max(lo, round(x))))


def corpus_rng(seed: int, stream: int) -> np.random.Generator:
    """A forger's own generator: stream `stream` of `seed` (each forger declares a distinct STREAM),
    so a corpus' demo files depend on the seed alone, not on which other corpora are registered."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream,)))
