"""What many tests share: the project's folder, the command lines run as a user runs them, hand-made wavs."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

PROJECT = Path(__file__).resolve().parents[1]


def run_module(module: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m MODULE ARGS`` in a fresh process, as a user runs it: stdout and stderr are pipes,
    not terminals (TensorFlow's chatter off)."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True, env=env)


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m aggregate ARGS`` (see ``run_module``)."""
    return run_module("aggregate", *args, cwd=cwd)


def write_wav(path: Path, seconds: float = 0.5, rate: int = 16000, channels: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.1 * np.sin(2 * np.pi * 220 * t)
    sf.write(path, np.stack([tone] * channels, axis=1), rate, subtype="PCM_16")
    return path
