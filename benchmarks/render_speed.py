"""How fast one worker renders clips: the naive librosa chain against ``render_clip``.

Writes a mix of synthetic clips shaped like the four-corpus mix (60 % 16 kHz noisy
IEMOCAP/CREMA-D clips, 24,414 Hz TESS and 48 kHz RAVDESS clean clips, 1.5-6 s,
a few stereo), then renders every clip both ways in one process pinned to one
BLAS/FFT thread, as a worker of the pool would be:

  naive  librosa.load(sr=48000), pad/crop to 216,000, noisereduce.reduce_noise
         defaults on noisy clips, librosa.feature.melspectrogram, power_to_db, min-max
  fast   aggregate.render.render_clip

Each malloc mode runs in a fresh process: "default" is glibc as it comes, "tuned"
calls ``aggregate.render.worker.keep_freed_memory()`` first (as a pool initializer would);
it helps both chains. Figures are printed, not asserted.

    python benchmarks/render_speed.py --clips 40 --repeat 3
"""
from __future__ import annotations

import os

# One thread per worker, as in the pool: set before numpy loads a BLAS or FFT backend.
_THREAD_VARS = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
)
for _var in _THREAD_VARS:
    os.environ[_var] = "1"

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# corpus, native rate, share of the clips, noisy (gets noise reduction)
MIX = [("iemocap", 16000, 0.30), ("crema-d", 16000, 0.30), ("tess", 24414, 0.20), ("ravdess", 48000, 0.20)]


def write_clips(folder: Path, n_clips: int, seed: int) -> list[tuple[str, str]]:
    """Write ``n_clips`` voice-like wavs (harmonics of a wandering pitch, syllable envelope, noise)."""
    rng = np.random.default_rng(seed)
    counts = [round(share * n_clips) for _, _, share in MIX]
    counts[-1] = n_clips - sum(counts[:-1])
    corpora = rng.permutation(np.repeat(np.arange(len(MIX)), counts))
    clips = []
    for i, which in enumerate(corpora):
        corpus, rate, _ = MIX[which]
        n = int(rng.uniform(1.5, 6.0) * rate)
        t = np.arange(n) / rate
        f0 = rng.uniform(100, 250) * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(0.3, 1.5) * t))
        phase = 2 * np.pi * np.cumsum(f0) / rate
        voice = sum(np.sin(h * phase) / h**1.2 for h in range(1, 12) if h * f0.max() < rate / 2)
        syllables = np.clip(np.sin(2 * np.pi * rng.uniform(3, 5) * t), 0, None) ** 0.5
        snr_db = 15.0 if corpus in ("iemocap", "crema-d") else 40.0
        signal = 0.2 * voice * syllables
        noise = rng.standard_normal(n) * np.sqrt(np.mean(signal**2)) * 10 ** (-snr_db / 20)
        audio = signal + noise
        if corpus == "ravdess" and i % 5 == 0:  # RAVDESS ships a few stereo files
            audio = np.stack([audio, 0.9 * audio + 0.01 * rng.standard_normal(n)], axis=1)
        path = folder / f"{i:04d}_{corpus}.wav"
        sf.write(path, np.clip(audio, -1, 1), rate, subtype="PCM_16")
        clips.append((str(path), corpus))
    return clips


def run_worker(clips_file: str, malloc: str, repeat: int) -> dict:
    from aggregate.recipe import FeatureConfig, render_clip
    from aggregate.recipe.reference import seed_chain
    from aggregate.render.worker import keep_freed_memory

    if malloc == "tuned" and not keep_freed_memory():
        return {"error": "keep_freed_memory() is a no-op here (not glibc)"}
    config = FeatureConfig()
    clips = json.loads(Path(clips_file).read_text())
    chains = {
        "naive": lambda path, corpus: seed_chain(path, corpus in config.noisy_corpora),
        "fast": lambda path, corpus: render_clip(path, corpus, config),
    }
    for chain in chains.values():  # warm-up: imports, filterbanks, plans
        chain(*clips[0])
    seconds = {name: np.zeros((repeat, len(clips))) for name in chains}
    reference: list[np.ndarray] = []  # naive features of the first pass
    max_diff = 0.0
    for r in range(repeat):
        for name, chain in chains.items():
            for i, (path, corpus) in enumerate(clips):
                start = time.perf_counter()
                features = chain(path, corpus)
                seconds[name][r, i] = time.perf_counter() - start
                if r == 0 and name == "naive":
                    reference.append(features)
                elif r == 0:
                    max_diff = max(max_diff, float(np.abs(reference[i] - features).max()))
    noisy = np.array([corpus in config.noisy_corpora for _, corpus in clips])
    out = {"max_diff": max_diff, "n_clips": len(clips), "n_noisy": int(noisy.sum())}
    for name, table in seconds.items():
        per_clip = np.median(table, axis=0)  # median over repeats, per clip
        out[name] = {
            "clips_per_s": len(clips) / per_clip.sum(),
            "ms_noisy": 1000 * per_clip[noisy].mean() if noisy.any() else float("nan"),
            "ms_clean": 1000 * per_clip[~noisy].mean() if (~noisy).any() else float("nan"),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--clips", type=int, default=40, help="number of clips to write and render (default 40)")
    parser.add_argument("--repeat", type=int, default=3, help="passes over the clips; per-clip medians (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic clips (default 0)")
    parser.add_argument("--malloc", choices=["default", "tuned", "both"], default="both",
                        help="glibc as it comes, after keep_freed_memory(), or both (default)")
    parser.add_argument("--worker", metavar="CLIPS_JSON", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_worker(args.worker, args.malloc, args.repeat)))
        return

    modes = ["default", "tuned"] if args.malloc == "both" else [args.malloc]
    with tempfile.TemporaryDirectory(prefix="render_speed_") as tmp:
        clips = write_clips(Path(tmp), args.clips, args.seed)
        clips_file = Path(tmp) / "clips.json"
        clips_file.write_text(json.dumps(clips))
        results = {}
        for mode in modes:
            command = [sys.executable, __file__, "--worker", str(clips_file), "--malloc", mode]
            command += ["--repeat", str(args.repeat)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            results[mode] = json.loads(done.stdout.strip().splitlines()[-1])

    first = next(iter(results.values()))
    print(f"{first['n_clips']} clips ({first['n_noisy']} noisy at 16 kHz), one process, one thread, "
          f"per-clip median of {args.repeat} passes")
    print(f"{'malloc':8} {'chain':6} {'clips/s':>8} {'ms/noisy clip':>14} {'ms/clean clip':>14}")
    for mode, result in results.items():
        if "error" in result:
            print(f"{mode:8} {result['error']}")
            continue
        for chain in ("naive", "fast"):
            r = result[chain]
            print(f"{mode:8} {chain:6} {r['clips_per_s']:8.1f} {r['ms_noisy']:14.1f} {r['ms_clean']:14.1f}")
        ratio = result["fast"]["clips_per_s"] / result["naive"]["clips_per_s"]
        print(f"{mode:8} ratio fast/naive {ratio:.2f}x; max |naive - fast| over all clips {result['max_diff']:.2e}")
    if len(results) == 2 and all("error" not in r for r in results.values()):
        overall = results["tuned"]["fast"]["clips_per_s"] / results["default"]["naive"]["clips_per_s"]
        print(f"fast + tuned malloc vs naive + default malloc: {overall:.2f}x")


if __name__ == "__main__":
    main()
